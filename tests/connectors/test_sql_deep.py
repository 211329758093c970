"""A dataset four references deep, with every kind of reference, JSON fields and hmac.

accounts ─from→ carts ─from→ cart_items ─from→ item_notes (four levels); devices joined
to accounts by an undirected reference; accounts ─to→ billing (values flow from the
account's billing_id to billing.id). Run on SQLite, PostgreSQL and MariaDB.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import JSON, Column, ForeignKey, Integer, MetaData, String, Table, create_engine

from personvern.connectors.base import ErasurePlan, Fatal, Identity
from personvern.connectors.sql import SqlConnector, SqlSettings

DATASET = """\
dataset:
  - fides_key: deep
    collections:
      - name: accounts
        fields:
          - {name: id, data_categories: [user.unique_id], fides_meta: {primary_key: true}}
          - name: email
            data_categories: [user.contact.email]
            fides_meta: {identity: email}
          - name: billing_id
            data_categories: [system.operations]
            fides_meta:
              references: [{dataset: deep, field: billing.id, direction: to}]
          - name: profile
            fields:
              - {name: phone, data_categories: [user.contact.phone_number]}
              - {name: theme, data_categories: [system.operations]}
      - name: billing
        fields:
          - {name: id, data_categories: [system.operations], fides_meta: {primary_key: true}}
          - name: invoice_email
            data_categories: [user.contact.email]
            fides_meta:
              masking_strategy_override: {strategy: hmac}
      - name: carts
        fields:
          - {name: id, data_categories: [system.operations], fides_meta: {primary_key: true}}
          - name: account_id
            data_categories: [system.operations]
            fides_meta:
              references: [{dataset: deep, field: accounts.id, direction: from}]
      - name: cart_items
        fields:
          - {name: id, data_categories: [system.operations], fides_meta: {primary_key: true}}
          - name: cart_id
            data_categories: [system.operations]
            fides_meta:
              references: [{dataset: deep, field: carts.id, direction: from}]
          - {name: product, data_categories: [user.behavior.purchase_history]}
      - name: item_notes
        fides_meta: {masking_strategy_override: {strategy: delete}}
        fields:
          - {name: id, data_categories: [system.operations], fides_meta: {primary_key: true}}
          - name: item_id
            data_categories: [system.operations]
            fides_meta:
              references: [{dataset: deep, field: cart_items.id, direction: from}]
          - {name: note, data_categories: [user.content.private]}
      - name: devices
        fields:
          - {name: id, data_categories: [system.operations], fides_meta: {primary_key: true}}
          - name: account_id
            data_categories: [system.operations]
            fides_meta:
              references: [{dataset: deep, field: accounts.id}]
          - {name: fingerprint, data_categories: [user.device.device_id]}
