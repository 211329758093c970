"""The demo shop's database: a synthetic WooCommerce-like shop for Assemble Prosjekt AS.

Tables, modelled on what WooCommerce keeps (``wp_users`` + ``wc_customer_lookup``,
``wc_orders`` with its billing fields, order items, support and newsletter plug-ins):

- ``customers`` — registered accounts;
- ``addresses`` → ``customers`` — billing and shipping addresses;
- ``orders`` → ``customers`` — registered orders (``customer_id``) and guest orders
  (``customer_id`` NULL, found by ``billing_email`` only), with the invoice fields that
  bokføringsloven § 13 makes the shop keep;
- ``order_lines`` → ``orders`` — the third level of references;
- ``support_tickets`` → ``customers`` (optional) and by e-mail;
- ``newsletter_signups`` — by e-mail, customers or not.

Its annotations are ``assemble/shop_dataset.yml`` in the fideslang Dataset format.

Everything is made up (:mod:`personvern.demo.shop_rows`, Faker's Norwegian locale) from a
seed, so the same size and seed always give the same shop. Rows are written in batches
while they are made, by each driver's fastest bulk path, and indexes and foreign keys are
added after loading, so a million customers (five million orders) take about five minutes
and little memory. Every column a search uses (identities and references) has an index.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    create_engine,
    func,
    inspect,
    select,
)
from sqlalchemy.schema import AddConstraint, CreateIndex, CreateTable

from personvern.demo.shop_rows import TABLES, RowMaker


def shop_metadata() -> MetaData:
    """The shop's tables. Indexes are named so they can be created after loading."""
    md = MetaData()
    Table(
        "customers",
        md,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("email", String(254), nullable=False),
        Column("username", String(60), nullable=False),
        Column("first_name", String(100), nullable=False),
        Column("last_name", String(100), nullable=False),
        Column("phone", String(20)),
        Column("birth_date", Date),
        Column("registered_at", DateTime, nullable=False),
        Column("last_login_ip", String(45)),
        Index("ix_customers_email", "email", unique=True),
        Index("ix_customers_username", "username", unique=True),
        Index("ix_customers_phone", "phone"),
    )
    Table(
        "addresses",
        md,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False),
        Column("kind", String(10), nullable=False),
        Column("name", String(200)),
        Column("street", String(200)),
        Column("postal_code", String(10)),
        Column("city", String(100)),
        Column("country", String(2)),
        Column("phone", String(20)),
        Index("ix_addresses_customer_id", "customer_id"),
    )
    Table(
        "orders",
        md,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("order_number", String(20), nullable=False),
        Column("customer_id", Integer, ForeignKey("customers.id")),
        Column("billing_email", String(254)),
        Column("billing_name", String(200)),
        Column("billing_address", String(200)),
        Column("billing_postal_code", String(10)),
        Column("billing_city", String(100)),
        Column("billing_phone", String(20)),
        Column("shipping_name", String(200)),
        Column("shipping_address", String(200)),
        Column("shipping_postal_code", String(10)),
        Column("shipping_city", String(100)),
        Column("created_at", DateTime, nullable=False),
        Column("status", String(20), nullable=False),
        Column("payment_method", String(20), nullable=False),
        Column("currency", String(3), nullable=False),
        Column("total", Numeric(12, 2), nullable=False),
        Column("vat", Numeric(12, 2), nullable=False),
        Column("customer_ip", String(45)),
        Column("customer_note", Text),
        Index("ix_orders_order_number", "order_number", unique=True),
        Index("ix_orders_customer_id", "customer_id"),
        Index("ix_orders_billing_email", "billing_email"),
    )
    Table(
        "order_lines",
        md,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("order_id", Integer, ForeignKey("orders.id"), nullable=False),
        Column("sku", String(32), nullable=False),
        Column("product_name", String(200), nullable=False),
        Column("quantity", Integer, nullable=False),
        Column("unit_price", Numeric(12, 2), nullable=False),
        Column("line_total", Numeric(12, 2), nullable=False),
        Column("gift_message", Text),
        Index("ix_order_lines_order_id", "order_id"),
    )
    Table(
        "support_tickets",
        md,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("customer_id", Integer, ForeignKey("customers.id")),
        Column("email", String(254)),
        Column("name", String(200)),
        Column("subject", String(200), nullable=False),
        Column("body", Text),
        Column("created_at", DateTime, nullable=False),
        Column("status", String(20), nullable=False),
        Index("ix_support_tickets_customer_id", "customer_id"),
        Index("ix_support_tickets_email", "email"),
    )
    Table(
        "newsletter_signups",
        md,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("email", String(254), nullable=False),
        Column("signed_up_at", DateTime, nullable=False),
        Column("source", String(20), nullable=False),
        Column("ip", String(45)),
        Index("ix_newsletter_signups_email", "email", unique=True),
    )
    return md


@dataclass(frozen=True)
class ShopSummary:
    """How many rows of each kind were made, and how long it took."""

    url: str
    counts: Mapping[str, int]
    seconds: float

    @property
    def customers(self) -> int:
        return self.counts["customers"]

    @property
    def orders(self) -> int:
        return self.counts["orders"]


@dataclass(frozen=True)
class ShopPerson:
    """Someone in the shop, as a test or a demo request would name them."""

    email: str
    name: str
    customer_id: int | None  # None for a guest who never registered
    phone: str | None


