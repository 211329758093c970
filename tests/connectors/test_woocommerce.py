"""The woocommerce connector against the WooCommerce sandbox, over real HTTP on loopback.

The sandbox serves the demo shop's own SQLite database as WooCommerce REST API v3, so what
the connector finds is checked against the shop's tables by plain queries, and the sandbox's
snapshot proves an erasure touched nobody else. The kit runs for a registered customer and
for a guest (orders only, found by e-mail search alone).
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from conformance import Key, Snapshot, bookkeeping_hold
from http_conformance import HttpConnectorConformance
from sqlalchemy import create_engine, insert, or_, select

from personvern.connectors.base import ErasurePlan, Fatal, Hold, Identity, SweepRule
from personvern.connectors.registry import ConnectorRegistry
from personvern.connectors.woocommerce import WooClient, WooCommerceConnector, WooCommerceSettings
from personvern.demo.shop import ShopPerson, build_shop, sample_people, shop_metadata
from personvern.sandbox.faults import Faults
from personvern.sandbox.server import SandboxContext, SandboxServer
from personvern.sandbox.woocommerce import (
    APP_PASSWORD,
    APP_USER,
    CONSUMER_KEY,
    CONSUMER_SECRET,
)
from personvern.sandbox.woocommerce_shop import WooShop

ORDER_HOLD = (
    "number",
    "date_created",
    "total",
    "total_tax",
    "billing.first_name",
    "billing.last_name",
    "billing.address_1",
    "line_items",
)
API = "/wp-json/wc/v3"


@pytest.fixture(scope="session")
def template_shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("woo") / "shop.sqlite3"
    build_shop(f"sqlite:///{path}", customers=40)
    return path


@pytest.fixture
def shop_url(template_shop: Path, tmp_path: Path) -> str:
    """A shop of this test's own (a copy of one built once): erasures change it."""
    path = tmp_path / "shop.sqlite3"
    shutil.copy(template_shop, path)
    return f"sqlite:///{path}"


@pytest.fixture
def server(shop_url: str) -> Iterator[SandboxServer]:
    with SandboxServer(SandboxContext(shop_url), ["woocommerce"]) as running:
        yield running


def _settings(server: SandboxServer, **extra: Any) -> WooCommerceSettings:
    base: dict[str, Any] = {
        "url": server.vendor_url("woocommerce"),
        "consumer_key": CONSUMER_KEY,
        "consumer_secret": CONSUMER_SECRET,
    }
    return WooCommerceSettings.model_validate({**base, **extra})


@pytest.fixture
async def connector(server: SandboxServer) -> AsyncIterator[WooCommerceConnector]:
    conn = WooCommerceConnector(_settings(server))
    yield conn
    await conn.aclose()


@pytest.fixture
async def bad_connector(server: SandboxServer) -> AsyncIterator[WooCommerceConnector]:
    conn = WooCommerceConnector(_settings(server, consumer_secret="cs_wrong_secret_0000"))
    yield conn
    await conn.aclose()


@pytest.fixture(params=["registered", "guest"])
def shop_person(request: pytest.FixtureRequest, shop_url: str) -> ShopPerson:
    return sample_people(shop_url, 1, guests=request.param == "guest")[0]


@pytest.fixture
def person(shop_person: ShopPerson) -> Identity:
    return Identity(email=shop_person.email)


def shop_state(server: SandboxServer) -> WooShop:
    state = server.app("woocommerce").state
    assert isinstance(state, WooShop)
    return state


def order_ids(shop_url: str, email: str, customer_id: int | None) -> list[int]:
    """The person's orders by a plain query of the shop, not through the connector."""
    orders = shop_metadata().tables["orders"]
    engine = create_engine(shop_url)
    try:
        with engine.connect() as conn:
            query = select(orders.c.id).where(
                or_(orders.c.billing_email == email, orders.c.customer_id == (customer_id or -1))
            )
            return sorted(conn.execute(query).scalars())
    finally:
        engine.dispose()


@pytest.fixture
def expected(shop_url: str, shop_person: ShopPerson, server: SandboxServer) -> set[Key]:
    ids = order_ids(shop_url, shop_person.email, shop_person.customer_id)
    out: set[Key] = {("orders", str(i)) for i in ids}
    if shop_person.customer_id is not None:
        out.add(("customers", str(shop_person.customer_id)))
    notes = shop_state(server).notes
    out |= {("order_notes", str(n["id"])) for i in ids for n in notes.get(i, [])}
    return out


@pytest.fixture
def snapshot(server: SandboxServer) -> Callable[[], Snapshot]:
    return server.app("woocommerce").snapshot


@pytest.fixture
def hold() -> Hold:
    return bookkeeping_hold("orders", ORDER_HOLD)


