"""``VendorApi``'s one error mapping, against a real tiny Starlette app on loopback.

The app answers with the error bodies the vendors document, so the test shows the admin
reads each vendor's own words: WooCommerce ``message`` (WP REST API), Mailchimp ``detail``
(RFC 7807 problem details), Google ``error.message`` (Google API error model), Klarna
``error_messages`` (Order Management API) and Visma eAccounting ``DeveloperErrorMessage``.
``Retry-After`` is read as delay-seconds and as an HTTP date (RFC 9110 § 10.2.3).
"""

from __future__ import annotations

import email.utils
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from personvern.connectors.base import Fatal, Retriable
from personvern.connectors.http import VendorApi

# The error bodies, as each vendor's reference shows them.
BODIES: dict[str, Any] = {
    "woocommerce": {
        "code": "woocommerce_rest_cannot_view",
        "message": "Sorry, you cannot list resources.",
        "data": {"status": 401},
    },
    "mailchimp": {
        "type": "https://mailchimp.com/developer/marketing/docs/errors/",
        "title": "API Key Invalid",
        "status": 401,
        "detail": (
            "Your API key may be invalid, or you've attempted to access the wrong datacenter."
        ),
        "instance": "0f2c8f3e-0000-4000-8000-000000000000",
    },
    "google": {
        "error": {
            "code": 403,
            "message": "The caller does not have permission",
            "status": "PERMISSION_DENIED",
        }
    },
    "klarna": {
        "error_code": "NOT_FOUND",
        "error_messages": ["The order could not be found."],
        "correlation_id": "6a9b1cb1-73a3-4936-a030-481ba4bb203b",
    },
    "visma": {
        "ErrorCode": 4000,
        "DeveloperErrorMessage": "The customer number is already in use.",
        "ErrorId": "0b7f4c1e-0000-4000-8000-000000000000",
    },
}
SAID = {
    "woocommerce": "Sorry, you cannot list resources.",
    "mailchimp": "Your API key may be invalid",
    "google": "The caller does not have permission",
    "klarna": "The order could not be found.",
    "visma": "The customer number is already in use.",
}
RETRY_DATE_AHEAD = 120  # seconds; the HTTP date sent is this far in the future


async def answer(request: Request) -> Response:
    """``/status/{code}?body=<vendor>&retry_after=<seconds|date|past>``."""
    status = int(request.path_params["code"])
    headers: dict[str, str] = {}
    retry = request.query_params.get("retry_after")
    if retry == "date":
        when = datetime.now(UTC) + timedelta(seconds=RETRY_DATE_AHEAD)
        headers["Retry-After"] = email.utils.format_datetime(when, usegmt=True)
    elif retry == "past":
        headers["Retry-After"] = "Wed, 21 Oct 2015 07:28:00 GMT"
    elif retry is not None:
        headers["Retry-After"] = retry
    body = request.query_params.get("body")
    if body == "text":
        return PlainTextResponse("upstream proxy error", status_code=status, headers=headers)
    if body is None:
        return Response(status_code=status, headers=headers)
    return JSONResponse(BODIES[body], status_code=status, headers=headers)


async def ok(request: Request) -> Response:
    return JSONResponse({"id": 7, "secret_in_query": "key" in request.query_params})


class Served:
    """A Starlette app served by uvicorn on a free loopback port, in a thread."""

    def __init__(self, app: Starlette) -> None:
        import uvicorn

        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    def __enter__(self) -> Served:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:  # polls for start-up; the tests do not depend on time
            if time.monotonic() > deadline:
                raise RuntimeError("the test server did not start within 10 s")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()


@pytest.fixture(scope="module")
def server() -> Iterator[Served]:
    app = Starlette(
        routes=[Route("/status/{code:int}", answer, methods=["GET", "POST"]), Route("/ok", ok)]
    )
    with Served(app) as running:
        yield running


@pytest.fixture
async def api(server: Served) -> AsyncIterator[VendorApi]:
    client = VendorApi("Testvendor", server.url, params={"key": "s3cret-api-key"}, timeout=5)
    yield client
    await client.aclose()


async def test_a_success_returns_the_response_and_its_json(api: VendorApi) -> None:
    assert await api.json("GET", "/ok") == {"id": 7, "secret_in_query": True}


