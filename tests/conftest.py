"""Fixtures shared by every test: a fresh, migrated store per test, on SQLite or PostgreSQL.

``PERSONVERN_TEST_DATABASE_URL`` chooses the backend. Unset, tests run on SQLite files in
a temporary folder. Set to a PostgreSQL URL (``.ci/run`` does), each test gets a database
of its own, cloned from a template migrated once per session, and dropped afterwards.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL, make_url

from personvern.runtime import Runtime
from personvern.settings import Settings
from personvern.store.engine import make_engine
from personvern.store.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
ASSEMBLE = ROOT / "examples" / "assemble" / "privacy.yaml"
TEST_SECRET = "test-secret-key-not-for-production-0123456789"


def _backend_url() -> URL | None:
    raw = os.environ.get("PERSONVERN_TEST_DATABASE_URL", "").strip()
    if not raw or raw.startswith("sqlite"):
        return None
    url = make_url(raw)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url


def _admin_engine(url: URL) -> Engine:
    # CREATE/DROP DATABASE cannot run in a transaction.
    return create_engine(url, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def backend() -> str:
    """``sqlite`` or ``postgresql``: which store this test run is on."""
    return "postgresql" if _backend_url() else "sqlite"


@pytest.fixture(scope="session")
def _template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    base = _backend_url()
    if base is None:
        path = tmp_path_factory.mktemp("template") / "template.sqlite3"
        engine = make_engine(f"sqlite:///{path}")
        upgrade(engine)
        engine.dispose()
        yield str(path)
        return
    name = f"{base.database}_tmpl_{os.getpid()}"
    admin = _admin_engine(base)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(base.set(database=name).render_as_string(hide_password=False))
    upgrade(engine)
    engine.dispose()
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def database_url(_template: str, tmp_path: Path) -> Iterator[str]:
    """A freshly migrated store of this test's own."""
    base = _backend_url()
    if base is None:
        path = tmp_path / "store.sqlite3"
        shutil.copyfile(_template, path)
        yield f"sqlite:///{path}"
        return
    name = f"{base.database}_t_{uuid.uuid4().hex[:12]}"
    admin = _admin_engine(base)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{_template}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        inventory=ASSEMBLE,
        secret_key=SecretStr(TEST_SECRET),
    )


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt = Runtime.open(settings, migrate=False)
    try:
        yield rt
    finally:
        rt.close()


CHROMIUM = "/usr/bin/chromium"
# Flags from running Chromium as root on a machine with no network but loopback: without
# the background-networking ones it keeps trying to reach Google's hosts.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, driven by Playwright (no browser download).

    Module-scoped: Playwright's sync API keeps an event loop running in the main thread
    while it is open, and asyncio tests elsewhere need that thread's loop free.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


class LiveServer:
    """The real app served by uvicorn on a free loopback port, in a thread of this process."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_level="warning", lifespan="on")
        self._server = uvicorn.Server(config)
        self._sock = sock
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True
        )

    def __enter__(self) -> LiveServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the app did not start within 10 s")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()


@pytest.fixture
def live_server(settings: Settings) -> Iterator[LiveServer]:
    from personvern.web.app import create_app

    with LiveServer(create_app(settings)) as server:
        yield server
