"""The demo shop's database: deterministic, shaped like the issue asks, indexed for search."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, inspect, select

from personvern.connectors.datasets import load_dataset
from personvern.demo.shop import build_shop, sample_people, shop_exists, shop_metadata

SHOP_DATASET = Path(__file__).resolve().parents[2] / "examples" / "assemble" / "shop_dataset.yml"


def checksum(url: str) -> str:
    h = hashlib.sha256()
    engine = create_engine(url)
    with engine.connect() as conn:
        for name, table in shop_metadata().tables.items():
            for row in conn.execute(select(table).order_by(table.c.id)):
                h.update(repr((name, tuple(row))).encode())
    engine.dispose()
    return h.hexdigest()


def test_same_seed_same_shop(tmp_path: Path) -> None:
    a, b, c = (f"sqlite:///{tmp_path / n}.sqlite3" for n in "abc")
    build_shop(a, customers=50, seed=3)
    build_shop(b, customers=50, seed=3)
    build_shop(c, customers=50, seed=4)
    assert checksum(a) == checksum(b)
    assert checksum(a) != checksum(c)


def test_batches_do_not_change_the_shop(tmp_path: Path) -> None:
    a, b = (f"sqlite:///{tmp_path / n}.sqlite3" for n in "ab")
    build_shop(a, customers=40, seed=3, batch=7)
    build_shop(b, customers=40, seed=3, batch=1000)
    assert checksum(a) == checksum(b)


def test_shape(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shop.sqlite3'}"
    assert not shop_exists(url)
    summary = build_shop(url, customers=400)
    assert shop_exists(url)
    counts = summary.counts
    assert counts["customers"] == 400
    assert 4 * 400 <= counts["orders"] <= 6 * 400  # about five orders per customer
    assert counts["order_lines"] > counts["orders"]
    assert counts["addresses"] >= 400
    assert counts["support_tickets"] > 0
    assert counts["newsletter_signups"] > 0
    engine = create_engine(url)
    with engine.connect() as conn:
        orders = shop_metadata().tables["orders"]
        guests = conn.execute(
            select(func.count()).where(orders.c.customer_id.is_(None))
        ).scalar_one()
        assert 0.1 * counts["orders"] < guests < 0.35 * counts["orders"]
    engine.dispose()
    again = build_shop(url, customers=400)  # builds anew over the old one
    assert again.counts == counts


def test_every_column_a_search_uses_is_indexed(sql_url: str) -> None:
    build_shop(sql_url, customers=5)
    spec = load_dataset(SHOP_DATASET)
    searched = {(c, f) for c, pairs in spec.graph.identities.items() for f, _ in pairs}
    for edge in spec.graph.edges:
        searched |= {(edge.src, edge.src_field), (edge.dst, edge.dst_field)}
    engine = create_engine(sql_url)
    inspector = inspect(engine)
    for table, column in sorted(searched):
        indexed = {next(iter(i["column_names"])) for i in inspector.get_indexes(table)}
        indexed |= set(inspector.get_pk_constraint(table)["constrained_columns"][:1])
        assert column in indexed, f"{table}.{column} is searched but not indexed"
    engine.dispose()


def test_sample_people(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shop.sqlite3'}"
    build_shop(url, customers=100)
    people = sample_people(url, 5)
    assert len({p.email for p in people}) == 5
    assert all(p.customer_id is not None for p in people)
    assert sample_people(url, 5) == people
    guests = sample_people(url, 3, guests=True)
    assert len(guests) == 3
    assert all(p.customer_id is None for p in guests)


def test_needs_a_customer(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least one customer"):
        build_shop(f"sqlite:///{tmp_path / 'x.sqlite3'}", customers=0)
