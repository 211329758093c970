"""List-Unsubscribe headers (RFC 2369, RFC 8058): built right, delivered over real SMTP, and
the URI in them unsubscribes when a mail provider POSTs to it."""

from __future__ import annotations

import re
import smtplib
from collections.abc import Iterator
from email.message import EmailMessage

import httpx
import pytest
from pydantic import SecretStr
from suppression_support import AppServer, Inbox, rows, start_smtp

from personvern.mail import deliver_due, queue
from personvern.runtime import Runtime
from personvern.settings import Settings
from personvern.suppression import add_list_unsubscribe, is_suppressed, list_unsubscribe_headers
from personvern.suppression.tokens import read_token
from personvern.web.app import create_app

SECRET = b"a-secret-key-for-the-header-tests-0123456789"
BASE = "https://assemble.no/personvern"
FROM = "Assemble Prosjekt AS <nyhetsbrev@assemble.no>"
_URIS = re.compile(r"<([^>]+)>")


def _uris(value: str) -> list[str]:
    return _URIS.findall(value)


def test_the_two_fields() -> None:
    fields = list_unsubscribe_headers(
        SECRET, BASE + "/", "Eva@Example.no", list_key="newsletter", mailto="avmelding@assemble.no"
    )
    assert fields["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    https, mailto = _uris(fields["List-Unsubscribe"])
    assert re.fullmatch(r"https://assemble\.no/personvern/unsubscribe/[A-Za-z0-9_-]+", https)
    assert mailto == "mailto:avmelding@assemble.no?subject=unsubscribe"
    assert "eva" not in fields["List-Unsubscribe"].lower()
    token = https.rsplit("/", 1)[1]
    assert read_token(SECRET, token).address == "eva@example.no"
    assert read_token(SECRET, token).list_key == "newsletter"
    assert (
        len(_uris(list_unsubscribe_headers(SECRET, BASE, "eva@example.no")["List-Unsubscribe"]))
        == 1
    )


@pytest.mark.parametrize(
    "mailto", ["no-at", "a@b.no>, <https://evil.example", "a@b.no\r\nBcc: x@y"]
)
def test_a_bad_mailto_is_refused(mailto: str) -> None:
    with pytest.raises(ValueError, match="mailto"):
        list_unsubscribe_headers(SECRET, BASE, "eva@example.no", mailto=mailto)


def test_adding_to_a_message_replaces_old_fields_and_needs_one_recipient() -> None:
    message = EmailMessage()
    message["To"] = "Eva Berg <eva@example.no>"
    message["List-Unsubscribe"] = "<https://old.example/u/1>"
    add_list_unsubscribe(message, SECRET, BASE)
    assert len(message.get_all("List-Unsubscribe") or []) == 1
    assert "old.example" not in str(message["List-Unsubscribe"])
    two = EmailMessage()
    two["To"] = "eva@example.no, ola@example.no"
    with pytest.raises(ValueError, match="one recipient"):
        add_list_unsubscribe(two, SECRET, BASE)


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    box = Inbox()
    controller = start_smtp(box)
    try:
        yield box, int(controller.port)
    finally:
        controller.stop()


@pytest.fixture
def app_server(settings: Settings, runtime: Runtime) -> Iterator[AppServer]:
    with AppServer(create_app(settings, runtime=runtime)) as server:
        yield server


def _one_click(value: str) -> httpx.Response:
    """What Gmail does with the first HTTPS URI: POST the one-click body, no cookies."""
    https = next(u for u in _uris(value) if u.startswith("http"))
    return httpx.post(
        https,
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )


def test_a_newsletter_sent_over_smtp_carries_the_headers_and_its_link_unsubscribes(
    runtime: Runtime, inbox: tuple[Inbox, int], app_server: AppServer
) -> None:
    box, port = inbox
    message = EmailMessage()
    message["From"] = FROM
    message["To"] = "Eva Berg <eva.berg@example.no>"
    message["Subject"] = "Nyhetsbrev: nye byggesett i butikken"
    message.set_content("Hei Eva,\n\nNye byggesett er på lager.\n")
    add_list_unsubscribe(
        message,
        runtime.secret,
        app_server.url,
        list_key="newsletter",
        mailto="avmelding@assemble.no",
    )
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        smtp.send_message(message)

    [received] = box.received
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    value = str(received["List-Unsubscribe"])
    assert value.startswith(f"<{app_server.url}/unsubscribe/")
    assert not is_suppressed(runtime, "eva.berg@example.no")
    response = _one_click(value)
    assert response.status_code == 200
    assert "set-cookie" not in response.headers
    assert is_suppressed(runtime, "eva.berg@example.no")
    [row] = rows(runtime)
    assert (row.list_key, row.source) == ("newsletter", "one_click")


def test_personverns_own_outbox_sends_them_too(
    settings: Settings, runtime: Runtime, inbox: tuple[Inbox, int], app_server: AppServer
) -> None:
    box, port = inbox
    with runtime.sessions() as session:
        queue(
            session,
            to="ola.dahl@example.no",
            subject="Nyhetsbrev",
            text="Hei Ola!",
            headers=list_unsubscribe_headers(runtime.secret, app_server.url, "ola.dahl@example.no"),
            lang="nb",
            purpose="newsletter",
        )
        session.commit()
    sending = settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "smtp_security": "none",
            "mail_from": FROM,
            "smtp_password": SecretStr(""),
        }
    )
    sender = Runtime.open(sending, migrate=False)
    try:
        assert deliver_due(sender).sent == 1
    finally:
        sender.close()
    [received] = box.received
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert _one_click(str(received["List-Unsubscribe"])).status_code == 200
    assert is_suppressed(runtime, "ola.dahl@example.no")