"""


def build(url: str) -> None:
    md = MetaData()
    Table(
        "billing",
        md,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("invoice_email", String(200), nullable=False),
    )
    Table(
        "accounts",
        md,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("email", String(200), index=True),
        Column("billing_id", Integer, ForeignKey("billing.id")),
        Column("profile", JSON),
    )
    Table(
        "carts",
        md,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("account_id", Integer, ForeignKey("accounts.id"), index=True),
    )
    Table(
        "cart_items",
        md,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("cart_id", Integer, ForeignKey("carts.id"), index=True),
        Column("product", String(100)),
    )
    Table(
        "item_notes",
        md,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("item_id", Integer, ForeignKey("cart_items.id"), nullable=False, index=True),
        Column("note", String(200)),
    )
    Table(
        "devices",
        md,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("account_id", Integer, ForeignKey("accounts.id"), index=True),
        Column("fingerprint", String(64)),
    )
    engine = create_engine(url)
    with engine.begin() as conn:
        md.create_all(conn)
        t = md.tables
        conn.execute(
            t["billing"].insert(),
            [{"id": i, "invoice_email": f"faktura{i}@example.com"} for i in (1, 2)],
        )
        conn.execute(
            t["accounts"].insert(),
            [
                {
                    "id": i,
                    "email": f"kari{i}@example.com",
                    "billing_id": i,
                    "profile": {"phone": f"+479000000{i}", "theme": "mørk"},
                }
                for i in (1, 2)
            ],
        )
        conn.execute(t["carts"].insert(), [{"id": 10 + i, "account_id": i} for i in (1, 2)])
        conn.execute(
            t["cart_items"].insert(),
            [
                {"id": 100 + n, "cart_id": 10 + (n % 2) + 1, "product": f"Vare {n}"}
                for n in range(4)
            ],
        )
        conn.execute(
            t["item_notes"].insert(),
            [{"id": 1000 + n, "item_id": 100 + n, "note": f"Notat {n}"} for n in range(4)],
        )
        conn.execute(
            t["devices"].insert(),
            [{"id": 7 + i, "account_id": i, "fingerprint": f"fp-{i}"} for i in (1, 2)],
        )
    engine.dispose()


@pytest.fixture
async def deep(sql_url: str, tmp_path: Path) -> AsyncIterator[SqlConnector]:
    build(sql_url)
    path = tmp_path / "deep.yml"
    path.write_text(DATASET)
    conn = SqlConnector(SqlSettings(url=sql_url, dataset=path, hmac_key="hemmelig-testnøkkel"))
    yield conn
    await conn.aclose()


KARI = Identity(email="kari1@example.com")


async def test_four_levels_and_every_kind_of_reference(deep: SqlConnector) -> None:
    await deep.check()
    result = await deep.access(KARI)
    found = {(r.collection, r.key) for r in result.records}
    # Cart 11 belongs to account 1 and holds items 100 and 102, each with one note.
    assert found == {
        ("accounts", "1"),
        ("billing", "1"),
        ("carts", "11"),
        ("cart_items", "100"),
        ("cart_items", "102"),
        ("item_notes", "1000"),
        ("item_notes", "1002"),
        ("devices", "8"),
    }
    account = next(r for r in result.records if r.collection == "accounts")
    assert account.fields["profile.phone"] == "+4790000001"
    assert account.categories["profile.phone"] == "user.contact.phone_number"


async def test_erasure_masks_inside_json_hashes_and_deletes_notes(
    deep: SqlConnector, sql_url: str
) -> None:
    result = await deep.erase(KARI, ErasurePlan("anonymize"))
    assert result.deleted == {"item_notes": 2}
    assert result.anonymized["accounts"] == 1
    assert result.anonymized["billing"] == 1
    rows = _rows(sql_url)
    profile = rows["accounts"][1]["profile"]
    profile = json.loads(profile) if isinstance(profile, str) else profile
    assert profile == {"phone": None, "theme": "mørk"}
    assert re.fullmatch(r"[0-9a-f]{64}", rows["billing"][1]["invoice_email"])
    assert rows["billing"][2]["invoice_email"] == "faktura2@example.com"
    assert rows["accounts"][2]["email"] == "kari2@example.com"
    assert set(rows["item_notes"]) == {1001, 1003}
    second = await deep.erase(KARI, ErasurePlan("anonymize"))
    assert second.deleted == {}
    assert second.anonymized == {}


async def test_delete_plan_respects_foreign_keys(deep: SqlConnector, sql_url: str) -> None:
    result = await deep.erase(KARI, ErasurePlan("delete"))
    assert sum(result.deleted.values()) == 8
    rows = _rows(sql_url)
    assert set(rows["accounts"]) == {2}
    assert set(rows["cart_items"]) == {101, 103}


async def test_hmac_without_a_key_is_fatal(sql_url: str, tmp_path: Path) -> None:
    build(sql_url)
    path = tmp_path / "deep.yml"
    path.write_text(DATASET)
    conn = SqlConnector(SqlSettings(url=sql_url, dataset=path))
    try:
        with pytest.raises(Fatal, match="hmac_key_env"):
            await conn.check()
        with pytest.raises(Fatal, match="hmac_key_env"):
            await conn.erase(KARI, ErasurePlan("anonymize"))
    finally:
        await conn.aclose()


def _rows(url: str) -> dict[str, dict[int, Any]]:
    engine = create_engine(url)
    md = MetaData()
    md.reflect(engine)
    try:
        with engine.connect() as conn:
            return {
                name: {r.id: dict(r._mapping) for r in conn.execute(t.select())}
                for name, t in md.tables.items()
            }
    finally:
        engine.dispose()