@pytest.fixture
def faults(server: SandboxServer) -> Faults:
    return server.faults("woocommerce")


class TestWooCommerceConformance(HttpConnectorConformance):
    pass


# --- the sandbox's API ----------------------------------------------------------------------


def _api(server: SandboxServer, auth: tuple[str, str] | None = None) -> httpx.Client:
    return httpx.Client(
        base_url=server.vendor_url("woocommerce") + API,
        auth=auth or (CONSUMER_KEY, CONSUMER_SECRET),
    )


def test_pagination_headers_and_limits(server: SandboxServer) -> None:
    with _api(server) as api:
        first = api.get("/customers", params={"per_page": 15})
        assert first.headers["X-WP-Total"] == "40"
        assert first.headers["X-WP-TotalPages"] == "3"
        assert 'rel="next"' in first.headers["Link"]
        assert 'rel="prev"' not in first.headers["Link"]
        last = api.get("/customers", params={"per_page": 15, "page": 3})
        assert len(last.json()) == 10
        assert 'rel="prev"' in last.headers["Link"]
        seen = [
            c["id"]
            for p in (1, 2, 3)
            for c in api.get("/customers", params={"per_page": 15, "page": p}).json()
        ]
        assert sorted(seen) == list(range(1, 41))
        too_big = api.get("/orders", params={"per_page": 101})
        assert too_big.status_code == 400
        assert too_big.json()["code"] == "rest_invalid_param"


def test_errors_have_woocommerces_shape(server: SandboxServer) -> None:
    with _api(server, ("ck_unknown", "cs_whatever")) as api:
        refused = api.get("/customers")
    assert refused.status_code == 401
    assert refused.json() == {
        "code": "woocommerce_rest_authentication_error",
        "message": "Consumer key is invalid.",
        "data": {"status": 401},
    }
    with _api(server) as api:
        missing = api.get("/orders/999999999")
        assert missing.status_code == 404
        assert missing.json()["data"] == {"status": 404}
    # the key pair as query parameters works too
    url = server.vendor_url("woocommerce") + API + "/customers"
    ok = httpx.get(url, params={"consumer_key": CONSUMER_KEY, "consumer_secret": CONSUMER_SECRET})
    assert ok.status_code == 200


def test_deleting_without_force_is_refused_with_501(server: SandboxServer) -> None:
    with _api(server) as api:
        refused = api.delete("/customers/3")
        assert refused.status_code == 501
        assert refused.json()["code"] == "woocommerce_rest_trash_not_supported"
        assert api.get("/customers/3").status_code == 200
        order = api.get("/orders", params={"per_page": 1}).json()[0]
        note = api.get(f"/orders/{order['id']}/notes").json()[0]
        kept = api.delete(f"/orders/{order['id']}/notes/{note['id']}")
        assert kept.status_code == 501
        gone = api.delete(f"/orders/{order['id']}/notes/{note['id']}", params={"force": "true"})
        assert gone.status_code == 200
        assert api.delete("/customers/3", params={"force": "true"}).status_code == 200
        assert api.get("/customers/3").status_code == 404


def test_customer_ip_address_is_read_only(server: SandboxServer) -> None:
    with _api(server) as api:
        order = api.get("/orders", params={"per_page": 1}).json()[0]
        put = api.put(
            f"/orders/{order['id']}",
            json={"customer_ip_address": "0.0.0.0", "billing": {"city": "Bergen"}},  # noqa: S104
        )
        assert put.status_code == 200
        assert put.json()["customer_ip_address"] == order["customer_ip_address"]
        assert put.json()["billing"]["city"] == "Bergen"


# --- the connector --------------------------------------------------------------------------


async def test_application_passwords_work_and_wrong_ones_are_fatal(
    server: SandboxServer, shop_url: str
) -> None:
    person = sample_people(shop_url, 1)[0]
    good = WooCommerceConnector(
        _settings(
            server,
            consumer_key=None,
            consumer_secret=None,
            username=APP_USER,
            application_password=APP_PASSWORD,
        )
    )
    bad = WooCommerceConnector(
        _settings(
            server,
            consumer_key=None,
            consumer_secret=None,
            username=APP_USER,
            application_password="wrong password here",
        )
    )
    try:
        await good.check()
        assert (await good.access(Identity(email=person.email))).records
        with pytest.raises(Fatal, match="401"):
            await bad.check()
    finally:
        await good.aclose()
        await bad.aclose()


async def test_retention_settings_are_shown(connector: WooCommerceConnector, shop_url: str) -> None:
    facts = {f.label: f for f in await connector.describe()}
    assert facts["Retain completed orders"].value == "6 years"
    assert facts["Retain pending orders"].value == "1 month"
    assert facts["Retain refunded orders"].value.startswith("not set")
    assert "woocommerce_anonymize_completed_orders" in facts["Retain completed orders"].source
    person = sample_people(shop_url, 1)[0]
    notes = (await connector.access(Identity(email=person.email))).notes
    assert "Retain inactive accounts: 3 years" in notes


