"""The vipps connector and sandbox: payments found through the shop, the access token.

One demo shop and one sandbox server (WooCommerce and Vipps MobilePay) serve the module;
the connector only reads, so their data stays as seeded.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conformance import Key, Snapshot
from http_conformance import CannotEraseConformance
from payments_support import SHOP_SIZE, assert_forward_task, people, woo_settings

from personvern.connectors import vipps
from personvern.connectors.base import Fatal, Hold, Identity
from personvern.connectors.registry import ConnectorRegistry
from personvern.connectors.vipps import VippsConnector, VippsSettings
from personvern.demo.shop import build_shop
from personvern.inventory.taxonomy import keys
from personvern.sandbox.faults import Faults
from personvern.sandbox.people import Person, vipps_reference
from personvern.sandbox.server import SandboxContext, SandboxServer
from personvern.sandbox.vipps import VippsState


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    path: Path = tmp_path_factory.mktemp("vipps") / "shop.sqlite3"
    url = f"sqlite:///{path}"
    build_shop(url, customers=SHOP_SIZE)
    with SandboxServer(SandboxContext(url), ["woocommerce", "vipps"]) as running:
        yield running


@pytest.fixture(scope="module")
def state(server: SandboxServer) -> VippsState:
    got = server.app("vipps").state
    assert isinstance(got, VippsState)
    return got


def references(person: Person) -> list[str]:
    return [vipps_reference(o.number) for o in person.orders if o.payment_method == "vipps"]


@pytest.fixture(scope="module")
def payer(server: SandboxServer) -> Person:
    """Someone who paid with Vipps at least twice."""
    return next(p for p in people(server) if len(references(p)) >= 2)


def settings(server: SandboxServer, **changes: Any) -> VippsSettings:
    creds = server.app("vipps").credentials
    values: dict[str, Any] = {"base_url": server.vendor_url("vipps"), **creds}
    values.update(woo_settings(server))
    return VippsSettings.model_validate({**values, **changes})


@pytest.fixture
async def connector(server: SandboxServer) -> AsyncIterator[VippsConnector]:
    conn = VippsConnector(settings(server))
    yield conn
    await conn.aclose()


@pytest.fixture
def person(payer: Person) -> Identity:
    return Identity(email=payer.email)


@pytest.fixture
def expected(payer: Person, state: VippsState) -> set[Key]:
    out: set[Key] = set()
    for ref in references(payer):
        out.add(("payments", ref))
        out |= {("events", f"{ref}/{n}") for n in range(len(state.events[ref]))}
    return out


@pytest.fixture
def snapshot(server: SandboxServer) -> Callable[[], Snapshot]:
    return lambda: server.app("vipps").snapshot()


@pytest.fixture
def hold() -> Hold:
    return Hold("payments", ("amount.value",), "hvitvaskingsloven § 30", None)


@pytest.fixture
async def bad_connector(server: SandboxServer) -> AsyncIterator[VippsConnector]:
    # Wrong on both ends: access for NOBODY meets WooCommerce first, check meets Vipps.
    conn = VippsConnector(
        settings(
            server,
            client_secret="not-the-client-secret",
            woocommerce_consumer_secret="cs_" + "0" * 40,
        )
    )
    yield conn
    await conn.aclose()


@pytest.fixture
def faults(server: SandboxServer) -> Iterator[Faults]:
    got = server.faults("vipps")
    yield got
    got.reset()


class TestVippsConformance(CannotEraseConformance):
    """The HTTP kit for a connector without erasure: Vipps MobilePay AS is an independent
    controller with no deletion API (GDPR Art. 17(2), 19)."""


def test_erasure_becomes_a_forward_task() -> None:
    assert_forward_task(VippsConnector, "vipps", "Vipps MobilePay AS")


# --- the access token ----------------------------------------------------------------------


async def test_the_token_is_fetched_once(
    connector: VippsConnector, person: Identity, state: VippsState, payer: Person
) -> None:
    issued = state.tokens_issued
    first = await connector.access(person)
    second = await connector.access(person)
    assert state.tokens_issued == issued + 1
    # Two payments or more, each read twice (payment and events), twice over: one token.
    assert len(references(payer)) >= 2
    assert {(r.collection, r.key) for r in first.records} == {
        (r.collection, r.key) for r in second.records
    }


async def test_an_expired_token_is_replaced(
    connector: VippsConnector, person: Identity, state: VippsState, expected: set[Key]
) -> None:
    await connector.access(person)
    issued = state.tokens_issued
    state.expire_tokens()  # as an hour passing would
    result = await connector.access(person)
    assert {(r.collection, r.key) for r in result.records} == expected
    assert state.tokens_issued == issued + 1
    again = await connector.access(person)
    assert again.records
    assert state.tokens_issued == issued + 1


async def test_a_short_lived_token_is_not_kept(
    connector: VippsConnector, person: Identity, state: VippsState
) -> None:
    # A token that expires within the safety margin is renewed before each use.
    state.token_lifetime = 30
    try:
        issued = state.tokens_issued
        await connector.access(person)
        first = state.tokens_issued - issued
        await connector.access(person)
        assert state.tokens_issued - issued == 2 * first
        assert first >= 1
    finally:
        state.token_lifetime = 3600


# --- the sandbox's gateway ------------------------------------------------------------------


def _headers(server: SandboxServer, token: str | None = None, **leave_out: bool) -> dict[str, str]:
    creds = server.app("vipps").credentials
    headers = {
        "Ocp-Apim-Subscription-Key": creds["subscription_key"],
        "Merchant-Serial-Number": creds["merchant_serial_number"],
        "client_id": creds["client_id"],
        "client_secret": creds["client_secret"],
    }
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return {k: v for k, v in headers.items() if not leave_out.get(k.replace("-", "_").lower())}


@pytest.mark.parametrize(
    "missing",
    ["ocp_apim_subscription_key", "merchant_serial_number", "authorization", None],
)
async def test_missing_vipps_headers_are_401(
    server: SandboxServer, payer: Person, missing: str | None
) -> None:
    ref = references(payer)[0]
    async with httpx.AsyncClient(base_url=server.vendor_url("vipps")) as client:
        got = await client.post("/accesstoken/get", headers=_headers(server))
        assert got.status_code == 200
        body = got.json()
        assert body["token_type"] == "Bearer"
        assert body["expires_in"] == "3600"  # a string, as Vipps sends it
        headers = _headers(server, body["access_token"], **({missing: True} if missing else {}))
        response = await client.get(f"/epayment/v1/payments/{ref}", headers=headers)
    if missing is None:
        assert response.status_code == 200
        assert response.json()["reference"] == ref
        return
    assert response.status_code == 401
    problem = response.json()
    assert problem["status"] == 401
    assert problem["title"] == "Unauthorized"
    assert problem["traceId"]


@pytest.mark.parametrize("missing", ["client_secret", "ocp_apim_subscription_key"])
async def test_the_token_needs_every_key(server: SandboxServer, missing: str) -> None:
    async with httpx.AsyncClient(base_url=server.vendor_url("vipps")) as client:
        got = await client.post("/accesstoken/get", headers=_headers(server, **{missing: True}))
    assert got.status_code == 401


async def test_unknown_reference_is_404_problem(server: SandboxServer) -> None:
    async with httpx.AsyncClient(base_url=server.vendor_url("vipps")) as client:
        token = (await client.post("/accesstoken/get", headers=_headers(server))).json()
        headers = _headers(server, token["access_token"])
        response = await client.get("/epayment/v1/payments/assemble-none/events", headers=headers)
    assert response.status_code == 404
    assert response.json()["type"] == "https://httpstatuses.io/404"


async def test_the_connector_sends_the_vipps_system_headers(
    connector: VippsConnector, person: Identity, state: VippsState
) -> None:
    await connector.access(person)
    assert state.system_headers["vipps-system-name"] == "personvern"
    assert state.system_headers["vipps-system-plugin-name"] == "personvern-vipps"
    assert state.system_headers["vipps-system-version"]


# --- what access returns --------------------------------------------------------------------


async def test_payments_carry_the_shared_profile_and_events(
    connector: VippsConnector, payer: Person, state: VippsState
) -> None:
    result = await connector.access(Identity(email=payer.email))
    ref = references(payer)[0]
    payment = next(r for r in result.records if r.collection == "payments" and r.key == ref)
    assert payment.fields["userDetails.email"] == state.payments[ref]["userDetails"]["email"]
    assert payment.fields["profile.sub"]
    assert payment.categories["userDetails.mobileNumber"] == "user.contact.phone_number"
    assert payment.categories["shippingDetails.address.city"] == "user.contact.address.city"
    events = [r for r in result.records if r.collection == "events" and r.key.startswith(ref)]
    assert [e.fields["name"] for e in events][:2] == ["CREATED", "AUTHORIZED"]


async def test_a_payment_vipps_has_no_record_of_is_a_note(
    connector: VippsConnector, payer: Person, state: VippsState
) -> None:
    gone, kept = references(payer)[:2]
    with state.lock:
        payment = state.payments.pop(gone)
        events = state.events.pop(gone)
    try:
        result = await connector.access(Identity(email=payer.email))
    finally:
        with state.lock:
            state.payments[gone] = payment
            state.events[gone] = events
    keys = {r.key for r in result.records if r.collection == "payments"}
    assert gone not in keys
    assert kept in keys
    assert any(gone in n and "no record" in n for n in result.notes)


async def test_check_fails_on_a_wrong_subscription_key(server: SandboxServer) -> None:
    conn = VippsConnector(settings(server, subscription_key="0" * 32))
    try:
        with pytest.raises(Fatal, match="401") as caught:
            await conn.check()
        assert "0" * 32 not in str(caught.value)
    finally:
        await conn.aclose()


async def test_registry_builds_it_from_inventory_settings(server: SandboxServer) -> None:
    registry = ConnectorRegistry.from_entry_points()
    creds = server.app("vipps").credentials
    woo = woo_settings(server)
    conn = registry.build(
        "vipps",
        {
            "base_url": server.vendor_url("vipps"),
            "client_id_env": "VIPPS_CLIENT_ID",
            "client_secret_env": "VIPPS_CLIENT_SECRET",
            "subscription_key_env": "VIPPS_SUBSCRIPTION_KEY",
            "merchant_serial_number_env": "VIPPS_MERCHANT_SERIAL_NUMBER",
            "woocommerce_url": woo["woocommerce_url"],
            "woocommerce_consumer_key_env": "WOOCOMMERCE_CONSUMER_KEY",
            "woocommerce_consumer_secret_env": "WOOCOMMERCE_CONSUMER_SECRET",
        },
        environ={
            "VIPPS_CLIENT_ID": creds["client_id"],
            "VIPPS_CLIENT_SECRET": creds["client_secret"],
            "VIPPS_SUBSCRIPTION_KEY": creds["subscription_key"],
            "VIPPS_MERCHANT_SERIAL_NUMBER": creds["merchant_serial_number"],
            "WOOCOMMERCE_CONSUMER_KEY": woo["woocommerce_consumer_key"],
            "WOOCOMMERCE_CONSUMER_SECRET": woo["woocommerce_consumer_secret"],
        },
    )
    try:
        assert isinstance(conn, VippsConnector)
        await conn.check()
    finally:
        await conn.aclose()


def test_the_categories_are_fideslang_keys() -> None:
    assert {*vipps.CATEGORIES.values(), *vipps.EVENT_CATEGORIES.values()} <= keys("data_category")
