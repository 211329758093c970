"""The admin's mail viewer over HTTP: who may see it, what it shows, and that a message's HTML
cannot run script in it (checked in the markup, and in real Chromium)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from mail_support import sign_in

from personvern.mail import queue
from personvern.runtime import Runtime
from personvern.settings import Settings
from personvern.web.admin.users import create_user
from personvern.web.app import create_app

ADMIN = ("eier@assemble.no", "korrekt hest batteri stift")
VIEWER = ("regnskap@assemble.no", "en annen lang passordfrase")
HOSTILE = (
    "<p id=hei>Hei Åse</p>"
    '<script>document.body.dataset.ran = "script"; parent.document.title = "pwned";'
    " alert(1)</script>"
    "<img src=x onerror=\"document.body.dataset.ran = 'onerror'\">"
    '<a href="javascript:alert(2)">klikk</a>'
    '"></iframe><script>alert(3)</script>'
)


@pytest.fixture
def client(settings: Settings, runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(settings, runtime=runtime)) as test_client:
        yield test_client


@pytest.fixture
def users(runtime: Runtime) -> None:
    create_user(runtime, *ADMIN, "admin")
    create_user(runtime, *VIEWER, "viewer")


def _queue(runtime: Runtime, **fields: Any) -> int:
    values: dict[str, Any] = {
        "to": "ase@example.no",
        "subject": "Bekreft forespørselen din",
        "text": "Hei Åse,\n\nklikk på lenken: https://assemble.no/v/abc",
        "lang": "nb",
        "purpose": "verify",
        **fields,
    }
    with runtime.audit.session() as session:
        return queue(session, **values).id


@pytest.mark.parametrize("path", ["/admin/outbox", "/admin/outbox/1"])
def test_anonymous_visitors_are_sent_to_sign_in(client: TestClient, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    assert response.status_code in (302, 303)
    assert response.headers["location"].startswith("/admin/login")


@pytest.mark.usefixtures("users")
@pytest.mark.parametrize("who", [ADMIN, VIEWER], ids=["admin", "viewer"])
def test_signed_in_users_read_the_outbox(
    client: TestClient, runtime: Runtime, who: tuple[str, str]
) -> None:
    message_id = _queue(runtime, request_id="9b2f3c1e-0000-4000-8000-000000000001")
    _queue(runtime, to="kari@example.no", subject="Rapporten er klar", purpose="report")
    sign_in(client, *who)
    page = client.get("/admin/outbox?lang=nb")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    text = html.unescape(page.text)
    for expected in ("Bekreft forespørselen din", "ase@example.no", "Rapporten er klar", "I kø"):
        assert expected in text
    assert f'href="/admin/outbox/{message_id}"' in page.text
    assert 'href="/admin/outbox"' in page.text  # in the menu
    detail = client.get(f"/admin/outbox/{message_id}?lang=en")
    assert detail.status_code == 200
    body = html.unescape(detail.text)
    assert "klikk på lenken: https://assemble.no/v/abc" in body
    assert "9b2f3c1e-0000-4000-8000-000000000001" in body
    viewed = [e for e in runtime.audit.entries("ase@example.no") if e.action == "mail.viewed"]
    assert len(viewed) == 1  # reading a message is an action on personal data


@pytest.mark.usefixtures("users")
def test_filter_by_status_and_bad_input(client: TestClient, runtime: Runtime) -> None:
    _queue(runtime)
    sign_in(client, *ADMIN)
    assert "Bekreft" in client.get("/admin/outbox?status=queued").text
    assert "Bekreft" not in client.get("/admin/outbox?status=sent").text
    assert client.get("/admin/outbox?status=nonsense").status_code == 400
    assert client.get("/admin/outbox/999999").status_code == 404
    assert client.get("/admin/outbox/abc").status_code == 422


@pytest.mark.usefixtures("users")
def test_the_html_body_is_sandboxed_and_escaped(client: TestClient, runtime: Runtime) -> None:
    message_id = _queue(runtime, html=HOSTILE)
    sign_in(client, *ADMIN)
    page = client.get(f"/admin/outbox/{message_id}")
    assert page.status_code == 200
    # No script from the message is in the page as markup: only escaped, inside srcdoc or
    # the source view.
    assert "<script>" not in page.text
    assert "onerror=" not in page.text.replace("onerror=&#34;", "").replace("onerror=&quot;", "")
    frames = re.findall(r"<iframe[^>]*>", page.text)
    assert len(frames) == 1
    frame = frames[0]
    assert 'sandbox=""' in frame  # no allow-scripts, no allow-same-origin
    srcdoc = re.search(r'srcdoc="([^"]*)"', frame)
    assert srcdoc is not None
    assert html.unescape(srcdoc.group(1)) == HOSTILE  # shown as written, in the sandbox
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp


@pytest.mark.usefixtures("users")
def test_the_html_body_cannot_run_script_in_chromium(
    browser: Any, live_server: Any, runtime: Runtime
) -> None:
    message_id = _queue(runtime, html=HOSTILE)
    page = browser.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    try:
        page.goto(f"{live_server.url}/admin/login")
        page.fill("input[name=email]", ADMIN[0])
        page.fill("input[name=password]", ADMIN[1])
        page.click("form.stacked button[type=submit]")
        page.wait_for_url(f"{live_server.url}/admin")
        page.goto(f"{live_server.url}/admin/outbox/{message_id}")
        frame = page.frame_locator("iframe.mail-html")
        # The message is there, rendered as HTML…
        assert frame.locator("#hei").inner_text() == "Hei Åse"
        page.wait_for_timeout(300)  # time for an onerror handler, were it allowed to run
        # …but nothing in it ran: no dialog, nothing written, the page's title untouched.
        assert frame.locator("body").get_attribute("data-ran") is None
        assert dialogs == []
        assert "pwned" not in page.title()
    finally:
        page.close()
