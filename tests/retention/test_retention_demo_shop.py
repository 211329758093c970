"""Issue 7's test: the demo shop, aged by a clock we control, loses exactly what the rules say.

The shop (``build_shop``, 40 customers) is reached by the real SQL connector, on SQLite and,
when the run is on PostgreSQL, also in a PostgreSQL database of its own; the store is the
run's. Before and after, every row of every table is read: rows the rules name change
exactly in the fields they name, held people and bookkeeping fields stay, every other row
is unchanged, and a second run changes nothing.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from retention_support import (
    ORDER_MASKS,
    ORDER_STATUSES,
    TestClock,
    at,
    columns,
    run_async,
    shop_inventory,
    shop_rows,
)
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from personvern.connectors.registry import ConnectorRegistry
from personvern.demo.shop import build_shop
from personvern.retention.engine import RetentionEngine, RunOutcome
from personvern.runtime import Runtime
from personvern.settings import Settings
from personvern.store.requests import DataRequest

NOW = at("2026-03-01T12:00")
OSLO = ZoneInfo("Europe/Oslo")
# The shop's dates are Oslo wall-clock time without a zone.
ORDER_CUTOFF = datetime(2023, 1, 1)  # P3Y from the end of the accounting year
TICKET_CUTOFF = datetime(2025, 3, 1, 13, 0)  # P1Y from the case: 12:00 UTC is 13:00 in Oslo


@pytest.fixture(scope="module")
def sqlite_shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("shop") / "shop.sqlite3"
    build_shop(f"sqlite:///{path}", customers=40)
    return path


def _pg_base() -> Any:
    raw = os.environ.get("PERSONVERN_TEST_DATABASE_URL", "").strip()
    if not raw or raw.startswith("sqlite"):
        return None
    return make_url(raw).set(drivername="postgresql+psycopg")


@pytest.fixture(params=["sqlite", "postgresql"])
def shop_url(request: pytest.FixtureRequest, sqlite_shop: Path, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        copy = tmp_path / "shop.sqlite3"
        shutil.copyfile(sqlite_shop, copy)
        yield f"sqlite:///{copy}"
        return
    base = _pg_base()
    if base is None:
        pytest.skip("the PostgreSQL shop needs PERSONVERN_TEST_DATABASE_URL")
    name = f"{base.database}_shop_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    try:
        build_shop(url, customers=40)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def shop_runtime(settings: Settings, tmp_path: Path) -> Iterator[Runtime]:
    inventory = shop_inventory(tmp_path / "inventory")
    # A shop that lets one run change at most a tenth of a table without confirmation.
    changed = settings.model_copy(update={"inventory": inventory, "retention_max_share": 0.1})
    rt = Runtime.open(changed, migrate=False)
    try:
        yield rt
    finally:
        rt.close()


def _naive(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(OSLO).replace(tzinfo=None)
    return value


def _sweep(runtime: Runtime, url: str, **kwargs: Any) -> RunOutcome:
    engine = RetentionEngine(
        runtime,
        ConnectorRegistry.from_entry_points(),
        clock=TestClock(NOW),
        environ={"SHOP_DATABASE_URL": url},
    )
    return run_async(engine.run(now=NOW, trigger="cli", actor="test", **kwargs))


def test_the_aged_shop_loses_exactly_what_the_rules_say(
    shop_runtime: Runtime, shop_url: str
) -> None:
    before = shop_rows(shop_url)
    order_cols = columns(shop_url, "orders")
    ticket_cols = columns(shop_url, "support_tickets")
    customer_cols = columns(shop_url, "customers")
    o = {name: order_cols.index(name) for name in order_cols}
    t = {name: ticket_cols.index(name) for name in ticket_cols}

    def expired_order(row: tuple[Any, ...]) -> bool:
        return _naive(row[o["created_at"]]) < ORDER_CUTOFF and row[o["status"]] in ORDER_STATUSES

    # The person with an open request: a customer with an expired order.
    held = next(
        row for row in before["orders"].values() if expired_order(row) and row[o["customer_id"]]
    )
    held_id = held[o["customer_id"]]
    held_email = before["customers"][held_id][customer_cols.index("email")]
    with shop_runtime.sessions() as db, db.begin():
        db.add(
            DataRequest(
                id=str(uuid.uuid4()),
                kind="access",
                status="running",
                email=held_email,
                email_key=shop_runtime.audit.subject_key(held_email),
                lang="nb",
                channel="form",
                received_at=NOW,
                due_at=NOW,
            )
        )

    def is_held(email: Any, customer_id: Any) -> bool:
        return email == held_email or customer_id == held_id

    orders_to_mask = {
        key
        for key, row in before["orders"].items()
        if expired_order(row) and not is_held(row[o["billing_email"]], row[o["customer_id"]])
    }
    tickets_to_delete = {
        key
        for key, row in before["support_tickets"].items()
        if _naive(row[t["created_at"]]) < TICKET_CUTOFF
        and row[t["status"]] == "closed"
        and not is_held(row[t["email"]], row[t["customer_id"]])
    }
    assert orders_to_mask
    assert tickets_to_delete

    # More than a tenth of the orders and tickets have expired: the rules wait, and
    # nothing changes until they are confirmed.
    limit = shop_runtime.settings.retention_max_share
    assert len(orders_to_mask) / len(before["orders"]) > limit
    assert len(tickets_to_delete) / len(before["support_tickets"]) > limit
    waiting = _sweep(shop_runtime, shop_url, dry_run=False)
    assert waiting.needs_confirmation == ("order_records", "support_cases")
    assert shop_rows(shop_url) == before

    outcome = _sweep(shop_runtime, shop_url, dry_run=False, confirm=True)
    assert outcome.status == "ok", [o_.error for o_ in outcome.outcomes]
    orders, tickets = outcome.outcomes
    assert orders.result is not None
    assert tickets.result is not None
    assert orders.result.anonymized == len(orders_to_mask)
    assert orders.result.held >= 1
    assert tickets.result.deleted == len(tickets_to_delete)

    after = shop_rows(shop_url)
    masked = {o[name] for name in ORDER_MASKS}
    for key, row in before["orders"].items():
        new = after["orders"][key]
        if key in orders_to_mask:
            # The named fields are gone; every other field, bookkeeping included, is kept.
            assert all(new[i] is None for i in masked), key
            assert [v for i, v in enumerate(new) if i not in masked] == [
                v for i, v in enumerate(row) if i not in masked
            ], key
        else:
            assert new == row, key
    assert set(after["support_tickets"]) == set(before["support_tickets"]) - tickets_to_delete
    for table, rows in before.items():
        if table not in ("orders", "support_tickets"):
            assert after[table] == rows, table  # nothing outside the rules changed
    for key in set(before["support_tickets"]) - tickets_to_delete:
        assert after["support_tickets"][key] == before["support_tickets"][key]

    # A second run changes nothing.
    again = _sweep(shop_runtime, shop_url, dry_run=False, confirm=True)
    assert [(r.result.deleted, r.result.anonymized) for r in again.outcomes if r.result] == [
        (0, 0),
        (0, 0),
    ]
    assert shop_rows(shop_url) == after
