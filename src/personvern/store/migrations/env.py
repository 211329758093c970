"""Alembic environment: the engine comes from ``personvern.store.migrate``, never a URL here."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from personvern.store import load_tables
from personvern.store.base import Base

load_tables()
engine = context.config.attributes.get("engine")
if not isinstance(engine, Engine):
    raise RuntimeError("run migrations through personvern.store.migrate.upgrade(engine)")

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
