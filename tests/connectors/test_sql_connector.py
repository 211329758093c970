"""The sql connector on the demo shop, on SQLite, PostgreSQL and MariaDB.

The shop's dataset has three levels of references (customers → orders → order_lines) plus
identities on four tables; the person's rows are worked out here by hand-written queries,
independently of the connector, and every other row is checksummed before and after.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from conformance import ConnectorConformance, Key, Snapshot, bookkeeping_hold, changes
from sqlalchemy import create_engine, or_, select

from personvern.connectors.base import ErasurePlan, Fatal, Hold, Identity
from personvern.connectors.registry import ConnectorRegistry
from personvern.connectors.sql import SqlConnector, SqlSettings
from personvern.demo.shop import ShopPerson, build_shop, sample_people, shop_metadata

SHOP_DATASET = Path(__file__).resolve().parents[2] / "examples" / "assemble" / "shop_dataset.yml"
SHOP_SIZE = 30
ORDER_HOLD = ("order_number", "created_at", "total", "vat", "billing_name", "billing_address")


def shop_rows(url: str) -> dict[str, dict[str, Any]]:
    """Every row of the shop, by table and id, exactly as stored."""
    md = shop_metadata()
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                name: {str(r.id): r._mapping for r in conn.execute(select(t).order_by(t.c.id))}
                for name, t in md.tables.items()
            }
    finally:
        engine.dispose()


def rows_of(url: str, email: str, customer_id: int | None) -> set[Key]:
    """The person's rows, by plain queries that do not use the connector."""
    t = shop_metadata().tables
    engine = create_engine(url)
    out: set[Key] = set()
    try:
        with engine.connect() as conn:

            def ids(query: Any) -> list[Any]:
                return list(conn.execute(query).scalars())

            by_customer = customer_id if customer_id is not None else -1
            queries = {
                "customers": select(t["customers"].c.id).where(t["customers"].c.email == email),
                "addresses": select(t["addresses"].c.id).where(
                    t["addresses"].c.customer_id == by_customer
                ),
                "orders": select(t["orders"].c.id).where(
                    or_(
                        t["orders"].c.billing_email == email,
                        t["orders"].c.customer_id == by_customer,
                    )
                ),
                "support_tickets": select(t["support_tickets"].c.id).where(
                    or_(
                        t["support_tickets"].c.email == email,
                        t["support_tickets"].c.customer_id == by_customer,
                    )
                ),
                "newsletter_signups": select(t["newsletter_signups"].c.id).where(
                    t["newsletter_signups"].c.email == email
                ),
            }
            found = {name: ids(q) for name, q in queries.items()}
            lines = t["order_lines"]
            found["order_lines"] = (
                ids(select(lines.c.id).where(lines.c.order_id.in_(found["orders"])))
                if found["orders"]
                else []
            )
    finally:
        engine.dispose()
    for name, keys in found.items():
        out |= {(name, str(k)) for k in keys}
    return out


@pytest.fixture
def shop(sql_url: str) -> str:
    build_shop(sql_url, customers=SHOP_SIZE, seed=11)
    return sql_url


@pytest.fixture
def shop_person(shop: str) -> ShopPerson:
    return sample_people(shop, 1)[0]


async def _connector(url: str, **extra: Any) -> SqlConnector:
    return SqlConnector(SqlSettings(url=url, dataset=SHOP_DATASET, **extra))


@pytest.fixture
async def connector(shop: str) -> AsyncIterator[SqlConnector]:
    conn = await _connector(shop)
    yield conn
    await conn.aclose()


@pytest.fixture
def person(shop_person: ShopPerson) -> Identity:
    return Identity(email=shop_person.email)


@pytest.fixture
def expected(shop: str, shop_person: ShopPerson) -> set[Key]:
    return rows_of(shop, shop_person.email, shop_person.customer_id)


@pytest.fixture
def snapshot(shop: str) -> Callable[[], Snapshot]:
    return lambda: shop_rows(shop)


@pytest.fixture
def hold() -> Hold:
    return bookkeeping_hold("orders", ORDER_HOLD)


