"""The klarna connector and sandbox: orders found through the shop, erasure forwarded.

One demo shop and one sandbox server (WooCommerce and Klarna) serve the module; nothing
here changes their data, since the connector only reads.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conformance import Key, Snapshot
from http_conformance import CannotEraseConformance
from payments_support import SHOP_SIZE, assert_forward_task, people, woo_settings

from personvern.connectors import klarna
from personvern.connectors.base import Hold, Identity
from personvern.connectors.klarna import KlarnaConnector, KlarnaSettings
from personvern.connectors.registry import ConnectorRegistry
from personvern.demo.shop import build_shop
from personvern.inventory.taxonomy import keys
from personvern.sandbox.faults import Faults
from personvern.sandbox.klarna import KlarnaState
from personvern.sandbox.people import Person, klarna_order_id
from personvern.sandbox.server import SandboxContext, SandboxServer


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    path: Path = tmp_path_factory.mktemp("klarna") / "shop.sqlite3"
    url = f"sqlite:///{path}"
    build_shop(url, customers=SHOP_SIZE)
    with SandboxServer(SandboxContext(url), ["woocommerce", "klarna"]) as running:
        yield running


@pytest.fixture(scope="module")
def state(server: SandboxServer) -> KlarnaState:
    got = server.app("klarna").state
    assert isinstance(got, KlarnaState)
    return got


def klarna_orders(person: Person, state: KlarnaState) -> list[str]:
    """The person's Klarna order ids that Klarna still holds, worked out from the shop."""
    ids = [klarna_order_id(o.number) for o in person.orders if o.payment_method == "klarna"]
    return [i for i in ids if i in state.orders]


@pytest.fixture(scope="module")
def buyer(server: SandboxServer, state: KlarnaState) -> Person:
    """Someone with at least two Klarna orders Klarna still holds."""
    return next(p for p in people(server) if len(klarna_orders(p, state)) >= 2)


def settings(server: SandboxServer, **changes: Any) -> KlarnaSettings:
    creds = server.app("klarna").credentials
    values: dict[str, Any] = {
        "base_url": server.vendor_url("klarna"),
        "username": creds["username"],
        "password": creds["password"],
        **woo_settings(server),
        "contact_email": "privacy@klarna.example",
    }
    return KlarnaSettings.model_validate({**values, **changes})


@pytest.fixture
async def connector(server: SandboxServer) -> AsyncIterator[KlarnaConnector]:
    conn = KlarnaConnector(settings(server))
    yield conn
    await conn.aclose()


@pytest.fixture
def person(buyer: Person) -> Identity:
    return Identity(email=buyer.email)


@pytest.fixture
def expected(buyer: Person, state: KlarnaState) -> set[Key]:
    return {("orders", i) for i in klarna_orders(buyer, state)}


@pytest.fixture
def snapshot(server: SandboxServer) -> Callable[[], Snapshot]:
    return lambda: server.app("klarna").snapshot()


@pytest.fixture
def hold() -> Hold:
    return Hold("orders", ("order_amount",), "hvitvaskingsloven § 30", None)


@pytest.fixture
async def bad_connector(server: SandboxServer) -> AsyncIterator[KlarnaConnector]:
    # Wrong on both ends: access for NOBODY meets WooCommerce first, check meets Klarna.
    conn = KlarnaConnector(
        settings(
            server,
            password="not-the-klarna-password",
            woocommerce_consumer_secret="cs_" + "0" * 40,
        )
    )
    yield conn
    await conn.aclose()


@pytest.fixture
def faults(server: SandboxServer) -> Iterator[Faults]:
    got = server.faults("klarna")
    yield got
    got.reset()


class TestKlarnaConformance(CannotEraseConformance):
    """The HTTP kit for a connector without erasure: Klarna Bank AB (publ) is an independent
    controller with no deletion API (GDPR Art. 17(2), 19)."""


def test_erasure_becomes_a_forward_task() -> None:
    assert_forward_task(KlarnaConnector, "klarna", "Klarna Bank AB (publ)")


# --- what is particular to Klarna ----------------------------------------------------------


async def test_records_are_klarnas_orders_with_categories(
    connector: KlarnaConnector, buyer: Person, state: KlarnaState
) -> None:
    result = await connector.access(Identity(email=buyer.email))
    by_id = {r.key: r for r in result.records}
    order_id = klarna_orders(buyer, state)[0]
    record = by_id[order_id]
    order = state.orders[order_id]
    assert record.fields["merchant_reference1"] == order["merchant_reference1"]
    assert record.fields["billing_address.email"] == order["billing_address"]["email"]
    assert record.fields["order_lines"] == order["order_lines"]
    assert record.categories["billing_address.given_name"] == "user.name"
    assert record.categories["billing_address.email"] == "user.contact.email"
    assert record.categories["order_lines"] == "user.behavior.purchase_history"
    assert order["order_lines"], "the sandbox carries the shop's order lines"


