"""Helpers for the suppression tests: reading the list and the audit log back, and a real
SMTP server (aiosmtpd) on loopback that keeps what it receives. (A module of its own, not
conftest, so tests can import it.)"""

from __future__ import annotations

import email
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import select

from personvern.runtime import Runtime
from personvern.store.suppressions import Suppression
from personvern.store.tables import AuditEntry


def rows(runtime: Runtime) -> list[Suppression]:
    with runtime.sessions() as session:
        return list(session.scalars(select(Suppression).order_by(Suppression.id)))


def audit_entries(runtime: Runtime, prefix: str = "suppression.") -> list[AuditEntry]:
    return [e for e in runtime.audit.entries() if e.action.startswith(prefix)]


def audit_text(runtime: Runtime) -> str:
    """Every audit entry as one JSON text, to check that no address is in it in clear."""
    return json.dumps(
        [
            [e.actor, e.action, e.subject_key, e.object_type, e.object_id, e.details]
            for e in runtime.audit.entries()
        ]
    )


@dataclass
class Inbox:
    """An aiosmtpd handler that keeps every message it is given."""

    received: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        parsed = email.message_from_bytes(
            bytes(envelope.original_content or b""), policy=policy.default
        )
        assert isinstance(parsed, EmailMessage)
        self.received.append(parsed)
        return "250 2.0.0 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_smtp(inbox: Inbox) -> Controller:
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    return controller


def form(**fields: Any) -> dict[str, str]:
    return {k: str(v) for k, v in fields.items()}


class AppServer:
    """An app served by uvicorn on a free loopback port, in a thread, without its lifespan
    (the background jobs have no part in the answers these tests look at)."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    def __enter__(self) -> AppServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the app did not start within 10 s")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()