async def test_guest_orders_are_found_only_by_search(
    connector: WooCommerceConnector, server: SandboxServer, shop_url: str
) -> None:
    guest = sample_people(shop_url, 1, guests=True)[0]
    client = connector.client
    assert await client.customer(guest.email) is None
    by_customer = await client.all("/orders", {"customer": 0, "search": guest.email})
    assert by_customer
    orders = await client.orders_of(guest.email)
    assert [o["id"] for o in orders] == order_ids(shop_url, guest.email, None)
    # a search also matches longer addresses; only the exact billing e-mail counts
    local, _, domain = guest.email.partition("@")
    assert await client.orders_of(f"x{local}@{domain}") == []


async def test_more_than_a_hundred_orders_are_read_page_by_page(
    template_shop: Path, tmp_path: Path
) -> None:
    path = tmp_path / "big.sqlite3"
    shutil.copy(template_shop, path)
    url = f"sqlite:///{path}"
    person = sample_people(url, 1)[0]
    orders = shop_metadata().tables["orders"]
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            insert(orders),
            [
                {
                    "id": 10_000_000 + n,
                    "order_number": f"B{n:09d}",
                    "customer_id": None,
                    "billing_email": person.email,
                    "billing_name": person.name,
                    "created_at": datetime(2024, 1, 1) + timedelta(hours=n),
                    "status": "completed",
                    "payment_method": "card",
                    "currency": "NOK",
                    "total": 100,
                    "vat": 20,
                }
                for n in range(230)
            ],
        )
    engine.dispose()
    want = order_ids(url, person.email, person.customer_id)
    assert len(want) > 230
    with SandboxServer(SandboxContext(url), ["woocommerce"]) as running:
        client = WooClient(running.vendor_url("woocommerce"), CONSUMER_KEY, CONSUMER_SECRET)
        try:
            assert [o["id"] for o in await client.orders_of(person.email)] == want
        finally:
            await client.aclose()


async def test_erasure_under_a_bookkeeping_hold(
    connector: WooCommerceConnector, server: SandboxServer, shop_url: str
) -> None:
    person = sample_people(shop_url, 1)[0]
    identity = Identity(email=person.email)
    before = {
        r.key: r for r in (await connector.access(identity)).records if r.collection == "orders"
    }
    hold = bookkeeping_hold("orders", ORDER_HOLD)
    result = await connector.erase(identity, ErasurePlan("delete", (hold,)))
    assert result.kept == (hold,)
    assert result.deleted["customers"] == 1
    assert result.anonymized["orders"] == len(before)
    assert result.deleted["order_notes"] > 0
    assert any("read-only" in n for n in result.notes)  # the IP address cannot be masked
    state = shop_state(server)
    with _api(server) as api:
        for key, rec in before.items():
            now = api.get(f"/orders/{key}").json()
            assert now["number"] == rec.fields["number"]
            assert now["billing"]["first_name"] == rec.fields["billing.first_name"]
            assert now["billing"]["email"] == "deleted@site.invalid"
            assert now["billing"]["city"] == "[deleted]"
            assert now["billing"]["phone"].strip("+0") == ""
            assert now["billing"]["country"] == ""
            assert now["customer_id"] == 0
            assert now["transaction_id"] in ("", "0")
            assert {(m["key"], m["value"]) for m in now["meta_data"]} == {("_anonymized", "yes")}
            assert state.notes.get(int(key)) == []
    again = await connector.erase(identity, ErasurePlan("delete", (hold,)))
    assert again.deleted == {}
    assert again.anonymized == {}


async def test_rectify_corrects_customer_and_orders(
    connector: WooCommerceConnector, shop_url: str
) -> None:
    person = sample_people(shop_url, 1)[0]
    identity = Identity(email=person.email)
    changes = {
        "user.contact.phone_number": "+4799999999",
        "user.contact.address": "Storgata 1, 0155 Oslo",
    }
    result = await connector.rectify(identity, changes)
    orders = len(order_ids(shop_url, person.email, person.customer_id))
    assert result.changed == {"customers": 1, "orders": orders}
    records = (await connector.access(identity)).records
    for rec in records:
        if rec.collection in ("customers", "orders"):
            assert rec.fields["billing.phone"] == "+4799999999"
            assert rec.fields["billing.address_1"] == "Storgata 1"
            assert rec.fields["shipping.postcode"] == "0155"
    assert (await connector.rectify(identity, changes)).changed == {}
    with pytest.raises(Fatal, match="street, postcode city"):
        await connector.rectify(identity, {"user.contact.address": "somewhere"})
    with pytest.raises(Fatal, match="nothing in WooCommerce"):
        await connector.rectify(identity, {"user.shoe_size": "43"})


