"""The migrations build exactly the tables the code declares, and can be undone and redone."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from personvern.runtime import Runtime
from personvern.store import load_tables
from personvern.store.base import Base
from personvern.store.migrate import alembic_config, current_revision, head_revision, upgrade


def test_migrations_match_the_declared_tables(runtime: Runtime) -> None:
    load_tables()
    with runtime.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    assert current_revision(runtime.engine) == head_revision(runtime.engine)


def test_downgrade_to_nothing_and_back(runtime: Runtime) -> None:
    load_tables()
    command.downgrade(alembic_config(runtime.engine), "base")
    names = set(inspect(runtime.engine).get_table_names()) - {"alembic_version"}
    assert names == set()
    upgrade(runtime.engine)
    upgrade(runtime.engine)  # a second upgrade is a no-op
    assert set(Base.metadata.tables) <= set(inspect(runtime.engine).get_table_names())


def test_sqlite_store_uses_wal(runtime: Runtime, backend: str) -> None:
    if backend != "sqlite":
        pytest.skip("WAL is a SQLite setting")
    with runtime.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
