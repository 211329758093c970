"""What the retention tests share: an in-memory system to sweep, a clock, a run helper.

``Memory`` is a small system of collections of rows (dicts), reached by a connector class
bound to it (:func:`memory_connector`): it sweeps the way the contract says (cutoff,
``where``, held fields, excluded people, idempotent), and can be told to fail. It is the
system under test's far side, not personvern's own code, so it is a real part here.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict

from personvern.connectors.base import (
    Capability,
    Connector,
    Fatal,
    Retriable,
    SweepResult,
    SweepRule,
)
from personvern.connectors.manual import ManualConnector
from personvern.connectors.registry import ConnectorRegistry

HERE = Path(__file__).resolve().parent
INVENTORY = HERE / "retention_privacy.yaml"
T = TypeVar("T")


@dataclass
class Memory:
    """The rows of the in-memory systems, by system key and collection, and what to fail."""

    rows: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)
    retriable: dict[str, int] = field(default_factory=dict)  # collection → failures to give
    fatal: set[str] = field(default_factory=set)  # collections that fail for good
    cancel: set[str] = field(default_factory=set)  # collections where the run is cancelled
    calls: list[tuple[str, str, bool]] = field(default_factory=list)  # (system, rule, dry)

    def collection(self, system: str, name: str) -> list[dict[str, Any]]:
        return self.rows.setdefault(system, {}).setdefault(name, [])


class MemorySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    system: str = ""


def memory_connector(memory: Memory) -> type[Connector]:
    """A connector class named ``memory`` that sweeps ``memory``."""

    class MemoryConnector(Connector):
        name: ClassVar[str] = "memory"
        capabilities: ClassVar[frozenset[Capability]] = frozenset({"sweep"})
        Settings: ClassVar[type[BaseModel]] = MemorySettings
        state: ClassVar[Memory] = memory

        async def check(self) -> None:
            return None

        async def sweep(self, rule: SweepRule, *, dry_run: bool = False) -> SweepResult:
            system = self.settings.system  # type: ignore[attr-defined]  # MemorySettings
            self.state.calls.append((system, rule.rule, dry_run))
            if rule.collection in self.state.cancel:
                raise asyncio.CancelledError  # the process is stopping
            if rule.collection in self.state.fatal:
                raise Fatal(f"{rule.collection} is gone; check the system")
            if self.state.retriable.get(rule.collection, 0) > 0:
                self.state.retriable[rule.collection] -= 1
                raise Retriable("busy, try again", retry_after=0.5)
            rows = self.state.collection(system, rule.collection)
            held_fields = {f for hold in rule.holds for f in hold.fields}
            excluded = {i.email for i in rule.exclude if i.email}
            matched = held = deleted = anonymized = 0
            keep: list[dict[str, Any]] = []
            kept_dates = []
            for row in rows:
                when = row.get(rule.date_field)
                expired = (
                    when is not None
                    and when < rule.cutoff
                    and all(str(row.get(k)) in v for k, v in rule.where.items())
                    and not row.get("_anonymized")
                )
                if not expired:
                    keep.append(row)
                    if when is not None:
                        kept_dates.append(when)
                    continue
                matched += 1
                if row.get("email") in excluded:
                    held += 1
                    keep.append(row)
                    kept_dates.append(when)
                    continue
                if rule.action == "delete" and not held_fields:
                    deleted += 1
                    if dry_run:
                        keep.append(row)
                    continue
                anonymized += 1
                keep.append(row)
                if not dry_run:
                    for name in rule.fields or {"email": "null_rewrite"}:
                        if name not in held_fields:
                            row[name] = None
                    row["_anonymized"] = True
            if not dry_run:
                rows[:] = keep
            return SweepResult(
                rule=rule.rule,
                collection=rule.collection,
                matched=matched,
                deleted=0 if dry_run else deleted,
                anonymized=0 if dry_run else anonymized,
                held=held,
                total=len(rows),
                oldest_kept=min(kept_dates) if kept_dates else None,
                samples=tuple({"email": "***"} for _ in range(min(matched - held, 2))),
            )

    return MemoryConnector


def registry_for(memory: Memory) -> ConnectorRegistry:
    return ConnectorRegistry([memory_connector(memory), ManualConnector])


class TestClock:
    """A clock that stands still unless moved; sleeping records the wait and returns."""

    __test__ = False  # not a test class, despite the name

    def __init__(self, now: datetime) -> None:
        self.current = now
        self.slept: list[float] = []

    def now(self) -> datetime:
        return self.current

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.current += timedelta(seconds=seconds)


def at(text: str) -> datetime:
    """An aware UTC datetime from ``YYYY-MM-DD[THH:MM]``."""
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on an event loop of its own, in a thread of its own (see jobs_support)."""
    outcome: list[T] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            outcome.append(asyncio.run(coro))
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=target, name="retention-test-loop")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return outcome[0]


