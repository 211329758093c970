"""Scratch databases for the connector tests: SQLite, PostgreSQL and MariaDB, every run.

The sql connector must work on all three (issue 4), so each test that takes ``sql_url``
runs once per backend, on a database of its own that is dropped afterwards. PostgreSQL is
the server of ``PERSONVERN_TEST_DATABASE_URL`` when that names one, else 127.0.0.1:5432;
MariaDB is root on 127.0.0.1:3306. A server that does not answer skips its tests, saying so.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

BACKENDS = ("sqlite", "postgresql", "mariadb")


def _postgres_base() -> URL:
    raw = os.environ.get("PERSONVERN_TEST_DATABASE_URL", "").strip()
    if raw and not raw.startswith("sqlite"):
        url = make_url(raw)
    else:
        url = make_url("postgresql://postgres@127.0.0.1:5432/postgres")
    return url.set(drivername="postgresql+psycopg")


def _mariadb_base() -> URL:
    return make_url("mysql+pymysql://root@127.0.0.1:3306/")


@cache
def _unavailable(backend: str) -> str | None:
    """Why ``backend`` cannot be tested here, or None when it can."""
    if backend == "sqlite":
        return None
    if backend == "mariadb":
        try:
            import pymysql  # noqa: F401
        except ImportError:
            return "PyMySQL is not installed: pip install 'personvern[mysql]'"
    base = _postgres_base() if backend == "postgresql" else _mariadb_base()
    args = {"connect_timeout": 3}
    try:
        engine = create_engine(base, connect_args=args)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # any failure to connect means: skip, and say why
        where = base.render_as_string(hide_password=True)
        return f"{backend} at {where} does not answer ({type(exc).__name__}); start it to test"
    return None


@pytest.fixture(params=BACKENDS)
def sql_backend(request: pytest.FixtureRequest) -> str:
    backend: str = request.param
    reason = _unavailable(backend)
    if reason:
        pytest.skip(reason)
    return backend


@pytest.fixture
def sql_url(sql_backend: str, tmp_path: Path) -> Iterator[str]:
    """An empty database of this test's own on the backend, as a SQLAlchemy URL."""
    if sql_backend == "sqlite":
        path = tmp_path / "system.sqlite3"
        path.touch()
        yield f"sqlite:///{path}"
        return
    name = f"pv_conn_{uuid.uuid4().hex[:12]}"
    if sql_backend == "postgresql":
        base = _postgres_base()
        create = f'CREATE DATABASE "{name}"'
        drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
        url = base.set(database=name)
    else:
        base = _mariadb_base()
        create = f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        drop = f"DROP DATABASE IF EXISTS `{name}`"
        url = base.set(database=name, query={"charset": "utf8mb4"})
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(create))
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(drop))
        admin.dispose()