@pytest.fixture
async def bad_connector(sql_url: str, tmp_path: Path) -> AsyncIterator[SqlConnector]:
    if sql_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'missing.sqlite3'}"
    else:
        url = sql_url.replace("pv_conn_", "pv_missing_")
    conn = await _connector(url)
    yield conn
    await conn.aclose()


class TestSqlConnectorConformance(ConnectorConformance):
    """The kit, on the demo shop, once per database backend."""


# --- what is particular to SQL and to the shop --------------------------------------------


async def test_guest_is_found_by_billing_email_alone(shop: str) -> None:
    guest = sample_people(shop, 1, guests=True)[0]
    conn = await _connector(shop)
    try:
        result = await conn.access(Identity(email=guest.email))
        found = {(r.collection, r.key) for r in result.records}
        assert found == rows_of(shop, guest.email, None)
        assert {c for c, _ in found} >= {"orders", "order_lines"}
        assert all(
            r.fields["customer_id"] is None for r in result.records if r.collection == "orders"
        )
    finally:
        await conn.aclose()


async def test_customer_id_finds_everything_it_leads_to_and_says_what_it_missed(
    shop: str, shop_person: ShopPerson
) -> None:
    conn = await _connector(shop)
    try:
        result = await conn.access(Identity(customer_id=str(shop_person.customer_id)))
        expected = rows_of(shop, "-", shop_person.customer_id)  # by customer id only
        expected |= {("customers", str(shop_person.customer_id))}
        assert {(r.collection, r.key) for r in result.records} == expected
        assert any("newsletter_signups was not searched" in n for n in result.notes)
    finally:
        await conn.aclose()


async def test_records_carry_categories_and_plain_values(
    shop: str, shop_person: ShopPerson
) -> None:
    conn = await _connector(shop)
    try:
        result = await conn.access(Identity(email=shop_person.email))
        order = next(r for r in result.records if r.collection == "orders")
        assert order.categories["billing_email"] == "user.contact.email"
        assert order.categories["total"] == "user.behavior.purchase_history"
        assert isinstance(order.fields["total"], str)  # exact decimal, as text
        assert isinstance(order.fields["created_at"], str)  # ISO 8601
        customer = next(r for r in result.records if r.collection == "customers")
        assert customer.fields["email"] == shop_person.email
    finally:
        await conn.aclose()


async def test_tiny_batches_find_the_same_rows(shop: str, shop_person: ShopPerson) -> None:
    conn = await _connector(shop, batch_size=1)
    try:
        result = await conn.access(Identity(email=shop_person.email))
        assert {(r.collection, r.key) for r in result.records} == rows_of(
            shop, shop_person.email, shop_person.customer_id
        )
    finally:
        await conn.aclose()


async def test_delete_plan_deletes_children_first_and_unlinks_held_orders(
    shop: str, shop_person: ShopPerson
) -> None:
    mine = rows_of(shop, shop_person.email, shop_person.customer_id)
    conn = await _connector(shop)
    try:
        hold = bookkeeping_hold("orders", ORDER_HOLD)
        result = await conn.erase(Identity(email=shop_person.email), ErasurePlan("delete", (hold,)))
    finally:
        await conn.aclose()
    after = shop_rows(shop)
    assert result.deleted.get("customers") == 1
    for collection, key in mine:
        if collection == "orders":
            row = after["orders"][key]
            assert row["customer_id"] is None  # the customer is gone; the order must not point
            assert row["billing_email"] is None
            assert row["billing_name"] is not None  # held
        else:
            assert key not in after[collection]


async def test_anonymized_rows_get_the_datasets_strategies(
    shop: str, shop_person: ShopPerson
) -> None:
    conn = await _connector(shop)
    try:
        await conn.erase(Identity(email=shop_person.email), ErasurePlan("anonymize"))
    finally:
        await conn.aclose()
    customer = shop_rows(shop)["customers"][str(shop_person.customer_id)]
    assert customer["email"].endswith("@slettet.invalid")  # random_string_rewrite + suffix
    assert len(customer["email"]) == 24 + len("@slettet.invalid")
    assert customer["first_name"] == "MASKED"  # NOT NULL: string_rewrite
    assert customer["phone"] is None  # nullable: null_rewrite
    assert customer["registered_at"] is not None  # system.operations: not personal