@pytest.mark.parametrize("vendor", sorted(BODIES))
@pytest.mark.parametrize("status", [400, 401, 403, 404, 422, 429, 500, 503])
async def test_each_vendors_own_words_are_quoted(api: VendorApi, vendor: str, status: int) -> None:
    with pytest.raises((Fatal, Retriable)) as raised:
        await api.request("GET", f"/status/{status}", params={"body": vendor})
    message = str(raised.value)
    assert SAID[vendor] in message
    assert f"HTTP {status}" in message
    assert "Testvendor" in message
    assert f"GET /status/{status}" in message
    assert "s3cret-api-key" not in message  # the query string (a secret here) is never shown


@pytest.mark.parametrize(
    ("status", "kind", "fix"),
    [
        (401, Fatal, "credentials"),
        (403, Fatal, "credentials"),
        (400, Fatal, "rejected"),
        (404, Fatal, "rejected"),
        (409, Fatal, "rejected"),
        (422, Fatal, "rejected"),
        (408, Retriable, "tried again"),
        (425, Retriable, "tried again"),
        (429, Retriable, "tried again"),
        (500, Retriable, "tried again"),
        (502, Retriable, "tried again"),
        (503, Retriable, "tried again"),
        (504, Retriable, "tried again"),
    ],
)
async def test_the_status_decides_the_kind(
    api: VendorApi, status: int, kind: type[Exception], fix: str
) -> None:
    with pytest.raises(kind) as raised:
        await api.request("POST", f"/status/{status}")
    assert fix in str(raised.value)
    other = Retriable if kind is Fatal else Fatal
    assert not isinstance(raised.value, other)


async def test_404_is_nothing_with_missing_ok_and_fatal_without(api: VendorApi) -> None:
    assert await api.request("GET", "/status/404", missing_ok=True) is None
    assert await api.json("GET", "/status/404", params={"body": "klarna"}, missing_ok=True) is None
    with pytest.raises(Fatal, match="The order could not be found"):
        await api.request("GET", "/status/404", params={"body": "klarna"})
    # missing_ok only forgives a 404: other failures still raise.
    with pytest.raises(Fatal):
        await api.request("GET", "/status/410", missing_ok=True)
    with pytest.raises(Retriable):
        await api.request("GET", "/status/500", missing_ok=True)


@pytest.mark.parametrize(
    ("header", "low", "high"),
    [
        ("30", 30.0, 30.0),
        ("0", 0.0, 0.0),
        ("2.5", 2.5, 2.5),
        # An HTTP date about two minutes ahead; the bounds allow for the date's one-second
        # resolution and the time the round trip takes.
        ("date", RETRY_DATE_AHEAD - 10, RETRY_DATE_AHEAD),
        ("past", 0.0, 0.0),  # a date gone by means "now"
    ],
)
@pytest.mark.parametrize("status", [429, 503])
async def test_retry_after_is_read_as_seconds_or_a_date(
    api: VendorApi, status: int, header: str, low: float, high: float
) -> None:
    with pytest.raises(Retriable) as raised:
        await api.request("GET", f"/status/{status}", params={"retry_after": header})
    assert raised.value.retry_after is not None
    assert low <= raised.value.retry_after <= high


@pytest.mark.parametrize("header", [None, "soon", ""])
async def test_without_a_usable_retry_after_there_is_none(
    api: VendorApi, header: str | None
) -> None:
    params = {} if header is None else {"retry_after": header}
    with pytest.raises(Retriable) as raised:
        await api.request("GET", "/status/429", params=params)
    assert raised.value.retry_after is None


async def test_a_text_body_is_quoted_as_it_is(api: VendorApi) -> None:
    with pytest.raises(Retriable, match="HTTP 502: upstream proxy error"):
        await api.request("GET", "/status/502", params={"body": "text"})


async def test_a_refused_connection_is_retriable() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago, and nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    api = VendorApi("Testvendor", f"http://127.0.0.1:{port}", timeout=5)
    try:
        with pytest.raises(Retriable, match="could not reach Testvendor") as raised:
            await api.request("GET", "/ok")
        assert "ConnectError" in str(raised.value)
        assert raised.value.retry_after is None
    finally:
        await api.aclose()
