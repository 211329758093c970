"""A connector for the kill tests: erases in a SQLite "ledger" the test reads, and can wait.

It is installed the way any third-party connector is: the test writes a ``.dist-info`` with
an entry point in the ``personvern.connectors`` group and puts it on ``PYTHONPATH`` of the
worker it starts, so the worker finds it with ``ConnectorRegistry.from_entry_points()``.

Each call is written to the ledger when it starts and when it ends, and the erasure itself
is idempotent (``erased = 1`` only where it was 0), so the test can count both the attempts
and the effects: an attempt killed half-way shows as started, never finished.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel

from personvern.connectors.base import Capability, Connector, ErasurePlan, ErasureResult, Identity


class LedgerSettings(BaseModel):
    ledger: str
    system: str
    gate: str | None = None  # the erasure waits until this file exists


def create_ledger(path: Path, systems: list[str], email: str) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE people (system TEXT, email TEXT, erased INTEGER DEFAULT 0)")
        db.execute(
            "CREATE TABLE calls (id INTEGER PRIMARY KEY, system TEXT, pid INTEGER,"
            " finished INTEGER DEFAULT 0, applied INTEGER)"
        )
        db.executemany(
            "INSERT INTO people (system, email) VALUES (?, ?)", [(s, email) for s in systems]
        )


def _begin(path: str, system: str) -> int:
    with sqlite3.connect(path, timeout=30) as db:
        cursor = db.execute("INSERT INTO calls (system, pid) VALUES (?, ?)", (system, os.getpid()))
        assert cursor.lastrowid is not None
        return cursor.lastrowid


def _apply(path: str, system: str, email: str, call: int) -> int:
    with sqlite3.connect(path, timeout=30) as db:
        applied = db.execute(
            "UPDATE people SET erased = 1 WHERE system = ? AND email = ? AND erased = 0",
            (system, email),
        ).rowcount
        db.execute("UPDATE calls SET finished = 1, applied = ? WHERE id = ?", (applied, call))
        return applied


class LedgerConnector(Connector):
    name: ClassVar[str] = "ledger_test"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({"erase"})
    Settings: ClassVar[type[BaseModel]] = LedgerSettings

    async def check(self) -> None:
        return None

    async def erase(self, identity: Identity, plan: ErasurePlan) -> ErasureResult:
        settings = self.settings
        assert isinstance(settings, LedgerSettings)
        assert identity.email is not None
        call = await asyncio.to_thread(_begin, settings.ledger, settings.system)
        if settings.gate is not None:
            while not Path(settings.gate).exists():
                await asyncio.sleep(0.05)
        applied = await asyncio.to_thread(
            _apply, settings.ledger, settings.system, identity.email, call
        )
        return ErasureResult(deleted={"people": applied})
