"""The store: SQLAlchemy tables, Alembic migrations and the engine/session factory.

Each capability declares its tables in a module of its own here (``tables``, ``requests``,
``consents``, …). :func:`load_tables` imports them all, so the metadata Alembic compares
against is complete without a list to keep in step.
"""

from __future__ import annotations

import importlib
import pkgutil

_NOT_TABLES = frozenset({"base", "engine", "migrate", "migrations"})


def load_tables() -> None:
    """Import every table module of the store, registering its tables on the metadata."""
    for module in pkgutil.iter_modules(__path__):
        if module.name not in _NOT_TABLES:
            importlib.import_module(f"{__name__}.{module.name}")
