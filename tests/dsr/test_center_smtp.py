"""From the privacy center's form to a verified, running request, with the verification
e-mail caught by a real SMTP server on loopback."""

from __future__ import annotations

import time

from request_support import (
    Inbox,
    app_client,
    csrf_from,
    free_port,
    smtp_server,
    submit,
    verify_token,
)

from personvern.dsr import requests as lifecycle
from personvern.dsr.listing import list_requests
from personvern.mail.sender import deliver_due
from personvern.runtime import Runtime
from personvern.settings import Settings

KARI = "kari.nordmann@example.no"


def _deliver(runtime: Runtime, inbox: Inbox, count: int) -> None:
    """Send the outbox until the server has ``count`` messages (the app's own background
    sender may get there first; either is fine)."""
    deadline = time.monotonic() + 15
    while len(inbox.received) < count:
        assert time.monotonic() < deadline, "the e-mail did not arrive"
        deliver_due(runtime)
        time.sleep(0.05)


def test_form_smtp_link_verified(settings: Settings) -> None:
    port = free_port()
    mail_settings = settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "smtp_security": "none",
            "mail_from": "Assemble Prosjekt AS <personvern@assemble.no>",
            "base_url": "https://assemble.example",
        }
    )
    runtime = Runtime.open(mail_settings, migrate=False)
    try:
        with smtp_server(port) as inbox, app_client(mail_settings, runtime) as client:
            assert submit(client, "access", email=KARI, name="Kari").status_code == 200
            _deliver(runtime, inbox, 1)
            [message] = inbox.received
            assert message["To"] == KARI
            assert str(message["Subject"]) == "Bekreft forespørselen din om personopplysninger"
            body = message.get_body(("plain",))
            assert body is not None
            text = body.get_content()
            assert "https://assemble.example/privacy/verify/" in text
            token = verify_token(text)
            page = client.get(f"/privacy/verify/{token}")
            confirmed = client.post(
                f"/privacy/verify/{token}",
                data={"csrf_token": csrf_from(page.text)},
                follow_redirects=False,
            )
            assert confirmed.status_code == 303
            _deliver(runtime, inbox, 2)
            received = inbox.received[-1]
            assert str(received["Subject"]) == "Vi har mottatt forespørselen din"
            [row] = list_requests(runtime, status="all")
            request = lifecycle.get(runtime, row.id)
            assert request.verified_at is not None
            # Planned from the inventory and handed to the executor.
            assert request.status in {"running", "waiting", "completed"}
            assert lifecycle.changes_of(request) == {}
    finally:
        runtime.close()