async def test_rectify_by_category_and_by_field(shop: str, shop_person: ShopPerson) -> None:
    conn = await _connector(shop)
    try:
        who = Identity(email=shop_person.email)
        result = await conn.rectify(who, {"user.contact.phone_number": "+4798765432"})
        assert result.changed.get("customers") == 1
        again = await conn.rectify(who, {"user.contact.phone_number": "+4798765432"})
        assert again.changed == {}
        named = await conn.rectify(who, {"customers.last_name": "Nordmann-Hansen"})
        assert named.changed == {"customers": 1}
        with pytest.raises(Fatal, match="nothing in this dataset is named"):
            await conn.rectify(who, {"customers.shoe_size": "44"})
        with pytest.raises(Fatal, match="cannot be corrected"):
            await conn.rectify(who, {"customers.id": "1"})
    finally:
        await conn.aclose()
    row = shop_rows(shop)["customers"][str(shop_person.customer_id)]
    assert row["phone"] == "+4798765432"
    assert row["last_name"] == "Nordmann-Hansen"


async def test_concurrent_calls_each_get_their_own_person(shop: str) -> None:
    people = sample_people(shop, 3)
    conn = await _connector(shop)
    try:
        results = await asyncio.gather(*(conn.access(Identity(email=p.email)) for p in people))
        for p, result in zip(people, results, strict=True):
            assert {(r.collection, r.key) for r in result.records} == rows_of(
                shop, p.email, p.customer_id
            )
        erased = await asyncio.gather(
            *(conn.erase(Identity(email=p.email), ErasurePlan("anonymize")) for p in people)
        )
        assert all(changes(e) > 0 for e in erased)
    finally:
        await conn.aclose()


async def test_registry_finds_it_and_resolves_url_env(shop: str) -> None:
    registry = ConnectorRegistry.from_entry_points()
    assert "sql" in registry.names()
    conn = registry.build(
        "sql", {"url_env": "SHOP_DB", "dataset": str(SHOP_DATASET)}, environ={"SHOP_DB": shop}
    )
    try:
        await conn.check()
    finally:
        await conn.aclose()


async def test_dataset_that_does_not_match_the_database_is_fatal(shop: str, tmp_path: Path) -> None:
    text = SHOP_DATASET.read_text().replace("name: billing_city", "name: billing_town")
    dataset = tmp_path / "wrong.yml"
    dataset.write_text(text)
    conn = SqlConnector(SqlSettings(url=shop, dataset=dataset))
    try:
        with pytest.raises(Fatal, match="orders has no column 'billing_town'"):
            await conn.check()
    finally:
        await conn.aclose()


async def test_masking_that_does_not_fit_a_column_is_fatal_before_writing(
    shop: str, tmp_path: Path, shop_person: ShopPerson
) -> None:
    text = SHOP_DATASET.read_text().replace(
        "          - name: quantity\n            data_categories: [system.operations]",
        "          - name: quantity\n            data_categories: [user.behavior]",
    )
    dataset = tmp_path / "wrong.yml"
    dataset.write_text(text)
    before = shop_rows(shop)
    conn = SqlConnector(SqlSettings(url=shop, dataset=dataset))
    try:
        with pytest.raises(Fatal, match=r"order_lines\.quantity"):
            await conn.check()
        with pytest.raises(Fatal, match=r"order_lines\.quantity"):
            await conn.erase(Identity(email=shop_person.email), ErasurePlan("anonymize"))
    finally:
        await conn.aclose()
    assert shop_rows(shop) == before


async def test_bad_url_is_fatal() -> None:
    conn = SqlConnector(SqlSettings(url="not a url", dataset=SHOP_DATASET))
    with pytest.raises(Fatal, match="not a SQLAlchemy database URL"):
        await conn.check()


async def test_unreachable_server_is_retriable() -> None:
    from personvern.connectors.base import Retriable

    url = "postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=2"
    conn = SqlConnector(SqlSettings(url=url, dataset=SHOP_DATASET))
    try:
        with pytest.raises(Retriable):
            await conn.check()
    finally:
        await conn.aclose()
