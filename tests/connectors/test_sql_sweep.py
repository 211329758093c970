"""The sql connector's retention sweep on the demo shop, on SQLite, PostgreSQL and MariaDB.

What should change is worked out by plain queries, independently of the connector; every
row of every table is compared before and after, so a row the rule does not cover that
changed at all fails the test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, create_engine, select, text

from personvern.connectors.base import ConnectorError, Hold, Identity, SweepRule
from personvern.connectors.sql import SqlConnector, SqlSettings
from personvern.demo.shop import build_shop, shop_metadata

SHOP_DATASET = Path(__file__).resolve().parents[2] / "examples" / "assemble" / "shop_dataset.yml"
OSLO = ZoneInfo("Europe/Oslo")
CUTOFF = datetime(2021, 1, 1, tzinfo=OSLO)
DONE = ("completed", "refunded", "cancelled")
MASKED = ("billing_email", "billing_phone", "shipping_name", "shipping_address", "customer_ip")
Rows = dict[str, dict[Any, dict[str, Any]]]


@pytest.fixture
def shop(sql_url: str) -> str:
    build_shop(sql_url, customers=40)
    return sql_url


@pytest.fixture
def engine(shop: str) -> Iterator[Engine]:
    made = create_engine(shop)
    yield made
    made.dispose()


def connect(url: str, batch_size: int = 25) -> SqlConnector:
    return SqlConnector(SqlSettings(url=url, dataset=SHOP_DATASET, batch_size=batch_size))


@pytest.fixture
async def connector(shop: str) -> AsyncIterator[SqlConnector]:
    made = connect(shop)
    yield made
    await made.aclose()


def everything(engine: Engine) -> Rows:
    """Every row of the shop, by table and id, as stored."""
    with engine.connect() as conn:
        return {
            name: {r.id: dict(r._mapping) for r in conn.execute(select(t).order_by(t.c.id))}
            for name, t in shop_metadata().tables.items()
        }


def changed(before: Rows, after: Rows) -> dict[str, set[Any]]:
    out: dict[str, set[Any]] = {}
    for name, rows in before.items():
        ids = {i for i, row in rows.items() if after[name].get(i) != row}
        ids |= set(after[name]) - set(rows)
        if ids:
            out[name] = ids
    return out


def expired_orders(rows: Rows) -> set[Any]:
    cutoff = CUTOFF.replace(tzinfo=None)
    return {
        i
        for i, row in rows["orders"].items()
        if row["created_at"] < cutoff
        and row["status"] in DONE
        and any(row[f] is not None for f in MASKED)
    }


def order_rule(**extra: Any) -> SweepRule:
    values: dict[str, Any] = {
        "rule": "order_records",
        "collection": "orders",
        "date_field": "created_at",
        "cutoff": CUTOFF,
        "action": "anonymize",
        "fields": dict.fromkeys(MASKED, "null_rewrite"),
        "where": {"status": DONE},
        **extra,
    }
    return SweepRule(**values)


async def test_anonymize_changes_exactly_the_expired_rows_and_only_once(
    connector: SqlConnector, engine: Engine
) -> None:
    before = everything(engine)
    expected = expired_orders(before)
    assert 10 < len(expected) < len(before["orders"])  # the shop has both kinds

    plan = await connector.sweep(order_rule(), dry_run=True)
    assert everything(engine) == before
    assert plan.matched == len(expected)
    assert plan.anonymized == 0
    assert plan.total == len(before["orders"])

    result = await connector.sweep(order_rule())
    after = everything(engine)
    assert changed(before, after) == {"orders": expected}
    assert result.matched == result.anonymized == len(expected)
    for i in expected:
        row = after["orders"][i]
        assert all(row[f] is None for f in MASKED)
        untouched = set(row) - set(MASKED)
        assert {k: row[k] for k in untouched} == {k: before["orders"][i][k] for k in untouched}
    kept = [r["created_at"] for r in before["orders"].values() if r["status"] in DONE]
    assert result.oldest_kept == min(d for d in kept if d >= CUTOFF.replace(tzinfo=None)).replace(
        tzinfo=OSLO
    )

    again = await connector.sweep(order_rule())
    assert (again.matched, again.anonymized) == (0, 0)
    assert everything(engine) == after


async def test_a_dry_run_samples_with_every_value_masked(connector: SqlConnector) -> None:
    plan = await connector.sweep(order_rule(), dry_run=True)
    assert len(plan.samples) == 3
    for sample in plan.samples:
        assert set(sample) >= {"id", "created_at", *MASKED}
        assert set(sample.values()) <= {"•••", ""}


async def test_people_under_a_legal_hold_are_counted_as_held_and_untouched(
    connector: SqlConnector, engine: Engine
) -> None:
    before = everything(engine)
    expected = expired_orders(before)
    by_email: dict[str, set[Any]] = {}
    for i in expected:
        by_email.setdefault(before["orders"][i]["billing_email"], set()).add(i)
    email, theirs = max(by_email.items(), key=lambda item: len(item[1]))
    # Their orders are found by e-mail and through their customer account.
    customer = next((c for c in before["customers"].values() if c["email"] == email), {"id": None})
    theirs |= {
        i
        for i in expected
        if customer["id"] is not None and before["orders"][i]["customer_id"] == customer["id"]
    }

    result = await connector.sweep(order_rule(exclude=(Identity(email=email),)))
    assert result.held == len(theirs)
    assert result.anonymized == len(expected - theirs)
    assert changed(before, everything(engine)) == {"orders": expected - theirs}


async def test_held_fields_are_never_masked(connector: SqlConnector, engine: Engine) -> None:
    before = everything(engine)
    hold = Hold("orders", ("billing_email",), "bokføringsloven § 13", None)
    result = await connector.sweep(order_rule(holds=(hold,)))
    after = everything(engine)
    assert all(
        after["orders"][i]["billing_email"] == r["billing_email"]
        for i, r in before["orders"].items()
    )
    assert any("billing_email" in note for note in result.notes)


async def test_a_strategy_with_its_own_idempotence_is_resumable(
    connector: SqlConnector, engine: Engine
) -> None:
    rule = order_rule(fields={"billing_email": "random_string_rewrite", "customer_ip": "hmac"})
    with pytest.raises(ConnectorError, match="hmac"):
        await connector.sweep(rule)  # no key set: refused before anything is written
    rule = order_rule(fields={"billing_email": "random_string_rewrite"})
    before = everything(engine)
    first = await connector.sweep(rule)
    after = everything(engine)
    assert first.anonymized == len(
        {i for i in expired_orders(before) if before["orders"][i]["billing_email"] is not None}
    )
    second = await connector.sweep(rule)
    assert (second.matched, second.anonymized) == (0, 0)
    assert everything(engine) == after


async def test_delete_takes_required_children_and_unlinks_the_rest(
    connector: SqlConnector, engine: Engine
) -> None:
    before = everything(engine)
    cutoff = CUTOFF.replace(tzinfo=None)
    gone = {i for i, c in before["customers"].items() if c["registered_at"] < cutoff}
    assert gone
    rule = SweepRule(
        rule="customer_accounts",
        collection="customers",
        date_field="registered_at",
        cutoff=CUTOFF,
        action="delete",
    )
    result = await connector.sweep(rule)
    after = everything(engine)
    assert result.deleted == len(gone)
    assert set(after["customers"]) == set(before["customers"]) - gone
    addresses = {i for i, a in before["addresses"].items() if a["customer_id"] in gone}
    assert set(after["addresses"]) == set(before["addresses"]) - addresses
    for table in ("orders", "support_tickets"):
        for i, row in before[table].items():
            expected = dict(row, customer_id=None) if row["customer_id"] in gone else row
            assert after[table][i] == expected
    assert after["order_lines"] == before["order_lines"]
    assert after["newsletter_signups"] == before["newsletter_signups"]
    assert (await connector.sweep(rule)).matched == 0


async def test_a_held_child_keeps_its_parent(connector: SqlConnector, engine: Engine) -> None:
    before = everything(engine)
    cutoff = CUTOFF.replace(tzinfo=None)
    expired = {i for i, c in before["customers"].items() if c["registered_at"] < cutoff}
    with_tickets = {t["customer_id"] for t in before["support_tickets"].values()} & expired
    assert with_tickets
    rule = SweepRule(
        rule="customer_accounts",
        collection="customers",
        date_field="registered_at",
        cutoff=CUTOFF,
        action="delete",
        holds=(Hold("support_tickets", ("customer_id",), "a complaint", None),),
    )
    result = await connector.sweep(rule)
    after = everything(engine)
    assert set(after["customers"]) == set(before["customers"]) - (expired - with_tickets)
    assert after["support_tickets"] == before["support_tickets"]
    assert result.deleted == len(expired - with_tickets)
    assert any("kept" in note for note in result.notes)


async def test_a_delete_on_a_held_collection_anonymizes_instead(
    connector: SqlConnector, engine: Engine
) -> None:
    hold = Hold("orders", ("order_number", "billing_name"), "bokføringsloven § 13", None)
    rule = SweepRule(
        rule="orders_gone",
        collection="orders",
        date_field="created_at",
        cutoff=CUTOFF,
        action="delete",
        holds=(hold,),
    )
    before = everything(engine)
    result = await connector.sweep(rule)
    after = everything(engine)
    assert result.deleted == 0
    assert result.anonymized > 0
    assert set(after["orders"]) == set(before["orders"])
    assert all(
        after["orders"][i]["billing_name"] == r["billing_name"] for i, r in before["orders"].items()
    )


TRIGGERS = {
    "sqlite": [
        "CREATE TRIGGER pv_fail BEFORE UPDATE ON orders WHEN OLD.id = {id} "
        "BEGIN SELECT RAISE(ABORT, 'refused by a test trigger'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION pv_fail() RETURNS trigger AS $$ BEGIN IF OLD.id = {id} THEN "
        "RAISE EXCEPTION 'refused by a test trigger'; END IF; RETURN NEW; END $$ "
        "LANGUAGE plpgsql",
        "CREATE TRIGGER pv_fail BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION pv_fail()",
    ],
    "mariadb": [
        "CREATE TRIGGER pv_fail BEFORE UPDATE ON orders FOR EACH ROW BEGIN IF OLD.id = {id} "
        "THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused by a test trigger'; "
        "END IF; END"
    ],
}


async def test_a_failing_batch_rolls_back_and_a_later_run_finishes(
    shop: str, engine: Engine, sql_backend: str
) -> None:
    before = everything(engine)
    expected = sorted(expired_orders(before))
    poisoned = expected[len(expected) // 2]  # a batch in the middle
    with engine.begin() as conn:
        for statement in TRIGGERS[sql_backend]:
            conn.execute(text(statement.format(id=poisoned)))
    connector = connect(shop, batch_size=5)
    try:
        with pytest.raises(ConnectorError, match="retention rule order_records"):
            await connector.sweep(order_rule())
        partial = changed(before, everything(engine)).get("orders", set())
        # Whole batches before the failing one are done; nothing from it or after it is.
        batch_start = expected.index(poisoned) - expected.index(poisoned) % 5
        assert partial == set(expected[:batch_start])
        with engine.begin() as conn:
            conn.execute(
                text("DROP TRIGGER pv_fail" + (" ON orders" if sql_backend == "postgresql" else ""))
            )
        result = await connector.sweep(order_rule())
        assert result.anonymized == len(expected) - batch_start
        assert changed(before, everything(engine)) == {"orders": set(expected)}
    finally:
        await connector.aclose()
