"""Helpers for the mail tests: a real SMTP server (aiosmtpd) on loopback that keeps what it
receives, and signing in to the admin as a browser would. (A module of its own, not
conftest, so tests can import it.)"""

from __future__ import annotations

import email
import re
import socket
import ssl
import time
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from fastapi.testclient import TestClient

MAIL_FROM = "Assemble Prosjekt AS <personvern@assemble.no>"
SMTP_USER = "personvern"
SMTP_PASSWORD = "smtp passord med æøå"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def free_port() -> int:
    """A loopback port nothing listens on (bound and released: good enough for tests)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Received:
    """One message as the SMTP server got it: the envelope and the parsed message."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage
    authenticated: bool


@dataclass
class Inbox:
    """An aiosmtpd handler that keeps every message.

    Recipients whose local part starts with ``refuse`` get a permanent 550, ``later`` a
    temporary 451 (RFC 5321 §4.2.1), so the sender's two kinds of failure can be tested.
    """

    received: list[Received] = field(default_factory=list)
    delay: float = 0.0

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address.startswith("refuse"):
            return "550 5.1.1 No such user here"
        if address.startswith("later"):
            return "451 4.3.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.delay:
            time.sleep(self.delay)  # hold the sender a moment, so concurrent ones overlap
        raw = bytes(envelope.original_content or b"")
        parsed = email.message_from_bytes(raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.received.append(
            Received(
                str(envelope.mail_from),
                list(envelope.rcpt_tos),
                raw,
                parsed,
                bool(session.authenticated),
            )
        )
        return "250 2.0.0 Message accepted for delivery"

    def message_ids(self) -> list[str]:
        return [str(r.message["Message-ID"]) for r in self.received]


class Authenticator:
    """Accepts exactly :data:`SMTP_USER` / :data:`SMTP_PASSWORD`."""

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == SMTP_USER
            and auth_data.password.decode() == SMTP_PASSWORD
        )
        return AuthResult(success=ok, handled=False)


def start_server(
    inbox: Inbox,
    port: int,
    *,
    security: str = "none",
    tls: ssl.SSLContext | None = None,
    smtputf8: bool = True,
) -> Controller:
    """An SMTP server on 127.0.0.1:``port``; with TLS (and then AUTH) if asked, and with
    or without SMTPUTF8."""
    kwargs: dict[str, Any] = {}
    if security == "starttls":
        kwargs = {
            "tls_context": tls,
            "require_starttls": True,
            "authenticator": Authenticator(),
            "auth_required": True,
        }
    elif security == "ssl":
        # aiosmtpd cannot tell that an implicit-TLS connection is encrypted, so it offers
        # AUTH there only with auth_require_tls=False; requiring AUTH as well would make it
        # warn about plain-text AUTH, which this is not. Wrong credentials still fail.
        kwargs = {
            "ssl_context": tls,
            "authenticator": Authenticator(),
            "auth_require_tls": False,
        }
    kwargs["enable_SMTPUTF8"] = smtputf8  # RFC 6531; aiosmtpd's Controller offers it unasked
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    return controller


def sign_in(client: TestClient, email_address: str, password: str) -> None:
    """Open the sign-in form and post it, as a browser would."""
    form = client.get("/admin/login")
    match = _CSRF.search(form.text)
    assert match, "the sign-in page has no CSRF token"
    response = client.post(
        "/admin/login",
        data={"email": email_address, "password": password, "csrf_token": match.group(1)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
