"""Delivering a report by link, and fetching it over HTTP: the address asked again, the
files for one browser for a while, and every way in that must stay shut."""

from __future__ import annotations

import json
import logging
import re
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from request_support import app_client, csrf_from, messages
from sqlalchemy import delete, select, update
from test_reports import KARI, OLA, add_request, kari_access, ola_access

from personvern.dsr import requests as lifecycle
from personvern.dsr import verification
from personvern.dsr.reports import ReportError, deliver_report, purge_reports
from personvern.dsr.reports.downloads import CONFIRM_LIMIT
from personvern.runtime import Runtime
from personvern.settings import Settings
from personvern.store.requests import DataRequest, RequestToken

_LINK = re.compile(r"/privacy/download/([A-Za-z0-9_-]{43}\.[0-9a-f]{32})")
FILES = ["access-report.html", "access-report.pdf", "access-report.zip"]


@pytest.fixture
def client(settings: Settings, runtime: Runtime) -> Iterator[TestClient]:
    with app_client(settings, runtime) as test_client:
        yield test_client


def deliver(runtime: Runtime, request_id: str, **kwargs: Any) -> str:
    """Deliver the report; the link value from the e-mail the person got."""
    delivered = deliver_report(runtime, request_id, **kwargs)
    assert delivered is not None
    [message] = [m for m in messages(runtime, "report") if m.request_id == request_id][-1:]
    match = _LINK.search(message.text_body)
    assert match, message.text_body
    assert delivered.url.endswith(match.group(1))
    return match.group(1)


def open_report(client: TestClient, token: str, email: str = KARI) -> Any:
    page = client.get(f"/privacy/download/{token}")
    assert page.status_code == 200, page.text
    return client.post(
        f"/privacy/download/{token}",
        data={"csrf_token": csrf_from(page.text), "email": email},
        follow_redirects=False,
    )


def actions(runtime: Runtime, email: str = KARI) -> list[str]:
    return [e.action for e in runtime.audit.entries(email) if "report" in e.action]


# --- delivery ------------------------------------------------------------------------------


def test_delivery_keeps_the_files_private_and_emails_a_link(
    runtime: Runtime, settings: Settings
) -> None:
    request_id = kari_access(runtime)
    token = deliver(runtime, request_id)
    folder = Path(settings.data_dir) / "reports" / request_id
    assert sorted(p.name for p in folder.iterdir()) == FILES
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(folder.parent.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()} == {0o600}

    [message] = messages(runtime, "report")
    assert message.to_address == KARI
    assert message.lang == "en"
    assert message.subject == "Your copy of your personal data is ready"
    assert f"{settings.base_url.rstrip('/')}/privacy/download/{token}" in message.text_body
    assert "type your e-mail address again" in message.text_body
    assert "7 days" in message.text_body

    with runtime.sessions() as db:
        [row] = db.scalars(select(RequestToken).where(RequestToken.purpose == "download"))
        # Only a hash of the link is kept: a copy of the store opens nothing.
        assert token.split(".")[0] not in (row.token_hash, row.request_id)
        assert row.expires_at - row.created_at == timedelta(days=7)

    [entry] = [e for e in runtime.audit.entries(KARI) if e.action == "request.report_created"]
    details = json.loads(entry.details)
    assert details == {
        "formats": ["html", "pdf", "zip"],
        "kind": "access",
        "link_days": 7,
        "resent": False,
        "late": False,
    }


def test_a_report_is_delivered_once_unless_a_new_link_is_asked_for(
    runtime: Runtime, client: TestClient
) -> None:
    request_id = kari_access(runtime)
    first = deliver(runtime, request_id)
    assert deliver_report(runtime, request_id) is None
    assert len(messages(runtime, "report")) == 1
    second = deliver(runtime, request_id, force=True)
    assert second != first
    # The new link works; the old one has ended.
    assert client.get(f"/privacy/download/{second}").status_code == 200
    assert client.get(f"/privacy/download/{first}").status_code == 410


def test_only_a_completed_request_is_delivered(runtime: Runtime) -> None:
    request_id = kari_access(runtime, status="waiting")
    with pytest.raises(ReportError, match="waiting"):
        deliver_report(runtime, request_id)
    assert messages(runtime, "report") == []


def test_completing_a_request_delivers_its_report(runtime: Runtime) -> None:
    """The hook: the lifecycle's completion notice (``notify_completed``) sends the link."""
    request_id = kari_access(runtime)
    assert lifecycle.notify_completed(runtime, request_id)
    # The report's e-mail is the answer (Art. 12(3)); no separate "completed" letter.
    assert [m.purpose for m in messages(runtime)] == ["report"]
    # Called again (each run ends with it), nothing more is sent.
    assert not lifecycle.notify_completed(runtime, request_id)
    assert len(messages(runtime, "report")) == 1


# --- the download over HTTP ------------------------------------------------------------------