# --- the demo shop, reached by the SQL connector ---------------------------------------------

ASSEMBLE_DIR = HERE.parent.parent / "src" / "personvern" / "demo" / "assemble"
ORDER_MASKS = (
    "billing_email",
    "billing_phone",
    "shipping_name",
    "shipping_address",
    "customer_ip",
    "customer_note",
)
ORDER_STATUSES = ("completed", "refunded", "cancelled")


def shop_inventory(folder: Path) -> Path:
    """The Assemble inventory with retention targets of these tests, written to ``folder``.

    ``order_records`` anonymizes orders three years after their accounting year, while the
    bookkeeping fields stay held for five (the woocommerce system's ``holds`` setting,
    bookkeeping_primary); ``support_cases`` deletes closed tickets. (The Assemble
    inventory itself anonymizes at five years, when the hold has run out too.)
    """
    import shutil

    import yaml

    data = yaml.safe_load((ASSEMBLE_DIR / "privacy.yaml").read_text(encoding="utf-8"))
    targets = {
        "order_records": [
            {
                "system": "woocommerce",
                "collection": "orders",
                "date_field": "created_at",
                "where": {"status": list(ORDER_STATUSES)},
                "fields": dict.fromkeys(ORDER_MASKS, "null_rewrite"),
            }
        ],
        "support_cases": [
            {
                "system": "woocommerce",
                "collection": "support_tickets",
                "date_field": "created_at",
                "where": {"status": ["closed"]},
            }
        ],
    }
    for rule in data["retention"]:
        rule.pop("targets", None)  # only this test's targets
        if rule["key"] in targets:
            rule["targets"] = targets[rule["key"]]
        if rule["key"] == "order_records":
            rule["period"] = "P3Y"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ASSEMBLE_DIR / "shop_dataset.yml", folder / "shop_dataset.yml")
    path = folder / "privacy.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def shop_rows(url: str) -> dict[str, dict[Any, tuple[Any, ...]]]:
    """Every row of the shop: table → primary key → the row's values."""
    from sqlalchemy import MetaData, create_engine, select

    engine = create_engine(url)
    try:
        metadata = MetaData()
        metadata.reflect(engine)
        out: dict[str, dict[Any, tuple[Any, ...]]] = {}
        with engine.connect() as conn:
            for name, table in metadata.tables.items():
                out[name] = {row[0]: tuple(row) for row in conn.execute(select(table))}
        return out
    finally:
        engine.dispose()


def columns(url: str, table: str) -> list[str]:
    from sqlalchemy import create_engine, inspect

    engine = create_engine(url)
    try:
        return [c["name"] for c in inspect(engine).get_columns(table)]
    finally:
        engine.dispose()


# --- the admin, as a browser signs in (as tests/web/web_support.py does) -------------------

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    """The CSRF token of the (first) form on a page."""
    match = _CSRF.search(html)
    assert match, "the page has no form with a csrf_token"
    return match.group(1)


def sign_in(client: Any, email: str, password: str) -> Any:
    form = client.get("/admin/login")
    assert form.status_code == 200, form.text
    data = {"email": email, "password": password, "csrf_token": csrf_from(form.text)}
    return client.post("/admin/login", data=data, follow_redirects=False)
