"""Fixtures shared by every test: a fresh, migrated store per test, on SQLite or PostgreSQL.

``PERSONVERN_TEST_DATABASE_URL`` chooses the backend. Unset, tests run on SQLite files in
a temporary folder. Set to a PostgreSQL URL (``.ci/run`` does), each test gets a database
of its own, cloned from a template migrated once per session, and dropped afterwards.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

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