def test_from_link_to_files(runtime: Runtime, client: TestClient, settings: Settings) -> None:
    request_id = kari_access(runtime)
    token = deliver(runtime, request_id)
    page = client.get(f"/privacy/download/{token}")
    assert page.status_code == 200
    assert 'name="email"' in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    assert "default-src 'none'" in page.headers["content-security-policy"]
    # Looking at the link uses nothing (mail scanners open links), and shows no file.
    assert client.get(f"/privacy/download/{token}/{FILES[0]}").status_code == 404

    posted = open_report(client, token, email="  Kari.Nordmann@Example.NO ")
    assert posted.status_code == 303
    assert posted.headers["location"] == f"/privacy/download/{token}"
    cookie = posted.headers["set-cookie"]
    assert cookie.startswith("pv_download=")
    assert f"Path=/privacy/download/{token}" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie

    listing = client.get(f"/privacy/download/{token}")
    assert listing.status_code == 200
    for name in FILES:
        assert f'href="/privacy/download/{token}/{name}"' in listing.text

    folder = Path(settings.data_dir) / "reports" / request_id
    for name, media in zip(FILES, ["text/html", "application/pdf", "application/zip"], strict=True):
        got = client.get(f"/privacy/download/{token}/{name}")
        assert got.status_code == 200
        assert got.headers["content-type"].startswith(media)
        assert got.headers["content-disposition"] == f'attachment; filename="{name}"'
        assert "sandbox" in got.headers["content-security-policy"]
        assert got.content == (folder / name).read_bytes()
    assert client.get(f"/privacy/download/{token}/secret.txt").status_code == 404
    assert client.get(f"/privacy/download/{token}/..%2F..%2Fsecret.key").status_code == 404

    assert actions(runtime) == [
        "request.report_created",
        "request.report_opened",
        "request.report_downloaded",
        "request.report_downloaded",
        "request.report_downloaded",
    ]
    for entry in runtime.audit.entries(KARI):
        assert KARI not in entry.details
        assert token not in entry.details
    assert runtime.audit.verify().ok


def _unlinked(text: str, token: str) -> str:
    return text.replace(token, "TOKEN")


def test_a_wrong_address_gets_the_answer_of_an_unknown_link(
    runtime: Runtime, client: TestClient
) -> None:
    token = deliver(runtime, kari_access(runtime))
    wrong = open_report(client, token, email="someone.else@example.no")
    assert wrong.status_code == 404
    forged = token[:-1] + ("0" if token[-1] != "0" else "1")
    unknown = client.get(f"/privacy/download/{forged}")
    assert unknown.status_code == 404
    assert _unlinked(wrong.text, token) == _unlinked(unknown.text, forged)
    # The link still works with the right address.
    assert open_report(client, token).status_code == 303
    assert actions(runtime) == [
        "request.report_created",
        "request.report_refused",
        "request.report_opened",
    ]


@pytest.mark.parametrize(
    "value",
    ["nothing", "A" * 43 + "." + "0" * 32, "../../etc/passwd", "x" * 200],
)
def test_guessed_links_are_404(client: TestClient, value: str) -> None:
    assert client.get(f"/privacy/download/{value}").status_code == 404
    assert client.get(f"/privacy/download/{value}/{FILES[0]}").status_code == 404


def test_a_link_of_another_purpose_opens_nothing(runtime: Runtime, client: TestClient) -> None:
    request_id = kari_access(runtime)
    with runtime.sessions() as db, db.begin():
        status = verification.issue(
            db, runtime.secret, request_id=request_id, purpose="status", lifetime=timedelta(days=1)
        )
    assert client.get(f"/privacy/status/{status}").status_code == 200
    assert client.get(f"/privacy/download/{status}").status_code == 404


def test_an_expired_link_is_410(runtime: Runtime, client: TestClient) -> None:
    long_ago = datetime.now(UTC) - timedelta(days=8)
    token = deliver(runtime, kari_access(runtime), now=long_ago)
    page = client.get(f"/privacy/download/{token}")
    assert page.status_code == 410
    assert "Denne nedlastingslenken har utløpt" in page.text
    csrf = csrf_from(client.get("/privacy/request/access").text)
    posted = client.post(f"/privacy/download/{token}", data={"csrf_token": csrf, "email": KARI})
    assert posted.status_code == 410
    assert "request.report_opened" not in actions(runtime)