async def test_an_order_klarna_has_no_record_of_is_a_note(
    connector: KlarnaConnector, buyer: Person, state: KlarnaState
) -> None:
    gone, kept = klarna_orders(buyer, state)[:2]
    with state.lock:
        removed = state.orders.pop(gone)
    try:
        result = await connector.access(Identity(email=buyer.email))
    finally:
        with state.lock:
            state.orders[gone] = removed
    keys = {r.key for r in result.records}
    assert gone not in keys
    assert kept in keys
    number = removed["merchant_reference1"]
    assert any(number in n and gone in n and "no record" in n for n in result.notes)


def test_the_sandbox_holds_three_years_of_orders(server: SandboxServer, state: KlarnaState) -> None:
    # Klarna serves orders for up to three years; the shop's older ones are not there.
    klarna = [o for p in people(server) for o in p.orders if o.payment_method == "klarna"]
    held = [o for o in klarna if klarna_order_id(o.number) in state.orders]
    assert 0 < len(held) < len(klarna)
    newest_missing = max(
        o.created_at for o in klarna if klarna_order_id(o.number) not in state.orders
    )
    assert newest_missing < min(o.created_at for o in held)


@pytest.mark.parametrize(
    ("auth", "status", "code"),
    [
        (None, 401, "UNAUTHORIZED"),
        (("K123456_0a1b2c3d4e5f", "wrong"), 401, "UNAUTHORIZED"),
        ("good", 404, "NO_SUCH_ORDER"),
    ],
)
async def test_the_sandbox_answers_like_klarna(
    server: SandboxServer, auth: Any, status: int, code: str
) -> None:
    creds = server.app("klarna").credentials
    pair = (creds["username"], creds["password"]) if auth == "good" else auth
    async with httpx.AsyncClient(base_url=server.vendor_url("klarna"), auth=pair) as client:
        response = await client.get("/ordermanagement/v1/orders/not-an-order")
    assert response.status_code == status
    body = response.json()
    assert body["error_code"] == code
    assert body["error_messages"]
    assert body["correlation_id"]


async def test_the_sandbox_takes_the_basic_pair_only(
    server: SandboxServer, state: KlarnaState, buyer: Person
) -> None:
    order_id = klarna_orders(buyer, state)[0]
    creds = server.app("klarna").credentials
    token = base64.b64encode(f"{creds['username']}:{creds['password']}".encode()).decode()
    async with httpx.AsyncClient(base_url=server.vendor_url("klarna")) as client:
        ok = await client.get(
            f"/ordermanagement/v1/orders/{order_id}", headers={"Authorization": f"Basic {token}"}
        )
        bearer = await client.get(
            f"/ordermanagement/v1/orders/{order_id}", headers={"Authorization": f"Bearer {token}"}
        )
    assert ok.status_code == 200
    assert ok.json()["order_id"] == order_id
    assert bearer.status_code == 401


async def test_registry_builds_it_from_inventory_settings(server: SandboxServer) -> None:
    registry = ConnectorRegistry.from_entry_points()
    creds = server.app("klarna").credentials
    woo = woo_settings(server)
    conn = registry.build(
        "klarna",
        {
            "base_url": server.vendor_url("klarna"),
            "username_env": "KLARNA_API_USERNAME",
            "password_env": "KLARNA_API_PASSWORD",
            "woocommerce_url": woo["woocommerce_url"],
            "woocommerce_consumer_key_env": "WOOCOMMERCE_CONSUMER_KEY",
            "woocommerce_consumer_secret_env": "WOOCOMMERCE_CONSUMER_SECRET",
            "contact_email": "privacy@klarna.example",
        },
        environ={
            "KLARNA_API_USERNAME": creds["username"],
            "KLARNA_API_PASSWORD": creds["password"],
            "WOOCOMMERCE_CONSUMER_KEY": woo["woocommerce_consumer_key"],
            "WOOCOMMERCE_CONSUMER_SECRET": woo["woocommerce_consumer_secret"],
        },
    )
    try:
        assert isinstance(conn, KlarnaConnector)
        await conn.check()
    finally:
        await conn.aclose()


async def test_orders_paid_otherwise_are_not_followed(
    connector: KlarnaConnector, server: SandboxServer, state: KlarnaState
) -> None:
    # Someone who never paid with Klarna: WooCommerce has orders, Klarna is never asked.
    other = next(
        p
        for p in people(server)
        if p.orders and all(o.payment_method != "klarna" for o in p.orders)
    )
    served = server.faults("klarna").served
    result = await connector.access(Identity(email=other.email))
    assert result.records == []
    assert result.notes == []
    assert server.faults("klarna").served == served


def test_the_categories_are_fideslang_keys() -> None:
    assert {*klarna.CATEGORIES.values()} <= keys("data_category")
