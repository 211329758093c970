"""The visma_eaccounting connector against the Visma eAccounting sandbox, over real HTTP.

The person's records are worked out from the sandbox's state, not through the connector:
their customer card (keyed by Visma's id), which carries the invoice list.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from conformance import Key, Snapshot, bookkeeping_hold
from http_conformance import HttpConnectorConformance

from personvern.connectors.base import ErasurePlan, Fatal, Hold, Identity
from personvern.connectors.registry import ConnectorRegistry
from personvern.connectors.visma_eaccounting import (
    BLANKED,
    KEPT,
    VismaEAccountingConnector,
    VismaSettings,
)
from personvern.demo.shop import build_shop
from personvern.sandbox import visma_eaccounting as visma
from personvern.sandbox.faults import Faults
from personvern.sandbox.people import Person
from personvern.sandbox.server import SandboxContext, SandboxServer

VENDOR = "visma_eaccounting"
HOLD_FIELDS = ("Name", "InvoiceAddress1", "InvoicePostalCode", "InvoiceCity")


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> SandboxContext:
    url = f"sqlite:///{tmp_path_factory.mktemp('visma') / 'shop.sqlite3'}"
    build_shop(url, customers=40)
    context = SandboxContext(url)
    assert context.people
    return context


@pytest.fixture
def server(context: SandboxContext) -> Iterator[SandboxServer]:
    # A fresh sandbox per test: erasure and rectification change its state.
    with SandboxServer(context, [VENDOR]) as running:
        yield running


@pytest.fixture
def state(server: SandboxServer) -> visma.VismaState:
    found = server.app(VENDOR).state
    assert isinstance(found, visma.VismaState)
    return found


@pytest.fixture
def faults(server: SandboxServer) -> Faults:
    return server.faults(VENDOR)


def _settings(server: SandboxServer, **extra: Any) -> VismaSettings:
    values = {**server.app(VENDOR).credentials, "base_url": server.vendor_url(VENDOR), **extra}
    return VismaSettings.model_validate(values)


def _invoices_of(state: visma.VismaState, customer_id: str) -> list[dict[str, Any]]:
    return [i for i in state.invoices.values() if i["CustomerId"] == customer_id]


def _most_invoiced(context: SandboxContext, state: visma.VismaState) -> Person:
    """The customer with the most invoices (three or more), for the paging tests."""
    people = [p for p in context.people if visma.customer_id_of(p.email) in state.customers]
    best = max(people, key=lambda p: len(_invoices_of(state, visma.customer_id_of(p.email))))
    assert len(_invoices_of(state, visma.customer_id_of(best.email))) >= 3
    return best


@pytest.fixture
async def connector(server: SandboxServer) -> AsyncIterator[VismaEAccountingConnector]:
    made = VismaEAccountingConnector(_settings(server))
    yield made
    await made.aclose()


@pytest.fixture
def shop_person(context: SandboxContext, state: visma.VismaState) -> Person:
    return _most_invoiced(context, state)


@pytest.fixture
def person(shop_person: Person) -> Identity:
    return Identity(email=shop_person.email)


@pytest.fixture
def expected(state: visma.VismaState, shop_person: Person) -> set[Key]:
    wanted = shop_person.email.lower()
    return {
        ("customers", key)
        for key, row in state.customers.items()
        if (row["EmailAddress"] or "").lower() == wanted
    }


@pytest.fixture
def snapshot(state: visma.VismaState) -> Callable[[], Snapshot]:
    return state.snapshot


@pytest.fixture
def hold() -> Hold:
    return bookkeeping_hold("customers", HOLD_FIELDS)


@pytest.fixture
async def bad_connector(server: SandboxServer) -> AsyncIterator[VismaEAccountingConnector]:
    made = VismaEAccountingConnector(_settings(server, client_secret="wrong-secret"))
    yield made
    await made.aclose()


class TestVismaConformance(HttpConnectorConformance):
    """The kit, unchanged."""


# --- what is particular to Visma ----------------------------------------------------------


async def test_access_returns_the_customer_with_every_invoice(
    connector: VismaEAccountingConnector, shop_person: Person, state: visma.VismaState
) -> None:
    result = await connector.access(Identity(email=shop_person.email.upper()))
    (record,) = result.records
    key = visma.customer_id_of(shop_person.email)
    assert record.key == key
    assert record.fields["Name"] == shop_person.name
    invoices = {i["Id"] for i in record.fields["Invoices"]}
    assert invoices == {i["Id"] for i in _invoices_of(state, key)}
    assert record.categories["EmailAddress"] == "user.contact.email"


@pytest.mark.parametrize("page_size", [1, 2, 1000])
async def test_every_page_is_read(
    server: SandboxServer, shop_person: Person, state: visma.VismaState, page_size: int
) -> None:
    # A second card with the same address (a duplicate made by hand) must be found too.
    key = visma.customer_id_of(shop_person.email)
    twin = {**state.customers[key], "Id": "00000000-0000-4000-8000-000000000001"}
    state.customers[twin["Id"]] = twin
    made = VismaEAccountingConnector(_settings(server, page_size=page_size))
    try:
        result = await made.access(Identity(email=shop_person.email))
    finally:
        await made.aclose()
    assert {r.key for r in result.records} == {key, twin["Id"]}
    mine = next(r for r in result.records if r.key == key)
    assert len(mine.fields["Invoices"]) == len(_invoices_of(state, key))


async def test_erasure_keeps_what_the_bookkeeping_needs_and_reports_the_hold(
    connector: VismaEAccountingConnector, shop_person: Person, state: visma.VismaState
) -> None:
    key = visma.customer_id_of(shop_person.email)
    before = dict(state.customers[key])
    invoices_before = {i["Id"]: dict(i) for i in _invoices_of(state, key)}
    result = await connector.erase(Identity(email=shop_person.email), ErasurePlan("delete"))
    after = state.customers[key]
    assert result.anonymized == {"customers": 1}
    assert after["IsActive"] is False
    for name in BLANKED:
        assert after[name] is None, name
    for name in KEPT:
        if name != "Invoices":
            assert after[name] == before[name], name
    assert {i["Id"]: i for i in _invoices_of(state, key)} == invoices_before
    latest = max(date.fromisoformat(i["InvoiceDate"]).year for i in invoices_before.values())
    assert result.kept == (
        Hold("customers", KEPT, "bokføringsloven § 13", date(latest + 5, 12, 31)),
    )


async def test_a_customer_without_invoices_is_deleted(
    connector: VismaEAccountingConnector, shop_person: Person, state: visma.VismaState
) -> None:
    key = visma.customer_id_of(shop_person.email)
    for invoice in _invoices_of(state, key):
        del state.invoices[invoice["Id"]]
    result = await connector.erase(Identity(email=shop_person.email), ErasurePlan())
    assert result.deleted == {"customers": 1}
    assert result.kept == ()
    assert key not in state.customers


async def test_rectify_corrects_the_card_and_leaves_invoices_alone(
    connector: VismaEAccountingConnector, shop_person: Person, state: visma.VismaState
) -> None:
    key = visma.customer_id_of(shop_person.email)
    invoices_before = {i["Id"]: dict(i) for i in _invoices_of(state, key)}
    changes_ = {
        "name": "Kari Nordmann",
        "phone": "+4799999999",
        "address": "Storgata 1, 0155 Oslo",
        "email": "kari.nordmann@example.no",
    }
    result = await connector.rectify(Identity(email=shop_person.email), changes_)
    assert result.changed == {"customers": 1}
    row = state.customers[key]
    assert (row["Name"], row["MobilePhone"], row["EmailAddress"]) == (
        "Kari Nordmann",
        "+4799999999",
        "kari.nordmann@example.no",
    )
    assert (row["InvoiceAddress1"], row["InvoicePostalCode"], row["InvoiceCity"]) == (
        "Storgata 1",
        "0155",
        "Oslo",
    )
    assert {i["Id"]: i for i in _invoices_of(state, key)} == invoices_before
    again = await connector.rectify(Identity(email="kari.nordmann@example.no"), changes_)
    assert again.changed == {}


async def test_an_address_that_cannot_be_read_is_fatal(
    connector: VismaEAccountingConnector, shop_person: Person
) -> None:
    with pytest.raises(Fatal, match="street, postcode city"):
        await connector.rectify(Identity(email=shop_person.email), {"address": "somewhere"})


async def test_restrict_sets_the_customer_inactive_once(
    connector: VismaEAccountingConnector, shop_person: Person, state: visma.VismaState
) -> None:
    key = visma.customer_id_of(shop_person.email)
    first = await connector.restrict(Identity(email=shop_person.email))
    assert first.changed == {"customers": 1}
    assert state.customers[key]["IsActive"] is False
    assert state.customers[key]["EmailAddress"] == shop_person.email  # kept: only restricted
    assert (await connector.restrict(Identity(email=shop_person.email))).changed == {}


async def test_a_rotated_refresh_token_is_used_and_kept_in_the_cache_file(
    server: SandboxServer, shop_person: Person, state: visma.VismaState, tmp_path: Path
) -> None:
    state.issuer.one_time = True  # Visma's default: a refresh token works once
    cache = tmp_path / "visma-refresh-token"
    made = VismaEAccountingConnector(_settings(server, token_cache_file=cache))
    try:
        await made.access(Identity(email=shop_person.email))
        state.issuer.expire_all()
        assert (await made.access(Identity(email=shop_person.email))).records
        assert made.tokens.refreshes == 2
    finally:
        await made.aclose()
    assert cache.stat().st_mode & 0o777 == 0o600
    # The configured token is spent: without the cache a new process could not get in …
    stale = VismaEAccountingConnector(_settings(server))
    try:
        with pytest.raises(Fatal, match="authorise personvern again"):
            await stale.check()
    finally:
        await stale.aclose()
    # … with it, it carries on.
    restarted = VismaEAccountingConnector(_settings(server, token_cache_file=cache))
    try:
        await restarted.check()
    finally:
        await restarted.aclose()


async def test_an_expired_token_is_renewed_and_the_call_made_again(
    connector: VismaEAccountingConnector, shop_person: Person, state: visma.VismaState
) -> None:
    await connector.access(Identity(email=shop_person.email))
    issued = state.issuer.issued
    state.issuer.expire_all()
    assert (await connector.access(Identity(email=shop_person.email))).records
    assert state.issuer.issued == issued + 1


async def test_read_only_credentials_cannot_erase(
    server: SandboxServer, shop_person: Person, state: visma.VismaState
) -> None:
    narrow = state.issuer.add_refresh_token(visma.CLIENT_ID, {"ea:api", "ea:sales_readonly"})
    made = VismaEAccountingConnector(_settings(server, refresh_token=narrow))
    before = state.snapshot()
    try:
        assert (await made.access(Identity(email=shop_person.email))).records
        with pytest.raises(Fatal, match="403") as caught:
            await made.erase(Identity(email=shop_person.email), ErasurePlan())
        assert "credential" in str(caught.value)
    finally:
        await made.aclose()
    assert state.snapshot() == before


async def test_registry_builds_it_from_environment_variables(
    server: SandboxServer, shop_person: Person
) -> None:
    creds = server.app(VENDOR).credentials
    environ = {
        "VISMA_CLIENT_ID": creds["client_id"],
        "VISMA_CLIENT_SECRET": creds["client_secret"],
        "VISMA_REFRESH_TOKEN": creds["refresh_token"],
    }
    made = ConnectorRegistry.from_entry_points().build(
        VENDOR,
        {
            "client_id_env": "VISMA_CLIENT_ID",
            "client_secret_env": "VISMA_CLIENT_SECRET",
            "refresh_token_env": "VISMA_REFRESH_TOKEN",
            "base_url": server.vendor_url(VENDOR),
        },
        environ,
    )
    assert isinstance(made, VismaEAccountingConnector)
    assert creds["client_secret"] not in repr(made.settings)
    try:
        await made.check()
        assert (await made.access(Identity(email=shop_person.email))).records
    finally:
        await made.aclose()