def build_shop(url: str, customers: int = 2000, seed: int = 7, *, batch: int = 5000) -> ShopSummary:
    """(Re)create the shop's tables at ``url`` and fill them for ``customers`` customers.

    About five orders per customer in all: registered customers have 0–8 (four on average)
    and there is one guest for every two customers, with 1–3 orders each.
    """
    if customers < 1:
        raise ValueError("the shop needs at least one customer")
    started = time.perf_counter()
    engine = create_engine(url)
    try:
        md = shop_metadata()
        counts = dict.fromkeys(TABLES, 0)
        with engine.begin() as conn:
            _create_tables(conn, md)
        maker = RowMaker(seed)
        for first in range(1, customers + 1, batch):
            last = min(first + batch, customers + 1)
            rows = maker.chunk(first, last)
            with engine.begin() as conn:
                for name in TABLES:
                    if rows[name]:
                        _insert(conn, md.tables[name], rows[name])
                        counts[name] += len(rows[name])
        with engine.begin() as conn:
            _finish_tables(conn, md)
    finally:
        engine.dispose()
    return ShopSummary(url=url, counts=counts, seconds=time.perf_counter() - started)


def shop_exists(url: str) -> bool:
    """Whether ``url`` already holds the shop's tables (so a demo can reuse it)."""
    engine = create_engine(url)
    try:
        return set(TABLES) <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def sample_people(url: str, n: int = 1, *, guests: bool = False) -> list[ShopPerson]:
    """``n`` known people, spread evenly over the shop: registered customers with orders,
    or guests (orders without an account). The same shop gives the same people."""
    engine = create_engine(url)
    md = shop_metadata()
    customers, orders = md.tables["customers"], md.tables["orders"]
    try:
        with engine.connect() as conn:
            if guests:
                query = (
                    select(orders.c.billing_email, orders.c.billing_name, orders.c.billing_phone)
                    .where(orders.c.customer_id.is_(None))
                    .order_by(orders.c.id)
                    .limit(n * 50)
                )
                seen: dict[str, ShopPerson] = {}
                for email, name, phone in conn.execute(query):
                    seen.setdefault(email, ShopPerson(email, name, None, phone))
                found = list(seen.values())
                return found[:: max(1, len(found) // n)][:n]
            total = conn.execute(select(func.max(customers.c.id))).scalar_one()
            wanted = sorted({1 + (total * (2 * i + 1)) // (2 * n) for i in range(n)})
            buyers = select(orders.c.customer_id).distinct()
            ids = list(conn.execute(buyers.where(orders.c.customer_id.in_(wanted))).scalars())
            if len(ids) < n:  # the even spread hit customers without orders: add the first
                first = buyers.where(orders.c.customer_id.is_not(None))
                more = conn.execute(first.order_by(orders.c.customer_id).limit(2 * n))
                ids += [i for i in more.scalars() if i not in ids]
            rows = conn.execute(
                select(customers).where(customers.c.id.in_(ids)).order_by(customers.c.id)
            ).all()
            people = [
                ShopPerson(r.email, f"{r.first_name} {r.last_name}", r.id, r.phone) for r in rows
            ]
            return people[:n]
    finally:
        engine.dispose()


# --- making the rows ----------------------------------------------------------------------


def _create_tables(conn: Connection, md: MetaData) -> None:
    """Tables without secondary indexes (and, off SQLite, without foreign keys) to load fast."""
    md.drop_all(conn, checkfirst=True)
    sqlite = conn.dialect.name == "sqlite"
    for table in md.sorted_tables:
        # SQLite cannot add a foreign key later, and does not check them while loading.
        fks: list[Any] | None = None if sqlite else []
        conn.execute(CreateTable(table, include_foreign_key_constraints=fks))


def _insert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Bulk insert, by the fastest road each driver has (the ORM-free Core one otherwise).

    PostgreSQL through psycopg takes ``COPY``; SQLite takes the driver's ``executemany`` with
    values converted by the columns' own bind processors, which skips SQLAlchemy's per-row
    work (about five times faster for millions of rows).
    """
    names = [c.name for c in table.columns]
    dialect = conn.dialect
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        columns = ", ".join(dialect.identifier_preparer.quote(n) for n in names)
        with cursor.copy(f"COPY {table.name} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[n] for n in names])
        return
    if dialect.name == "sqlite":
        processors = [c.type.dialect_impl(dialect).bind_processor(dialect) for c in table.columns]
        sql = str(table.insert().compile(dialect=dialect))
        values = [
            tuple(
                p(row[n]) if p is not None and row[n] is not None else row[n]
                for n, p in zip(names, processors, strict=True)
            )
            for row in rows
        ]
        conn.exec_driver_sql(sql, values)
        return
    conn.execute(table.insert(), rows)


def _finish_tables(conn: Connection, md: MetaData) -> None:
    for table in md.sorted_tables:
        for index in sorted(table.indexes, key=lambda i: str(i.name)):
            conn.execute(CreateIndex(index))
        if conn.dialect.name != "sqlite":
            for fk in sorted(table.foreign_key_constraints, key=lambda c: str(c.name)):
                conn.execute(AddConstraint(fk))
    if conn.dialect.name == "postgresql":
        for table in md.sorted_tables:
            conn.exec_driver_sql(f"ANALYZE {table.name}")
