"""The running parts of one installation, built from :class:`Settings` and passed around.

The CLI and ``create_app`` each build one :class:`Runtime`; nothing is global. Tests build
their own with their own settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from personvern.audit.log import AuditLog
from personvern.inventory.schema import Inventory
from personvern.settings import Settings
from personvern.store.engine import make_engine, make_sessionmaker
from personvern.store.migrate import upgrade


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    secret: bytes
    audit: AuditLog
    _inventory: Inventory | None = field(default=None, repr=False)

    @classmethod
    def open(cls, settings: Settings, *, migrate: bool = True) -> Runtime:
        """Connect to the store (migrating it to the latest revision unless told not to)."""
        engine = make_engine(settings.resolved_database_url())
        if migrate:
            upgrade(engine)
        sessions = make_sessionmaker(engine)
        secret = settings.secret_bytes()
        return cls(
            settings=settings,
            engine=engine,
            sessions=sessions,
            secret=secret,
            audit=AuditLog(sessions, secret),
        )

    def inventory(self) -> Inventory:
        """The inventory named by ``PERSONVERN_INVENTORY``, loaded and validated once."""
        if self._inventory is None:
            from personvern.inventory.loader import require_inventory

            if self.settings.inventory is None:
                raise LookupError(
                    "no inventory is configured: set PERSONVERN_INVENTORY to your privacy.yaml"
                )
            self._inventory = require_inventory(Path(self.settings.inventory))
        return self._inventory

    def close(self) -> None:
        self.engine.dispose()
