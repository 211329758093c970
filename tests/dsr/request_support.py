"""Helpers for the request tests: the app on the test's store, forms filled in as a browser
would, the outbox read back, a real SMTP server. (A module, not conftest, so the tests of
other capabilities in this folder are not affected; each test module imports what it uses.)
"""

from __future__ import annotations

import email
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from personvern.runtime import Runtime
from personvern.settings import Settings
from personvern.store.mail import OutboxMessage
from personvern.web.admin.users import create_user
from personvern.web.app import create_app

ADMIN_EMAIL = "eier@assemble.no"
ADMIN_PASSWORD = "korrekt hest batteri stift"
VIEWER_EMAIL = "regnskap@assemble.no"
VIEWER_PASSWORD = "en annen lang passordfrase"

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_VERIFY = re.compile(r"/privacy/verify/([A-Za-z0-9_-]{43}\.[0-9a-f]{32})")
_STATUS = re.compile(r"/privacy/status/([A-Za-z0-9_-]{43}\.[0-9a-f]{32})")


@contextmanager
def app_client(settings: Settings, runtime: Runtime, **overrides: Any) -> Iterator[TestClient]:
    """A TestClient on the real app, with ``overrides`` applied to the settings."""
    changed = settings.model_copy(update=overrides) if overrides else settings
    rt = Runtime.open(changed, migrate=False) if overrides else runtime
    try:
        with TestClient(create_app(changed, runtime=rt)) as client:
            yield client
    finally:
        if overrides:
            rt.close()


def csrf_from(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "the page has no form with a csrf_token"
    return match.group(1)


def submit(client: TestClient, kind: str, query: str = "", **fields: str) -> Any:
    """Open a request form and send it, as a browser would."""
    page = client.get(f"/privacy/request/{kind}{query}")
    assert page.status_code == 200, page.text
    data = {"csrf_token": csrf_from(page.text), **fields}
    return client.post(f"/privacy/request/{kind}{query}", data=data, follow_redirects=False)


def messages(runtime: Runtime, purpose: str | None = None) -> list[OutboxMessage]:
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    if purpose is not None:
        query = query.where(OutboxMessage.purpose == purpose)
    with runtime.sessions() as db:
        return list(db.scalars(query))


def verify_token(text: str) -> str:
    match = _VERIFY.search(text)
    assert match, f"no verification link in: {text}"
    return match.group(1)


def status_token(text: str) -> str:
    match = _STATUS.search(text)
    assert match, f"no status link in: {text}"
    return match.group(1)


def add_users(runtime: Runtime) -> None:
    create_user(runtime, ADMIN_EMAIL, ADMIN_PASSWORD, "admin")
    create_user(runtime, VIEWER_EMAIL, VIEWER_PASSWORD, "viewer")


def sign_in(client: TestClient, email_address: str, password: str) -> None:
    form = client.get("/admin/login")
    data = {"email": email_address, "password": password, "csrf_token": csrf_from(form.text)}
    response = client.post("/admin/login", data=data, follow_redirects=False)
    assert response.status_code == 303, response.text


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Inbox:
    """An aiosmtpd handler that keeps every message it receives."""

    received: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.received.append(parsed)
        return "250 OK"


@contextmanager
def smtp_server(port: int) -> Iterator[Inbox]:
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()
