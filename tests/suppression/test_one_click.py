"""RFC 8058 one-click: POST suppresses at once; GET only asks; bad tokens change nothing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from suppression_support import audit_entries, audit_text, rows

from personvern.runtime import Runtime
from personvern.settings import Settings
from personvern.suppression import is_suppressed
from personvern.suppression.tokens import make_token
from personvern.web.app import create_app

ADDRESS = "Ingrid.Haugen@Example.no"
ONE_CLICK = {"List-Unsubscribe": "One-Click"}


@pytest.fixture
def client(settings: Settings, runtime: Runtime) -> TestClient:
    # Not entered: the app's lifespan (background jobs) has no part in these answers.
    return TestClient(create_app(settings, runtime=runtime))


@pytest.fixture
def token(runtime: Runtime) -> str:
    return make_token(runtime.secret, ADDRESS, "newsletter")


def test_one_click_post_suppresses_at_once(
    client: TestClient, runtime: Runtime, token: str
) -> None:
    response = client.post(f"/unsubscribe/{token}", data=ONE_CLICK, follow_redirects=False)
    assert response.status_code == 200
    assert "set-cookie" not in response.headers
    assert is_suppressed(runtime, "ingrid.haugen@example.no")
    [row] = rows(runtime)
    assert (row.address, row.list_key, row.source, row.sync_status) == (
        "ingrid.haugen@example.no",
        "newsletter",
        "one_click",
        "pending",
    )
    [entry] = audit_entries(runtime)
    assert (entry.actor, entry.action, entry.object_id) == (
        "subscriber",
        "suppression.added",
        str(row.id),
    )
    assert entry.subject_key == runtime.audit.subject_key(ADDRESS)
    assert "ingrid" not in audit_text(runtime).lower()


def test_pressing_again_changes_nothing(client: TestClient, runtime: Runtime, token: str) -> None:
    for _ in range(3):
        assert client.post(f"/unsubscribe/{token}", data=ONE_CLICK).status_code == 200
    assert len(rows(runtime)) == 1
    assert len(audit_entries(runtime)) == 1


def test_a_multipart_post_works_too(client: TestClient, runtime: Runtime, token: str) -> None:
    # RFC 8058 § 3.2: the body may be multipart/form-data as well.
    response = client.post(f"/unsubscribe/{token}", files={"List-Unsubscribe": (None, "One-Click")})
    assert response.status_code == 200
    assert is_suppressed(runtime, ADDRESS)


def test_get_shows_a_confirm_page_and_changes_nothing(
    client: TestClient, runtime: Runtime, token: str
) -> None:
    response = client.get(f"/unsubscribe/{token}")
    assert response.status_code == 200
    assert response.headers["content-language"] == "nb"
    assert "Meld deg av nyhetsbrevet" in response.text
    assert "i•••@example.no" in response.text  # masked, as the person recognises it
    assert ADDRESS.lower() not in response.text.lower()
    assert f'action="/unsubscribe/{token}?lang=nb"' in response.text
    assert 'name="List-Unsubscribe" value="One-Click"' in response.text
    assert "set-cookie" not in response.headers
    csp = response.headers["content-security-policy"]
    assert "script-src" not in csp
    assert "unsafe-inline" not in csp
    assert "default-src 'none'" in csp
    assert response.headers["referrer-policy"] == "no-referrer"
    assert rows(runtime) == []
    assert audit_entries(runtime) == []


def test_the_page_follows_accept_language_and_the_button_keeps_it(
    client: TestClient, runtime: Runtime, token: str
) -> None:
    page = client.get(f"/unsubscribe/{token}", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert page.headers["content-language"] == "en"
    assert "Unsubscribe from the newsletter" in page.text
    done = client.post(f"/unsubscribe/{token}?lang=en", data=ONE_CLICK)
    assert done.headers["content-language"] == "en"
    assert "You are unsubscribed" in done.text
    assert "set-cookie" not in done.headers
    nb = client.post(f"/unsubscribe/{token}", data=ONE_CLICK)
    assert "Du er meldt av" in nb.text


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_an_altered_token_is_404_and_changes_nothing(
    client: TestClient, runtime: Runtime, token: str, method: str
) -> None:
    altered = token[:10] + ("A" if token[10] != "A" else "B") + token[11:]
    for bad in (altered, token[:-2], "nonsense", "A" * 900):
        response = client.request(method, f"/unsubscribe/{bad}", data=ONE_CLICK)
        assert response.status_code == 404
        assert "Lenken virker ikke" in response.text
        assert "set-cookie" not in response.headers
    assert rows(runtime) == []
    assert audit_entries(runtime) == []


@pytest.mark.parametrize("body", [{}, {"List-Unsubscribe": "Yes"}, {"unsubscribe": "One-Click"}])
def test_a_post_without_the_one_click_body_is_400(
    client: TestClient, runtime: Runtime, token: str, body: dict[str, str]
) -> None:
    response = client.post(f"/unsubscribe/{token}", data=body)
    assert response.status_code == 400
    assert "Ingenting ble endret" in response.text
    assert rows(runtime) == []


def test_a_token_from_another_installation_is_refused(client: TestClient, runtime: Runtime) -> None:
    foreign = make_token(b"another-installation-secret-key-0123456789", ADDRESS)
    assert client.post(f"/unsubscribe/{foreign}", data=ONE_CLICK).status_code == 404
    assert rows(runtime) == []


def test_the_access_log_does_not_keep_tokens(
    client: TestClient, token: str, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    from personvern.web.access_log import AccessLogFilter

    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "POST", f"/unsubscribe/{token}?lang=en", "1.1", 200),
        None,
    )
    AccessLogFilter().filter(record)
    assert token not in record.getMessage()
    assert "/unsubscribe/[link]?lang=en" in record.getMessage()
    assert any(isinstance(f, AccessLogFilter) for f in logging.getLogger("uvicorn.access").filters)