def test_the_registry_builds_it_from_environment_variables(server: SandboxServer) -> None:
    registry = ConnectorRegistry.from_entry_points()
    built = registry.build(
        "woocommerce",
        {
            "url": server.vendor_url("woocommerce"),
            "consumer_key_env": "SHOP_WC_KEY",
            "consumer_secret_env": "SHOP_WC_SECRET",
            "holds": ["bookkeeping_primary: orders(number, total)"],
        },
        {"SHOP_WC_KEY": CONSUMER_KEY, "SHOP_WC_SECRET": CONSUMER_SECRET},
    )
    assert isinstance(built, WooCommerceConnector)
    assert built.config.consumer_secret is not None
    assert built.config.consumer_secret.get_secret_value() == CONSUMER_SECRET
    assert CONSUMER_SECRET not in repr(built.config)


# --- sweeps ---------------------------------------------------------------------------------


def _rule(**kw: Any) -> SweepRule:
    base: dict[str, Any] = {
        "rule": "order_records",
        "collection": "orders",
        "date_field": "date_created",
        "cutoff": datetime(2026, 1, 1),
        "action": "anonymize",
        "where": {"status": ("completed", "processing", "refunded")},
    }
    return SweepRule(**{**base, **kw})


async def test_sweep_dry_run_then_run_then_nothing(
    connector: WooCommerceConnector, server: SandboxServer, shop_url: str
) -> None:
    snapshot = server.app("woocommerce").snapshot
    before = snapshot()
    due = {
        k
        for k, o in before["orders"].items()
        if o["status"] in ("completed", "processing", "refunded")
        and o["date_created"] < "2026-01-01"
    }
    assert len(due) > 100  # more than one page
    victim = next(o for k, o in before["orders"].items() if k in due)
    excluded = Identity(email=victim["billing.email"])
    theirs = {k for k in due if before["orders"][k]["billing.email"] == victim["billing.email"]}
    rule = _rule(exclude=(excluded,), holds=(bookkeeping_hold("orders", ("number", "total")),))
    plan = await connector.sweep(rule, dry_run=True)
    assert plan.matched == len(due)
    assert plan.held == len(theirs)
    assert plan.anonymized == plan.deleted == 0
    assert plan.total == len(before["orders"])
    assert plan.samples
    for sample in plan.samples:
        assert "***@" in sample["email"]
    assert snapshot() == before
    run = await connector.sweep(rule)
    assert run.anonymized == len(due) - len(theirs)
    assert run.held == len(theirs)
    after = snapshot()
    for key in due - theirs:
        assert after["orders"][key]["billing.email"] == "deleted@site.invalid"
        assert after["orders"][key]["number"] == before["orders"][key]["number"]
    for key in set(before["orders"]) - (due - theirs):
        assert after["orders"][key] == before["orders"][key]
    again = await connector.sweep(rule)
    assert (again.matched, again.anonymized, again.held) == (len(theirs), 0, len(theirs))
    assert snapshot() == after


async def test_sweep_deletes_old_orders_and_inactive_accounts(
    connector: WooCommerceConnector, server: SandboxServer
) -> None:
    snapshot = server.app("woocommerce").snapshot
    before = snapshot()
    cancelled = {
        k
        for k, o in before["orders"].items()
        if o["status"] in ("cancelled", "completed") and o["date_created"] < "2025-09-01"
    }
    assert len(cancelled) > 100  # more than one page, while the listing shifts under it
    result = await connector.sweep(
        _rule(
            rule="cancelled",
            action="delete",
            cutoff=datetime(2025, 9, 1),
            where={"status": ("cancelled", "completed")},
        )
    )
    assert result.deleted == len(cancelled)
    assert set(snapshot()["orders"]) == set(before["orders"]) - cancelled
    cutoff = datetime(2020, 6, 1)
    old = {k for k, c in before["customers"].items() if c["date_created"] < "2020-06-01"}
    keep_one = min(old, key=int)
    rule = SweepRule(
        rule="inactive_accounts",
        collection="customers",
        date_field="date_created",
        cutoff=cutoff,
        action="delete",
        exclude=(Identity(customer_id=keep_one),),
    )
    assert (await connector.sweep(rule, dry_run=True)).matched == len(old)
    done = await connector.sweep(rule)
    assert (done.deleted, done.held) == (len(old) - 1, 1)
    assert set(snapshot()["customers"]) == (set(before["customers"]) - old) | {keep_one}
    assert (await connector.sweep(rule)).deleted == 0