def test_a_used_link_asks_for_the_address_again_within_its_hour_then_is_spent(
    runtime: Runtime, settings: Settings, client: TestClient
) -> None:
    token = deliver(runtime, kari_access(runtime))
    link, pdf = f"/privacy/download/{token}", f"/privacy/download/{token}/{FILES[1]}"
    # A double click: two posts of one form; the browser keeps the second answer only.
    form = {"csrf_token": csrf_from(client.get(link).text), "email": KARI}
    assert client.post(link, data=form, follow_redirects=False).status_code == 303
    client.cookies.delete("pv_download")
    assert client.post(link, data=form, follow_redirects=False).status_code == 303
    assert client.get(pdf).status_code == 200

    # Another browser (her phone, or a forwarded e-mail): no files without the address.
    with app_client(settings, runtime) as other:
        page = other.get(link)
        assert page.status_code == 200
        assert 'name="email"' in page.text
        assert other.get(pdf).status_code == 404
        # A session cookie of its own making does not help.
        other.cookies.set("pv_download", "9999999999.forged", path=link)
        assert other.get(pdf).status_code == 404
        assert open_report(other, token, email="stranger@example.no").status_code == 404
        assert open_report(other, token).status_code == 303
        assert other.get(pdf).status_code == 200

    # After its hour the link is spent, everywhere.
    with runtime.sessions() as db, db.begin():
        db.execute(
            update(RequestToken)
            .where(RequestToken.purpose == "download")
            .values(used_at=datetime.now(UTC) - timedelta(hours=2))
        )
    assert client.get(link).status_code == 410
    assert client.get(pdf).status_code == 410
    csrf = csrf_from(client.get("/privacy/request/access").text)
    assert client.post(link, data={"csrf_token": csrf, "email": KARI}).status_code == 410
    assert [a for a in actions(runtime) if a == "request.report_opened"] == [
        "request.report_opened"
    ] * 3


def test_another_persons_link_cannot_reach_this_report(
    runtime: Runtime, settings: Settings, client: TestClient
) -> None:
    kari = deliver(runtime, kari_access(runtime))
    ola = deliver(runtime, ola_access(runtime))
    # Ola's link with Kari's address: the answer of an unknown link.
    assert open_report(client, ola, email=KARI).status_code == 404
    # Ola opens his own; his session opens his files and nothing of Kari's.
    assert open_report(client, ola, email=OLA).status_code == 303
    html = client.get(f"/privacy/download/{ola}/{FILES[0]}").text
    assert OLA in html
    assert KARI not in html
    assert client.get(f"/privacy/download/{kari}/{FILES[0]}").status_code == 404
    # His session cookie, presented on Kari's link, opens nothing either.
    session = next(c.value for c in client.cookies.jar if c.name == "pv_download")
    with app_client(settings, runtime) as other:
        other.cookies.set("pv_download", session, path=f"/privacy/download/{kari}")
        page = other.get(f"/privacy/download/{kari}")
        assert page.status_code == 200
        assert 'name="email"' in page.text  # still asks for Kari's address
        assert other.get(f"/privacy/download/{kari}/{FILES[0]}").status_code == 404


def test_the_address_form_is_rate_limited_per_link(runtime: Runtime, client: TestClient) -> None:
    kari = deliver(runtime, kari_access(runtime))
    ola = deliver(runtime, ola_access(runtime))
    for _ in range(CONFIRM_LIMIT.allowed):
        assert open_report(client, kari, email="guess@example.no").status_code == 404
    limited = open_report(client, kari)
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0
    # Other links are not affected.
    assert open_report(client, ola, email=OLA).status_code == 303


def test_the_address_form_needs_its_csrf_token(runtime: Runtime, client: TestClient) -> None:
    token = deliver(runtime, kari_access(runtime))
    posted = client.post(f"/privacy/download/{token}", data={"email": KARI})
    assert posted.status_code == 403
    assert client.get(f"/privacy/download/{token}").status_code == 200  # still unused


def test_pages_in_bokmal(runtime: Runtime, client: TestClient) -> None:
    token = deliver(runtime, kari_access(runtime, lang="nb"))
    [message] = messages(runtime, "report")
    assert message.subject == "Innsyn i personopplysningene dine er klart"
    assert "skrive inn e-postadressen din på nytt" in message.text_body
    page = client.get(f"/privacy/download/{token}?lang=nb")
    assert "Last ned svaret ditt" in page.text
    assert open_report(client, token).status_code == 303
    listing = client.get(f"/privacy/download/{token}")
    assert "innsyn.pdf" in listing.text
    assert "Svaret, til utskrift eller oppbevaring (PDF)" in listing.text


def test_nothing_personal_or_secret_in_the_log(
    runtime: Runtime, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = deliver(runtime, kari_access(runtime))
    open_report(client, token)
    client.get(f"/privacy/download/{token}/{FILES[1]}")
    # personvern's own log (the test client logs its requests, links and all).
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("personvern"))
    assert "report delivered" in ours
    assert KARI not in ours
    assert "Nordmann" not in ours
    assert token.split(".")[0] not in ours


def test_purge_removes_reports_whose_links_have_ended(runtime: Runtime, settings: Settings) -> None:
    old = kari_access(runtime)
    deliver(runtime, old, now=datetime.now(UTC) - timedelta(days=10))
    fresh = ola_access(runtime)
    deliver(runtime, fresh)
    root = Path(settings.data_dir) / "reports"
    assert purge_reports(runtime) == 1
    assert sorted(p.name for p in root.iterdir()) == [fresh]


def test_the_link_of_a_deleted_request_is_unknown(runtime: Runtime, client: TestClient) -> None:
    request_id = add_request(runtime, steps=[])
    token = deliver(runtime, request_id)
    with runtime.sessions() as db, db.begin():
        db.execute(delete(RequestToken).where(RequestToken.request_id == request_id))
        db.execute(delete(DataRequest).where(DataRequest.id == request_id))
    assert client.get(f"/privacy/download/{token}").status_code == 404
