"""The admin's suppression list page: viewers read it, admins add, remove (after a
confirmation, with a reason that is audited without the address) and push to Mailchimp;
search and paging; CSRF. The real app over HTTP on the test's store (SQLite or
PostgreSQL), and the Mailchimp sandbox on loopback for "sync now"."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from suppression_support import audit_entries, audit_text, rows

from personvern.demo.shop import build_shop
from personvern.runtime import Runtime
from personvern.sandbox.server import SandboxContext, SandboxServer
from personvern.settings import Settings
from personvern.store.base import utcnow
from personvern.store.suppressions import Suppression
from personvern.suppression.entries import suppress, suppress_in
from personvern.web.access_log import redact
from personvern.web.admin.suppressions import PAGE_SIZE
from personvern.web.admin.users import create_user
from personvern.web.app import create_app

TESTS = Path(__file__).resolve().parents[1]
SMALL_INVENTORY = TESTS / "web" / "small_privacy.yaml"  # no Mailchimp system in it
ADMIN = ("eier@assemble.no", "korrekt hest batteri stift")
VIEWER = ("regnskap@assemble.no", "en annen lang passordfrase")
PATH = "/admin/suppressions"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_HREF = re.compile(r'href="([^"]+)"')


def _csrf(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "the page has no form with a csrf_token"
    return match.group(1)


def _client(settings: Settings, runtime: Runtime, who: tuple[str, str]) -> TestClient:
    """A browser signed in as ``who``. No ``with``: the app's lifespan (and with it the
    background push to Mailchimp) does not run, so only the page's own button pushes."""
    client = TestClient(create_app(settings, runtime=runtime))
    form = client.get("/admin/login")
    answer = client.post(
        "/admin/login",
        data={"email": who[0], "password": who[1], "csrf_token": _csrf(form.text)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return client


@pytest.fixture
def admin(settings: Settings, runtime: Runtime) -> TestClient:
    create_user(runtime, *ADMIN, "admin")
    return _client(settings, runtime, ADMIN)


@pytest.fixture
def viewer(settings: Settings, runtime: Runtime) -> TestClient:
    create_user(runtime, *VIEWER, "viewer")
    return _client(settings, runtime, VIEWER)


def _seed(runtime: Runtime, count: int, *, stem: str = "kunde") -> list[str]:
    """``count`` addresses, one minute apart, the last one the newest."""
    start = utcnow() - timedelta(days=1)
    addresses = [f"{stem}{i:03d}@example.no" for i in range(count)]
    with runtime.audit.session() as session:
        for i, address in enumerate(addresses):
            suppress_in(
                session,
                runtime.audit,
                address,
                source="one_click",
                actor="subscriber",
                now=start + timedelta(minutes=i),
            )
    return addresses


def _mark_failed(runtime: Runtime, address: str, error: str) -> None:
    with runtime.sessions() as session:
        session.execute(
            update(Suppression)
            .where(Suppression.address == address)
            .values(sync_status="failed", sync_error=error, next_sync_at=None)
        )
        session.commit()


def _count(html: str, status: str) -> int:
    match = re.search(rf'data-count="{status}">(\d+)<', html)
    assert match, f"no count for {status}"
    return int(match.group(1))


def _listed(html: str) -> list[str]:
    return re.findall(r'<tr data-entry="\d+">\s*<th scope="row">([^<]+)</th>', html)


def test_viewer_sees_the_list_and_cannot_change_it(viewer: TestClient, runtime: Runtime) -> None:
    suppress(runtime, "kari@example.no", source="webhook", actor="webhook", synced=True)
    suppress(runtime, "ola@example.no", source="request", actor="system")
    suppress(runtime, "per@example.no", source="admin", actor="cli")
    _mark_failed(runtime, "per@example.no", "Mailchimp: Member In Compliance State")

    page = viewer.get(PATH, headers={"Accept-Language": "en"})
    assert page.status_code == 200
    html = page.text
    assert _listed(html) == ["per@example.no", "ola@example.no", "kari@example.no"]
    for text in ("Mailchimp webhook", "Objection request", "Added by an admin"):
        assert f"<td>{text}</td>" in html
    assert re.search(r'data-sync="synced">Synced \S', html)
    assert 'data-sync="pending">Pending</td>' in html
    # A push that met a passing fault: when it is tried again, and why.
    with runtime.sessions() as session:
        session.execute(
            update(Suppression)
            .where(Suppression.address == "ola@example.no")
            .values(sync_error="HTTP 503", next_sync_at=utcnow() + timedelta(minutes=2))
        )
        session.commit()
    retrying = viewer.get(PATH, headers={"Accept-Language": "en"}).text
    assert re.search(r"Pending: to be tried again \S.* \(last error: HTTP 503\)", retrying)
    assert "Failed: Mailchimp: Member In Compliance State" in html
    assert [_count(html, s) for s in ("all", "pending", "synced", "failed")] == [3, 1, 1, 1]
    # No forms but the search (and sign-out), no remove links.
    assert 'method="post" action="/admin/suppressions' not in html
    assert "/remove" not in html

    [row_id] = [r.id for r in rows(runtime) if r.address == "ola@example.no"]
    token = _csrf(html)
    before = (len(rows(runtime)), len(audit_entries(runtime, "")))
    for url, data in (
        (PATH, {"address": "ny@example.no"}),
        (f"{PATH}/{row_id}/remove", {"reason": "feil"}),
        (f"{PATH}/sync", {}),
    ):
        answer = viewer.post(url, data={**data, "csrf_token": token}, follow_redirects=False)
        assert answer.status_code == 403, url
    assert viewer.get(f"{PATH}/{row_id}/remove").status_code == 403
    assert (len(rows(runtime)), len(audit_entries(runtime, ""))) == before


def test_admin_adds_an_address_once(admin: TestClient, runtime: Runtime) -> None:
    token = _csrf(admin.get(PATH).text)
    answer = admin.post(
        PATH,
        data={"address": " Lise.Berg@Example.no ", "csrf_token": token},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == f"{PATH}?done=added"
    page = admin.get(answer.headers["location"])
    assert "Adressen står på listen" in page.text  # bokmål by default
    [row] = rows(runtime)
    assert (row.address, row.source, row.sync_status) == (
        "lise.berg@example.no",
        "admin",
        "pending",
    )
    [entry] = audit_entries(runtime)
    assert (entry.action, entry.object_id) == ("suppression.added", str(row.id))
    assert entry.actor.startswith("admin:")
    assert "lise.berg" not in audit_text(runtime).lower()

    again = admin.post(
        PATH, data={"address": "LISE.BERG@example.no", "csrf_token": token}, follow_redirects=False
    )
    assert again.headers["location"] == f"{PATH}?done=already"
    assert len(rows(runtime)) == 1
    assert len(audit_entries(runtime)) == 1


@pytest.mark.parametrize("address", ["not-an-address", "kari@", "kari @example.no", ""])
def test_a_bad_address_changes_nothing_and_says_how(
    admin: TestClient, runtime: Runtime, address: str
) -> None:
    token = _csrf(admin.get(PATH).text)
    before = len(audit_entries(runtime, ""))
    answer = admin.post(
        f"{PATH}?lang=en", data={"address": address, "csrf_token": token}, follow_redirects=False
    )
    assert answer.status_code == 400
    assert "not a valid e-mail address, so nothing was added" in answer.text
    assert "name@example.no" in answer.text
    assert rows(runtime) == []
    assert len(audit_entries(runtime, "")) == before


def test_removal_is_confirmed_and_its_reason_audited_without_the_address(
    admin: TestClient, runtime: Runtime
) -> None:
    suppress(runtime, "kari@example.no", source="one_click", actor="subscriber")
    [row] = rows(runtime)
    listing = admin.get(PATH).text
    assert f'href="{PATH}/{row.id}/remove"' in listing

    confirm = admin.get(f"{PATH}/{row.id}/remove?lang=en")
    assert confirm.status_code == 200
    assert "kari@example.no" in confirm.text
    assert "personvern may send it marketing e-mail again" in confirm.text
    assert 'name="reason"' in confirm.text
    token = _csrf(confirm.text)

    # No reason: nothing happens.
    refused = admin.post(
        f"{PATH}/{row.id}/remove?lang=en",
        data={"reason": "  ", "csrf_token": token},
        follow_redirects=False,
    )
    assert refused.status_code == 400
    assert "Write why the address is taken off the list" in refused.text
    assert len(rows(runtime)) == 1
    assert [e.action for e in audit_entries(runtime)] == ["suppression.added"]

    done = admin.post(
        f"{PATH}/{row.id}/remove",
        data={"reason": "Kari@Example.no ringte og vil ha nyhetsbrevet igjen", "csrf_token": token},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"{PATH}?done=removed"
    assert rows(runtime) == []
    removed = audit_entries(runtime)[-1]
    assert removed.action == "suppression.removed"
    assert removed.object_id == str(row.id)
    assert removed.subject_key == runtime.audit.subject_key("kari@example.no")
    assert "[address] ringte og vil ha nyhetsbrevet igjen" in removed.details
    assert "kari" not in audit_text(runtime).lower()
    assert "igjen sende den markedsføring" in admin.get(done.headers["location"] + "&lang=nb").text

    # Removed meanwhile (another tab): nothing to do, and it says so.
    gone = admin.post(
        f"{PATH}/{row.id}/remove",
        data={"reason": "igjen", "csrf_token": token},
        follow_redirects=False,
    )
    assert gone.headers["location"] == f"{PATH}?done=gone"
    assert admin.get(f"{PATH}/{row.id}/remove").status_code == 404


def test_pages_newest_first_and_search_by_address(admin: TestClient, runtime: Runtime) -> None:
    addresses = _seed(runtime, PAGE_SIZE + 3)
    newest_first = addresses[::-1]
    first = admin.get(PATH).text
    assert _listed(first) == newest_first[:PAGE_SIZE]
    assert _count(first, "all") == PAGE_SIZE + 3
    assert f'href="{PATH}?page=2" rel="next"' in first

    second = admin.get(f"{PATH}?page=2").text
    assert _listed(second) == newest_first[PAGE_SIZE:]
    assert f'href="{PATH}" rel="prev"' in second
    assert 'rel="next"' not in second
    assert _listed(admin.get(f"{PATH}?page=99").text) == newest_first[PAGE_SIZE:]
    assert _listed(admin.get(f"{PATH}?page=x").text) == newest_first[:PAGE_SIZE]

    # Part of an address, in any case; % and _ are not wildcards.
    found = admin.get(PATH, params={"email": "KUNDE00"}).text
    assert _listed(found) == [f"kunde00{i}@example.no" for i in range(9, -1, -1)]
    assert _listed(admin.get(PATH, params={"email": "kunde_0%"}).text) == []
    assert "Ingen adresse på listen passer" in admin.get(PATH, params={"email": "nobody"}).text

    # With the filter by state, and paging links that keep both.
    _mark_failed(runtime, addresses[0], "refused")
    failed = admin.get(PATH, params={"status": "failed", "email": "kunde"}).text
    assert _listed(failed) == [addresses[0]]
    assert _count(failed, "failed") == 1
    searched = admin.get(PATH, params={"email": "@example.no"}).text
    links = [h.replace("&amp;", "&") for h in _HREF.findall(searched) if h.startswith(PATH)]
    assert f"{PATH}?email=%40example.no&page=2" in links
    # The address searched for never reaches the access log: the links carry it as email=.
    for link in links:
        assert "example" not in redact(f'"GET {link} HTTP/1.1" 200')


def test_forms_without_the_csrf_token_are_refused(admin: TestClient, runtime: Runtime) -> None:
    suppress(runtime, "kari@example.no", source="one_click", actor="subscriber")
    [row] = rows(runtime)
    for url, data in (
        (PATH, {"address": "ny@example.no"}),
        (f"{PATH}/{row.id}/remove", {"reason": "feil"}),
        (f"{PATH}/sync", {}),
    ):
        answer = admin.post(url, data=data, follow_redirects=False)
        assert answer.status_code == 403, url
        wrong = admin.post(url, data={**data, "csrf_token": "x" * 43}, follow_redirects=False)
        assert wrong.status_code == 403, url
    assert [r.address for r in rows(runtime)] == ["kari@example.no"]
    assert [e.action for e in audit_entries(runtime)] == ["suppression.added"]


def test_sync_without_a_mailchimp_system_says_so(
    settings: Settings, runtime: Runtime, request: pytest.FixtureRequest
) -> None:
    small = settings.model_copy(update={"inventory": SMALL_INVENTORY})
    create_user(runtime, *ADMIN, "admin")
    own = Runtime.open(small, migrate=False)
    request.addfinalizer(own.close)
    client = _client(small, own, ADMIN)
    suppress(runtime, "kari@example.no", source="one_click", actor="subscriber")
    page = client.get(f"{PATH}?lang=en").text
    assert "No system in the inventory has a Mailchimp connector" in page
    answer = client.post(f"{PATH}/sync?lang=en", data={"csrf_token": _csrf(page)})
    assert answer.status_code == 409
    assert "there is nothing to push to" in answer.text
    assert "connector: {type: mailchimp}" in answer.text
    [row] = rows(runtime)
    assert (row.sync_status, row.sync_attempts) == ("pending", 0)
    nb = client.post(f"{PATH}/sync?lang=nb", data={"csrf_token": _csrf(page)})
    assert "Ingen system i personvernoversikten har en Mailchimp-kobling" in nb.text


# --- "sync now" against the Mailchimp sandbox --------------------------------------------


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    shop = tmp_path_factory.mktemp("shop") / "shop.sqlite3"
    build_shop(f"sqlite:///{shop}", customers=40)
    with SandboxServer(SandboxContext(f"sqlite:///{shop}"), ["mailchimp"]) as server:
        yield server


@pytest.fixture
def mailchimp(sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The sandbox's state, with the environment the Assemble inventory names pointing at
    it (``sync`` reads the process environment, as the app does)."""
    sandbox.faults("mailchimp").reset()
    state = sandbox.app("mailchimp").state
    state.reset()
    monkeypatch.setenv("MAILCHIMP_API_URL", sandbox.vendor_url("mailchimp") + "/3.0")
    monkeypatch.setenv("MAILCHIMP_API_KEY", sandbox.app("mailchimp").credentials["api_key"])
    return state


def test_sync_now_pushes_and_retries_the_failed(
    admin: TestClient, runtime: Runtime, sandbox: SandboxServer, mailchimp: Any
) -> None:
    suppress(runtime, "ny.kunde@example.no", source="admin", actor="cli")
    sandbox.faults("mailchimp").fail_next(400, times=1)  # Mailchimp refuses it for good
    page = admin.get(f"{PATH}?lang=en").text
    first = admin.post(f"{PATH}/sync?lang=en", data={"csrf_token": _csrf(page)})
    assert first.status_code == 200
    assert "Pushed to Mailchimp: 0. Failed: 1." in first.text
    assert _count(first.text, "failed") == 1
    assert 'name="retry_failed" value="yes"' in first.text
    [row] = rows(runtime)
    assert row.sync_status == "failed"

    again = admin.post(
        f"{PATH}/sync?lang=en", data={"csrf_token": _csrf(page), "retry_failed": "yes"}
    )
    assert "1 failed address was made pending again." in again.text
    assert "Pushed to Mailchimp: 1. Failed: 0." in again.text
    [row] = rows(runtime)
    assert row.sync_status == "synced"
    assert {m.status for m in mailchimp.where("ny.kunde@example.no").values()} == {"unsubscribed"}
    requested = [e for e in audit_entries(runtime) if e.action == "suppression.sync_requested"]
    assert len(requested) == 2
    assert all(e.actor.startswith("admin:") for e in requested)
    assert "ny.kunde" not in audit_text(runtime)

    nothing = admin.post(f"{PATH}/sync?lang=en", data={"csrf_token": _csrf(page)})
    assert "Nothing was waiting to be pushed to Mailchimp." in nothing.text


def test_sync_now_shows_why_it_stopped(
    admin: TestClient, runtime: Runtime, mailchimp: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MAILCHIMP_API_KEY")
    suppress(runtime, "ny.kunde@example.no", source="admin", actor="cli")
    page = admin.get(f"{PATH}?lang=en").text
    answer = admin.post(f"{PATH}/sync?lang=en", data={"csrf_token": _csrf(page)})
    assert answer.status_code == 200
    assert "Still pending: 1." in answer.text
    assert "Stopped: " in answer.text
    assert "MAILCHIMP_API_KEY" in answer.text
    [row] = rows(runtime)
    assert row.sync_status == "pending"
