"""The door of the Mailchimp sandbox: the API key, the connection limit, problem details.

Mailchimp authenticates with HTTP Basic (any user name, the API key as password), rejects a
wrong key or a key of another data center with 401, answers every error as a problem
detail (RFC 9457: ``type``, ``title``, ``status``, ``detail``, ``instance``), and allows 10
simultaneous connections per key, answering 429 beyond that. Sources:
https://mailchimp.com/developer/marketing/docs/fundamentals/ (authentication, connection
limits) and https://mailchimp.com/developer/marketing/docs/errors/ (the error glossary).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import uuid
from collections.abc import Mapping
from typing import Any, Final

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from personvern.sandbox.mailchimp_state import DC, MailchimpState

REFERENCE: Final = "https://mailchimp.com/developer/marketing/api/"
ERRORS: Final = "https://mailchimp.com/developer/marketing/docs/errors/"
MAX_CONNECTIONS: Final = 10
_TITLES: Final[Mapping[int, tuple[str, str]]] = {
    400: ("Invalid Resource", "The resource submitted could not be validated."),
    401: (
        "API Key Invalid",
        "Your API key may be invalid, or you've attempted to access the wrong datacenter.",
    ),
    403: ("Forbidden", "You don't have permission to access this resource."),
    404: ("Resource Not Found", "The requested resource could not be found."),
    405: ("Method Not Allowed", "The requested method and resource are not compatible."),
    429: (
        "Too Many Requests",
        f"You have exceeded the limit of {MAX_CONNECTIONS} simultaneous connections.",
    ),
    500: ("Internal Server Error", "An unexpected internal error has occurred."),
    502: ("Bad Gateway", "The server received an invalid response from an upstream server."),
    503: ("Service Unavailable", "The service is temporarily unavailable."),
}


def error_body(status: int, title: str | None = None, detail: str | None = None) -> dict[str, Any]:
    """Mailchimp's problem-detail document for an error (RFC 9457 fields)."""
    default_title, default_detail = _TITLES.get(status, ("Error", "The request failed."))
    return {
        "type": ERRORS,
        "title": title or default_title,
        "status": status,
        "detail": detail or default_detail,
        "instance": str(uuid.uuid4()),
    }


class Problem(Exception):
    def __init__(self, status: int, title: str | None = None, detail: str | None = None) -> None:
        super().__init__(detail or title or str(status))
        self.body = error_body(status, title, detail)


def problem(status: int, title: str | None = None, detail: str | None = None) -> JSONResponse:
    return JSONResponse(
        error_body(status, title, detail),
        status_code=status,
        media_type="application/problem+json",
    )


def sandbox_key(shop_url: str) -> str:
    """The API key the sandbox accepts: 32 hex digits, a dash and the data center."""
    digest = hashlib.md5(f"mailchimp:{shop_url}".encode(), usedforsecurity=False).hexdigest()
    return f"{digest}-{DC}"


def _key_of(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            kind, _, encoded = value.decode("latin-1").partition(" ")
            if kind.lower() != "basic":
                return None
            try:
                _, _, password = base64.b64decode(encoded).decode().partition(":")
            except ValueError:
                return None
            return password
    return None


class Guard:
    """Checks the API key, then counts the connections open on it (at most 10)."""

    def __init__(self, app: ASGIApp, state: MailchimpState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        key = _key_of(scope)
        if not key:
            missing = "Your request did not include an API key."
            await problem(401, "API Key Missing", missing)(scope, receive, send)
            return
        if key != self.state.api_key:
            _, _, dc = key.rpartition("-")
            detail: str | None = None
            if dc and dc != DC and key.rpartition("-")[0] == self.state.api_key.rpartition("-")[0]:
                detail = f"This API key belongs to the {dc} datacenter, not {DC}."
            await problem(401, detail=detail)(scope, receive, send)
            return
        with self.state.lock:
            busy = self.state.connections.get(key, 0)
            if busy >= MAX_CONNECTIONS:
                refused = True
            else:
                refused = False
                self.state.connections[key] = busy + 1
                self.state.peak_connections = max(self.state.peak_connections, busy + 1)
        if refused:
            await problem(429)(scope, receive, send)
            return
        try:
            while not self.state.open.is_set():  # paused by a test: hold the connection open
                await asyncio.sleep(0.005)
            await self.app(scope, receive, send)
        finally:
            with self.state.lock:
                self.state.connections[key] -= 1
