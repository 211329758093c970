"""End to end with the demo shop: an erasure request planned from the Assemble inventory, its
shop step run by the real ``sql`` connector, bookkeeping fields kept (bokføringsloven § 13),
everything else about the person gone, and a second erasure changing nothing.
"""

from __future__ import annotations

import asyncio
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from executor_support import FakeClock, make_request, run_async
from sqlalchemy import create_engine, text

from personvern.connectors.registry import ConnectorRegistry
from personvern.dsr.control import queue_request
from personvern.dsr.executor import Executor
from personvern.runtime import Runtime
from personvern.settings import Settings
from personvern.store.requests import RequestStep

ROOT = Path(__file__).resolve().parents[2]
ASSEMBLE = ROOT / "examples" / "assemble" / "privacy.yaml"
DATASET = ROOT / "examples" / "assemble" / "shop_dataset.yml"

# Sales documents name the buyer, the date, what was sold and the amounts (bokføringsforskriften
# § 5-1-1); the shop keeps those and nothing else about the person.
HOLDS = [
    "bookkeeping_primary: orders(order_number, created_at, billing_name, billing_address, "
    "billing_postal_code, billing_city, payment_method, currency, total, vat)",
    "bookkeeping_primary: order_lines(order_id, sku, product_name, quantity, unit_price, "
    "line_total)",
    "bookkeeping_secondary: none",
]


@pytest.fixture
def shop_runtime(settings: Settings, tmp_path: Path) -> Any:
    pytest.importorskip("personvern.connectors.sql")
    from personvern.demo.shop import build_shop, sample_people

    shop_url = f"sqlite:///{tmp_path / 'shop.sqlite3'}"
    build_shop(shop_url, customers=40, seed=11)
    person = sample_people(shop_url, 1)[0]
    data = yaml.safe_load(ASSEMBLE.read_text())
    for system in data["systems"]:
        if system["key"] == "woocommerce":
            system["connector"] = {
                "type": "sql",
                "settings": {
                    "url_env": "SHOP_DATABASE_URL",
                    "dataset": str(DATASET),
                    "holds": HOLDS,
                },
            }
    inventory = tmp_path / "privacy.yaml"
    inventory.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    runtime = Runtime.open(settings.model_copy(update={"inventory": inventory}), migrate=False)
    yield runtime, shop_url, person
    runtime.close()


def _rows(url: str, sql: str, **params: Any) -> list[Any]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql), params))
    finally:
        engine.dispose()


async def _erase(runtime: Runtime, email: str, shop_url: str) -> dict[str, Any]:
    registry = ConnectorRegistry.from_entry_points()
    request_id = make_request(runtime, email=email)
    await asyncio.to_thread(queue_request, runtime, request_id, registry, today=date(2026, 3, 1))
    executor = Executor(
        runtime, registry, clock=FakeClock(), environ={"SHOP_DATABASE_URL": shop_url}
    )
    outcome = await executor.run(request_id)
    assert outcome.status == "waiting"  # the other systems are manual tasks
    with runtime.sessions() as session:
        step = (
            session.query(RequestStep)
            .filter_by(request_id=request_id, system_key="woocommerce")
            .one()
        )
        assert step.connector == "sql"
        assert step.status == "done", step.last_error
        result: dict[str, Any] = json.loads(step.result or "{}")
        return result


def test_erasure_in_the_demo_shop_keeps_only_the_bookkeeping_fields(
    shop_runtime: Any,
) -> None:
    async def scenario() -> None:
        runtime, shop_url, person = shop_runtime
        orders_before = _rows(
            shop_url,
            "SELECT id, order_number, billing_name, total FROM orders WHERE billing_email = :e",
            e=person.email,
        )
        assert orders_before

        result = await _erase(runtime, person.email, shop_url)
        assert sum(result["deleted"].values()) + sum(result["anonymized"].values()) > 0
        kept = {h["collection"]: h for h in result["kept"]}
        assert kept["orders"]["until"] == "2031-12-31"
        assert kept["orders"]["ground"].startswith("bokføringsloven § 13")

        # The person can no longer be found by any identity...
        for table, column in (
            ("customers", "email"),
            ("orders", "billing_email"),
            ("support_tickets", "email"),
            ("newsletter_signups", "email"),
        ):
            query = f"SELECT 1 FROM {table} WHERE {column} = :e"  # noqa: S608 - names above
            assert _rows(shop_url, query, e=person.email) == []
        # ...but the sales documents are still there, with what bokføringsloven asks.
        ids = ", ".join(str(int(row.id)) for row in orders_before)
        query = f"SELECT id, order_number, billing_name, total FROM orders WHERE id IN ({ids})"  # noqa: S608
        orders_after = _rows(shop_url, query)
        assert sorted(orders_after) == sorted(orders_before)

        # A second erasure finds nothing more to change.
        again = await _erase(runtime, person.email, shop_url)
        assert sum(again["deleted"].values()) + sum(again["anonymized"].values()) == 0

    run_async(scenario())
