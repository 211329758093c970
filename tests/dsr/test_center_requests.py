"""The privacy center's request pages, over HTTP: forms, no enumeration, rate limits, the
verification link and the status page — and nothing personal in the application log."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from request_support import app_client, csrf_from, messages, submit, verify_token
from sqlalchemy import select, update

from personvern.dsr import requests as lifecycle
from personvern.dsr.intake import Intake
from personvern.runtime import Runtime
from personvern.settings import Settings
from personvern.store.base import utcnow
from personvern.store.requests import DataRequest, RequestToken

KARI = "kari.nordmann@example.no"


@pytest.fixture
def client(settings: Settings, runtime: Runtime) -> Iterator[TestClient]:
    with app_client(settings, runtime) as test_client:
        yield test_client


def _requests(runtime: Runtime) -> list[DataRequest]:
    with runtime.sessions() as db:
        return list(db.scalars(select(DataRequest).order_by(DataRequest.received_at)))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            "",
            [
                "Dine rettigheter over personopplysningene dine",
                "Innsyn i opplysningene dine",
                "Retting",
                "Sletting",
                "Protest mot direkte markedsføring",
                "Begrensning av behandlingen",
                "Personvern hos Assemble Prosjekt AS",
            ],
        ),
        (
            "?lang=en",
            [
                "Your rights over your personal data",
                "Access to your data",
                "Rectification",
                "Erasure",
                "Objection to direct marketing",
                "Restriction of processing",
            ],
        ),
    ],
)
def test_front_page_in_both_languages(client: TestClient, query: str, expected: list[str]) -> None:
    page = client.get(f"/privacy{query}")
    assert page.status_code == 200
    for text in expected:
        assert text in page.text
    for kind in ("access", "rectify", "erase", "object", "restrict"):
        assert f'href="/privacy/request/{kind}"' in page.text


def test_center_pages_allow_only_their_own_stylesheets(client: TestClient) -> None:
    for path in ("/privacy", "/privacy/request/access", "/privacy/status/nope"):
        response = client.get(path)
        policy = response.headers["content-security-policy"]
        assert "default-src 'none'" in policy
        assert "style-src 'self'" in policy
        assert "script-src" not in policy
        assert "unsafe-inline" not in policy
        assert "<script" not in response.text
        assert " style=" not in response.text
    assert client.get("/static/center.css").status_code == 200


def test_unknown_kind_is_404(client: TestClient) -> None:
    assert client.get("/privacy/request/delete-everything").status_code == 404


def test_form_needs_its_csrf_token(client: TestClient, runtime: Runtime) -> None:
    client.get("/privacy/request/access")
    response = client.post("/privacy/request/access", data={"csrf_token": "forged", "email": KARI})
    assert response.status_code == 403
    assert "Skjemaet er utløpt" in response.text
    assert _requests(runtime) == []
    # Without the cookie, even the right-looking token is refused.
    fresh = TestClient(client.app)
    token = csrf_from(client.get("/privacy/request/access").text)
    assert (
        fresh.post("/privacy/request/access", data={"csrf_token": token, "email": KARI}).status_code
        == 403
    )
    assert messages(runtime) == []


def test_invalid_input_shows_the_form_again(client: TestClient, runtime: Runtime) -> None:
    response = submit(client, "access", email="kari(at)example.no", name="Kari")
    assert response.status_code == 400
    assert "Det er ikke en e-postadresse" in response.text
    assert 'aria-invalid="true"' in response.text
    assert 'value="Kari"' in response.text
    assert _requests(runtime) == []


def test_rectification_form_carries_the_corrections(client: TestClient, runtime: Runtime) -> None:
    response = submit(
        client, "rectify", email=KARI, change_phone="+47 911 22 333", change_name="Kari N."
    )
    assert response.status_code == 200
    [request] = _requests(runtime)
    assert request.kind == "rectify"
    assert lifecycle.changes_of(request) == {"phone": "+47 911 22 333", "name": "Kari N."}
    empty = submit(client, "rectify", email=KARI)
    assert empty.status_code == 400
    assert "minst én riktig verdi" in empty.text


def test_the_form_answers_the_same_for_every_address(settings: Settings, runtime: Runtime) -> None:
    """Known, unknown, repeated and over-limit addresses get byte-identical answers."""
    known = "ola.nordmann@example.no"
    lifecycle.create(
        runtime,
        Intake(kind="access", email=known),
        channel="admin",
        actor="admin:1",
        verified_note="Known customer, letter signed.",
    )
    with app_client(settings, runtime, request_limit_per_address=2) as client:
        answers = [
            submit(client, "access", email=address)
            for address in (
                known,
                "never.seen@example.no",
                known,
                known,  # over the per-address limit: no e-mail, same answer
            )
        ]
    assert {a.status_code for a in answers} == {200}
    first = answers[0]
    for other in answers[1:]:
        assert other.content == first.content
        assert other.headers.get("set-cookie") == first.headers.get("set-cookie")
        assert dict(other.headers) == dict(first.headers) | {
            "content-length": other.headers["content-length"]
        }
    assert "Sjekk e-posten din" in first.text
    assert known not in first.text
    verify_mails = [m.to_address for m in messages(runtime, "verify")]
    assert verify_mails.count(known) == 2
    assert verify_mails.count("never.seen@example.no") == 1


def test_too_many_requests_from_one_ip_get_429(settings: Settings, runtime: Runtime) -> None:
    with app_client(settings, runtime, request_limit_per_ip=3) as client:
        statuses = [
            submit(client, "erase", email=f"person{n}@example.no").status_code for n in range(3)
        ]
        blocked = submit(client, "erase", email="person9@example.no")
    assert statuses == [200, 200, 200]
    assert blocked.status_code == 429
    retry = int(blocked.headers["retry-after"])
    assert 0 < retry <= 3600
    assert "For mange forespørsler" in blocked.text
    assert len(_requests(runtime)) == 3


def test_from_form_to_status_page(client: TestClient, runtime: Runtime) -> None:
    assert submit(client, "access", "?lang=en", email=KARI, name="Kari").status_code == 200
    [request] = _requests(runtime)
    assert request.lang == "en"
    token = verify_token(messages(runtime, "verify")[0].text_body)
    confirm = client.get(f"/privacy/verify/{token}")
    assert confirm.status_code == 200
    # Opening the link changes nothing: mail scanners open links too.
    assert _requests(runtime)[0].status == "unverified"
    posted = client.post(
        f"/privacy/verify/{token}",
        data={"csrf_token": csrf_from(confirm.text)},
        follow_redirects=False,
    )
    assert posted.status_code == 303
    location = posted.headers["location"]
    assert location.startswith("/privacy/status/")
    assert request.id not in location
    assert _requests(runtime)[0].status in {"running", "waiting", "completed"}
    status = client.get(location)
    assert status.status_code == 200
    assert "Your request" in status.text
    assert "Access to your data" in status.text
    assert status.headers["referrer-policy"] == "no-referrer"
    # The same link in the e-mail the person gets.
    [received] = messages(runtime, "received")
    assert location.split("/")[-1] in received.text_body


def test_a_used_link_is_404_with_a_clear_page(client: TestClient, runtime: Runtime) -> None:
    submit(client, "access", email=KARI)
    token = verify_token(messages(runtime, "verify")[0].text_body)
    csrf = csrf_from(client.get(f"/privacy/verify/{token}").text)
    assert (
        client.post(
            f"/privacy/verify/{token}", data={"csrf_token": csrf}, follow_redirects=False
        ).status_code
        == 303
    )
    again = client.post(f"/privacy/verify/{token}", data={"csrf_token": csrf})
    assert again.status_code == 404
    assert "Denne lenken virker ikke" in again.text
    assert client.get(f"/privacy/verify/{token}").status_code == 404


def test_an_expired_link_is_410(client: TestClient, runtime: Runtime) -> None:
    submit(client, "access", email=KARI)
    token = verify_token(messages(runtime, "verify")[0].text_body)
    with runtime.sessions() as db, db.begin():
        db.execute(update(RequestToken).values(expires_at=utcnow() - timedelta(minutes=1)))
    page = client.get(f"/privacy/verify/{token}")
    assert page.status_code == 410
    assert "Denne lenken er utløpt" in page.text
    assert (
        client.post(
            f"/privacy/verify/{token}",
            data={"csrf_token": csrf_from(client.get("/privacy/request/access").text)},
        ).status_code
        == 410
    )


@pytest.mark.parametrize(
    "path",
    [
        "/privacy/status/nope",
        "/privacy/status/" + "A" * 43 + "." + "0" * 32,
        "/privacy/verify/" + "A" * 43 + "." + "0" * 32,
    ],
)
def test_guessed_links_are_404(client: TestClient, runtime: Runtime, path: str) -> None:
    submit(client, "access", email=KARI)
    assert client.get(path).status_code == 404


def test_a_request_id_opens_nothing(client: TestClient, runtime: Runtime) -> None:
    submit(client, "access", email=KARI)
    [request] = _requests(runtime)
    for path in (
        f"/privacy/status/{request.id}",
        f"/privacy/verify/{request.id}",
        f"/privacy/request/{request.id}",
    ):
        assert client.get(path).status_code == 404


def test_status_page_shows_refusal_and_the_right_to_complain(
    client: TestClient, runtime: Runtime
) -> None:
    created = lifecycle.create(
        runtime,
        Intake(kind="erase", email=KARI, lang="nb"),
        channel="admin",
        actor="admin:1",
        verified_note="Letter signed by the customer.",
    )
    lifecycle.refuse(runtime, created.request_id, "admin:1", "Vi kan ikke identifisere deg.")
    token = re.search(r"/privacy/status/(\S+)", messages(runtime, "received")[0].text_body)
    assert token
    page = client.get(f"/privacy/status/{token.group(1)}")
    assert page.status_code == 200
    assert "Avslått" in page.text
    assert "Vi kan ikke identifisere deg." in page.text
    assert "Datatilsynet" in page.text


def test_nothing_personal_in_the_log(
    client: TestClient, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    submit(client, "access", email=KARI, name="Kari Nordmann", phone="+47 900 11 222")
    token = verify_token(messages(runtime, "verify")[0].text_body)
    csrf = csrf_from(client.get(f"/privacy/verify/{token}").text)
    client.post(f"/privacy/verify/{token}", data={"csrf_token": csrf})
    # The app's own records (the test client logs its requests too, as a browser would not).
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("personvern"))
    assert "received" in logged
    for secret in (KARI, "Kari", "900 11 222", token.split(".")[0]):
        assert secret not in logged


def test_the_access_log_does_not_keep_links(client: TestClient) -> None:
    """uvicorn logs each request's path; a link's secret is blanked there."""
    value = "Wk5otDBYQFQUYzSayjeKRL0fJZlp8BaS9lvrtqYjEOU.9e54a3976cc2fa62884f6672dff0be0f"
    logger = logging.getLogger("uvicorn.access")
    record = logger.makeRecord(
        logger.name,
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", f"/privacy/verify/{value}", "1.1", 200),
        None,
    )
    assert all(f.filter(record) for f in logger.filters)
    assert value not in record.getMessage()
    assert "/privacy/verify/[link]" in record.getMessage()
    search = logger.makeRecord(
        logger.name,
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", f"/admin/requests?status=all&email={KARI}&kind=", "1.1", 200),
        None,
    )
    assert all(f.filter(search) for f in logger.filters)
    assert KARI not in search.getMessage()
    assert "?status=all&email=[address]&kind=" in search.getMessage()
