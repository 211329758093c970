"""Fixtures for the mail tests: a real SMTP server on loopback, settings that point at it,
and a runtime on the test's own store (SQLite or PostgreSQL).

``smtp_port`` is a free port; ``inbox`` starts an SMTP server there, and a test that needs
the server to be down starts it later (or never) with :func:`mail_support.start_server`.
"""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from mail_support import MAIL_FROM, Inbox, free_port, start_server

from personvern.runtime import Runtime
from personvern.settings import Settings


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def mail_settings(settings: Settings, smtp_port: int) -> Settings:
    """The test's settings with SMTP on loopback, plain (the server is on this machine)."""
    return settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_port,
            "smtp_security": "none",
            "mail_from": MAIL_FROM,
        }
    )


@pytest.fixture
def mail_runtime(mail_settings: Settings) -> Iterator[Runtime]:
    rt = Runtime.open(mail_settings, migrate=False)
    try:
        yield rt
    finally:
        rt.close()


@pytest.fixture
def inbox(smtp_port: int) -> Iterator[Inbox]:
    """An SMTP server on ``smtp_port`` that keeps what it receives."""
    box = Inbox()
    controller = start_server(box, smtp_port)
    try:
        yield box
    finally:
        controller.stop()


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (cert, key), made with the openssl tool."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


@pytest.fixture
def server_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


@pytest.fixture
def client_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    """What a sender trusts: only the test certificate, with the host name checked."""
    return ssl.create_default_context(cafile=str(certificate[0]))
