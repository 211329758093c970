"""The google_analytics connector against the Google Analytics sandbox, over real HTTP.

GA4 has no per-person lookup, so the kit's access-based tests cannot apply as written:
:class:`TestGoogleAnalyticsConformance` replaces each with the same check made through
``erase`` (and says so). The rest of the kit runs unchanged.

The connector is set up as the Assemble inventory sets it up: ``user_id_from: customer_id``
with the demo shop's database as ``user_id_url``, so a person known only by e-mail address
(and, if they pasted it, their ``_ga`` value) is erased by GA user id too; the tests at the
end check that mapping on its own, on SQLite, PostgreSQL and MariaDB.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conformance import NOBODY, Key, Snapshot, changes
from http_conformance import HttpConnectorConformance
from pydantic import SecretStr
from sqlalchemy import create_engine, text

from personvern.connectors.base import ErasurePlan, Fatal, Hold, Identity, Retriable
from personvern.connectors.google_analytics import (
    GoogleAnalyticsConnector,
    GoogleAnalyticsSettings,
    client_id_from_ga,
)
from personvern.connectors.registry import ConnectorRegistry
from personvern.connectors.sql import SqlConnector, SqlSettings
from personvern.connectors.user_id_mapping import DEFAULT_QUERY, UserIdMapping
from personvern.demo.shop import build_shop
from personvern.sandbox import google_analytics as ga
from personvern.sandbox.faults import Faults
from personvern.sandbox.people import Person, people_from_shop
from personvern.sandbox.server import SandboxContext, SandboxServer

VENDOR = "google_analytics"
# The Assemble inventory's dataset of the demo shop, as its woocommerce system erases it.
SHOP_DATASET = Path(ga.__file__).parents[1] / "demo" / "assemble" / "shop_dataset.yml"


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> SandboxContext:
    url = f"sqlite:///{tmp_path_factory.mktemp('ga') / 'shop.sqlite3'}"
    build_shop(url, customers=40)
    context = SandboxContext(url)
    assert context.people  # read the shop once, for every test of the module
    return context


@pytest.fixture
def server(context: SandboxContext) -> Iterator[SandboxServer]:
    # A fresh sandbox per test: a deletion request cannot be taken back.
    with SandboxServer(context, [VENDOR]) as running:
        yield running


@pytest.fixture
def state(server: SandboxServer) -> ga.AnalyticsState:
    found = server.app(VENDOR).state
    assert isinstance(found, ga.AnalyticsState)
    return found


@pytest.fixture
def faults(server: SandboxServer) -> Faults:
    return server.faults(VENDOR)


def _customer(context: SandboxContext, nth: int = 0) -> Person:
    return [p for p in context.people if p.customer_id is not None and p.orders][nth]


def _guest(context: SandboxContext) -> Person:
    return next(p for p in context.people if p.customer_id is None)


def _settings(server: SandboxServer, **extra: Any) -> GoogleAnalyticsSettings:
    values: dict[str, Any] = {
        **server.app(VENDOR).credentials,
        "base_url": server.vendor_url(VENDOR),
        "user_id_from": "customer_id",
        **extra,
    }
    return GoogleAnalyticsSettings.model_validate(values)


async def _erase(settings: GoogleAnalyticsSettings, identity: Identity) -> Any:
    """One erasure by a connector of its own, closed afterwards."""
    made = GoogleAnalyticsConnector(settings)
    try:
        return await made.erase(identity, ErasurePlan())
    finally:
        await made.aclose()


@pytest.fixture
async def connector(
    server: SandboxServer, context: SandboxContext
) -> AsyncIterator[GoogleAnalyticsConnector]:
    # As the inventory sets it up: customer ids are GA user ids, mapped from the shop.
    made = GoogleAnalyticsConnector(_settings(server, user_id_url=context.shop_url))
    yield made
    await made.aclose()


@pytest.fixture
def shop_person(context: SandboxContext) -> Person:
    return _customer(context)


def _identity(person: Person) -> Identity:
    """What a request knows: the e-mail address and the _ga value the person pasted."""
    return Identity(email=person.email, ga_client_id=f"GA1.1.{ga.client_id_of(person)}")


@pytest.fixture
def person(shop_person: Person) -> Identity:
    return _identity(shop_person)


@pytest.fixture
def expected(shop_person: Person) -> set[Key]:
    cid = ga.client_id_of(shop_person)
    prop = ga.PROPERTY_ID
    return {
        ("users", cid),
        ("userDeletionRequests", f"{prop}/CLIENT_ID/{cid}"),
        ("userDeletionRequests", f"{prop}/USER_ID/{shop_person.customer_id}"),
    }


@pytest.fixture
def snapshot(state: ga.AnalyticsState) -> Callable[[], Snapshot]:
    return state.snapshot


@pytest.fixture
def hold() -> Hold:
    return Hold("users", ("client_id", "user_id"), "a dispute over the order", None)


@pytest.fixture
async def bad_connector(server: SandboxServer) -> AsyncIterator[GoogleAnalyticsConnector]:
    made = GoogleAnalyticsConnector(_settings(server, client_secret="GOCSPX-wrong"))
    yield made
    await made.aclose()


class TestGoogleAnalyticsConformance(HttpConnectorConformance):
    """The kit; the tests that go through ``access`` are replaced by ``erase``-based ones."""

    # GA4 has no per-user export: access must refuse, and the plan makes it a manual task.
    async def test_access_finds_exactly_the_persons_records(
        self, connector: GoogleAnalyticsConnector, person: Identity, expected: set[Key]
    ) -> None:
        with pytest.raises(Fatal, match="cannot look people up"):
            await connector.access(person)

    async def test_unknown_identity_returns_no_records(
        self, connector: GoogleAnalyticsConnector
    ) -> None:
        with pytest.raises(Fatal, match="cannot look people up"):
            await connector.access(NOBODY)

    # "Unfindable" is not observable through the API; the sandbox shows the deletion.
    async def test_erase_leaves_the_person_unfindable_and_is_idempotent(
        self,
        connector: GoogleAnalyticsConnector,
        person: Identity,
        shop_person: Person,
        state: ga.AnalyticsState,
    ) -> None:
        first = await connector.erase(person, ErasurePlan("anonymize"))
        assert changes(first) == 2  # the client id and the user id
        assert state.users[ga.client_id_of(shop_person)]["deletion_requested"]
        second = await connector.erase(person, ErasurePlan("anonymize"))
        assert changes(second) == 0, f"a second erasure changed something: {second}"
        assert len(state.requests) == 2

    # The HTTP kit's fault tests, through erase instead of access.
    @pytest.mark.parametrize("status", [401, 403])
    async def test_refused_credentials_are_fatal(
        self,
        connector: GoogleAnalyticsConnector,
        person: Identity,
        faults: Faults,
        status: int,
    ) -> None:
        faults.fail_next(status, times=20)
        try:
            with pytest.raises(Fatal) as caught:
                await connector.erase(person, ErasurePlan())
        finally:
            faults.reset()
        message = str(caught.value)
        assert str(status) in message
        assert "credential" in message.lower()
        assert ga.CLIENT_SECRET not in message
        assert ga.REFRESH_TOKEN not in message
        assert changes(await connector.erase(person, ErasurePlan())) == 2  # it recovers

    @pytest.mark.parametrize("status", [429, 500, 502, 503])
    async def test_throttling_and_server_errors_are_retriable_with_retry_after(
        self,
        connector: GoogleAnalyticsConnector,
        person: Identity,
        faults: Faults,
        status: int,
    ) -> None:
        faults.fail_next(status, retry_after="7")
        try:
            with pytest.raises(Retriable) as caught:
                await connector.erase(person, ErasurePlan())
        finally:
            faults.reset()
        assert caught.value.retry_after == pytest.approx(7)
        assert changes(await connector.erase(person, ErasurePlan())) == 2

    async def test_a_vendor_that_hangs_is_retriable(
        self, connector: GoogleAnalyticsConnector, person: Identity, faults: Faults
    ) -> None:
        settings = connector.settings.model_copy(update={"timeout": 0.3})
        impatient = GoogleAnalyticsConnector(settings)
        faults.fail_next(200, hang=1.5)
        try:
            with pytest.raises(Retriable):
                await impatient.erase(person, ErasurePlan())
        finally:
            faults.reset()
            await impatient.aclose()


# --- what is particular to Google Analytics -----------------------------------------------


@pytest.mark.parametrize(
    ("given", "client_id"),
    [
        ("GA1.1.1234567890.1700000000", "1234567890.1700000000"),
        ("GA1.2.987654321.1699999999", "987654321.1699999999"),
        ("  _ga=GA1.1.1234567890.1700000000 ", "1234567890.1700000000"),
        ('"GA1.1.1234567890.1700000000"', "1234567890.1700000000"),
        ("1234567890.1700000000", "1234567890.1700000000"),
        ("GA1.1.0012345.1700000000", "12345.1700000000"),
    ],
)
def test_ga_cookie_gives_the_client_id(given: str, client_id: str) -> None:
    assert client_id_from_ga(given) == client_id


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ("GS1.1.1700000000.5.1.1700000100.0.0.0", "_ga_"),
        ("_ga_ABC123=GS2.1.s1700000000$o5$g1", "_ga_"),
        ("G-ABC123XYZ", "not a _ga value"),
        ("GA1.1.1234567890", "not a _ga value"),
        ("1234567890", "not a _ga value"),
        ("", "not a _ga value"),
        ("GA1.1.12345abc.1700000000", "not a _ga value"),
    ],
)
def test_what_is_not_a_ga_cookie_is_refused_clearly(given: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        client_id_from_ga(given)


async def test_without_any_id_nothing_is_sent_and_the_note_says_what_to_do(
    server: SandboxServer, shop_person: Person, state: ga.AnalyticsState
) -> None:
    # No user-id mapping configured: an e-mail address alone gives no GA id.
    result = await _erase(_settings(server), Identity(email=shop_person.email))
    assert changes(result) == 0
    assert "_ga" in result.notes[0]
    assert "user_id_from" in result.notes[0]
    assert "user_id_url_env" in result.notes[0]
    assert state.requests == {}
    assert state.issuer.issued == 0  # not even a token was asked for


async def test_a_bad_ga_value_is_noted_and_the_user_id_still_used(
    connector: GoogleAnalyticsConnector, shop_person: Person, state: ga.AnalyticsState
) -> None:
    identity = Identity(customer_id=str(shop_person.customer_id), ga_client_id="G-XYZ")
    result = await connector.erase(identity, ErasurePlan())
    assert result.deleted == {"users": 1}
    assert "not used" in result.notes[0]
    assert list(state.requests) == [f"{ga.PROPERTY_ID}/USER_ID/{shop_person.customer_id}"]


async def test_user_id_is_only_used_when_the_shop_says_it_sends_one(
    server: SandboxServer, shop_person: Person, state: ga.AnalyticsState
) -> None:
    identity = _identity(shop_person).model_copy(update={"customer_id": "17"})
    result = await _erase(_settings(server, user_id_from=None), identity)
    assert result.deleted == {"users": 1}
    assert [r["id"]["type"] for r in state.requests.values()] == ["CLIENT_ID"]


async def test_an_expired_token_is_renewed_and_the_call_made_again(
    connector: GoogleAnalyticsConnector, context: SandboxContext, state: ga.AnalyticsState
) -> None:
    await connector.erase(_identity(_customer(context, 0)), ErasurePlan())
    assert state.issuer.issued == 1
    state.issuer.expire_all()  # Google ends the token early (a revocation, a restart)
    result = await connector.erase(_identity(_customer(context, 1)), ErasurePlan())
    assert changes(result) == 2
    assert state.issuer.issued == 2


async def test_a_token_near_its_end_is_renewed_before_it_is_used(
    connector: GoogleAnalyticsConnector, context: SandboxContext, state: ga.AnalyticsState
) -> None:
    state.issuer.lifetime = 30  # shorter than the connector's safety margin
    await connector.erase(_identity(_customer(context, 0)), ErasurePlan())
    await connector.erase(_identity(_customer(context, 1)), ErasurePlan())
    assert state.issuer.issued == 4  # one per upsert (two ids each): never a stale token
    assert len(state.requests) == 4


async def test_credentials_without_the_deletion_scope_are_fatal(
    server: SandboxServer, person: Identity, state: ga.AnalyticsState
) -> None:
    narrow = state.issuer.add_refresh_token(ga.CLIENT_ID, {ga.SCOPE_READONLY})
    made = GoogleAnalyticsConnector(_settings(server, refresh_token=narrow))
    try:
        with pytest.raises(Fatal, match=r"analytics\.user\.deletion"):
            await made.check()
        with pytest.raises(Fatal, match="403") as caught:
            await made.erase(person, ErasurePlan())
        assert "credential" in str(caught.value)
    finally:
        await made.aclose()
    assert state.requests == {}


async def test_describe_reads_the_propertys_data_retention(
    connector: GoogleAnalyticsConnector, state: ga.AnalyticsState
) -> None:
    state.retention["eventDataRetention"] = "TWO_MONTHS"
    facts = {f.label: f.value for f in await connector.describe()}
    assert facts == {
        "Event data retention": "2 months",
        "User data retention": "14 months",
        "Reset user data on new activity": "yes",
    }


async def test_a_property_the_credentials_do_not_reach_is_fatal(server: SandboxServer) -> None:
    made = GoogleAnalyticsConnector(_settings(server, property_id="properties/999"))
    try:
        with pytest.raises(Fatal, match="403"):
            await made.check()
    finally:
        await made.aclose()


def test_property_id_must_be_the_property_number(server: SandboxServer) -> None:
    with pytest.raises(ValueError, match="property's number"):
        _settings(server, property_id="G-ABC123")


async def test_registry_builds_it_from_environment_variables_and_a_credentials_file(
    server: SandboxServer, tmp_path: Path, person: Identity
) -> None:
    creds = server.app(VENDOR).credentials
    file = tmp_path / "adc.json"
    file.write_text(
        json.dumps(
            {
                "type": "authorized_user",
                "client_id": creds["client_id"],
                "client_secret": creds["client_secret"],
                "refresh_token": creds["refresh_token"],
            }
        )
    )
    environ = {
        "GA4_PROPERTY_ID": creds["property_id"],
        "GOOGLE_APPLICATION_CREDENTIALS": str(file),
        "SHOP_DATABASE_URL": server.sandbox.context.shop_url,
    }
    made = ConnectorRegistry.from_entry_points().build(
        VENDOR,
        {
            "property_id_env": "GA4_PROPERTY_ID",
            "credentials_file_env": "GOOGLE_APPLICATION_CREDENTIALS",
            "base_url": server.vendor_url(VENDOR),
            "user_id_from": "customer_id",
            "user_id_url_env": "SHOP_DATABASE_URL",
            # The planner's settings for the manual access task are accepted, not refused.
            "contact_url": "https://support.google.com/analytics/answer/9283607",
            "instructions": "Bruk brukerutforskeren i GA4.",
        },
        environ,
    )
    assert isinstance(made, GoogleAnalyticsConnector)
    assert isinstance(made.config.user_id_url, SecretStr)  # a URL may hold a password
    try:
        await made.check()
        assert changes(await made.erase(person, ErasurePlan())) == 2
    finally:
        await made.aclose()


async def test_a_service_account_key_is_refused_with_what_to_do(
    server: SandboxServer, tmp_path: Path
) -> None:
    file = tmp_path / "sa.json"
    file.write_text(json.dumps({"type": "service_account", "private_key": "-----BEGIN"}))
    made = GoogleAnalyticsConnector(
        GoogleAnalyticsSettings(
            property_id=ga.PROPERTY_ID, credentials_file=file, base_url=server.vendor_url(VENDOR)
        )
    )
    try:
        with pytest.raises(Fatal, match="authorized_user"):
            await made.check()
    finally:
        await made.aclose()


def test_settings_without_credentials_are_refused() -> None:
    with pytest.raises(ValueError, match="credentials_file_env"):
        GoogleAnalyticsSettings(property_id="412345678")


# --- the user-id mapping: the shop's customer number, found by e-mail address ---------------


def _user_id_key(person: Person) -> str:
    return f"{ga.PROPERTY_ID}/USER_ID/{person.customer_id}"


def _shop_copy(context: SandboxContext, tmp_path: Path) -> str:
    """A copy of the module's shop, for a test that writes to it."""
    source = context.shop_url.removeprefix("sqlite:///")
    target = tmp_path / "shop-copy.sqlite3"
    shutil.copyfile(source, target)
    return f"sqlite:///{target}"


async def test_a_customer_known_only_by_email_is_erased_by_user_id(
    connector: GoogleAnalyticsConnector, shop_person: Person, state: ga.AnalyticsState
) -> None:
    # The address as the person typed it on the form: the default query ignores case.
    identity = Identity(email=shop_person.email.upper())
    result = await connector.erase(identity, ErasurePlan())
    assert result.deleted == {"users": 1}
    assert list(state.requests) == [_user_id_key(shop_person)]
    visitor = state.users[ga.client_id_of(shop_person)]
    assert visitor["user_id"] == str(shop_person.customer_id)
    assert visitor["deletion_requested"]
    again = await connector.erase(identity, ErasurePlan())
    assert changes(again) == 0
    assert len(state.requests) == 1


async def test_with_a_pasted_ga_value_both_ids_are_sent(
    connector: GoogleAnalyticsConnector, shop_person: Person, state: ga.AnalyticsState
) -> None:
    result = await connector.erase(_identity(shop_person), ErasurePlan())
    assert result.deleted == {"users": 2}
    assert sorted(r["id"]["type"] for r in state.requests.values()) == ["CLIENT_ID", "USER_ID"]
    assert _user_id_key(shop_person) in state.requests
    # A customer id the caller already knows is the same id: asked for once.
    known = _identity(shop_person).model_copy(update={"customer_id": str(shop_person.customer_id)})
    assert changes(await connector.erase(known, ErasurePlan())) == 0
    assert len(state.requests) == 2


async def test_a_guest_gets_no_user_id_deletion_and_the_note_says_so(
    connector: GoogleAnalyticsConnector, context: SandboxContext, state: ga.AnalyticsState
) -> None:
    guest = _guest(context)
    alone = await connector.erase(Identity(email=guest.email), ErasurePlan())
    assert changes(alone) == 0
    assert "No customer account" in alone.notes[0]
    assert "guest" in alone.notes[0]
    assert "_ga" in alone.notes[-1]  # and what the shop can do instead
    assert "user_id_url_env" not in alone.notes[-1]  # the mapping is set up already
    assert state.requests == {}
    # With the _ga value pasted, the client id is deleted; still no user id.
    pasted = await connector.erase(_identity(guest), ErasurePlan())
    assert pasted.deleted == {"users": 1}
    assert "No customer account" in pasted.notes[0]
    assert list(state.requests) == [f"{ga.PROPERTY_ID}/CLIENT_ID/{ga.client_id_of(guest)}"]


async def test_two_accounts_with_one_address_give_two_user_ids(
    server: SandboxServer,
    context: SandboxContext,
    shop_person: Person,
    state: ga.AnalyticsState,
    tmp_path: Path,
) -> None:
    url = _shop_copy(context, tmp_path)
    engine = create_engine(url)
    with engine.begin() as conn:
        # The unique index is case-sensitive in SQLite: a second account, another case.
        conn.execute(
            text(
                "INSERT INTO customers (id, email, username, first_name, last_name, "
                "registered_at) VALUES (99999, :email, 'second', 'A', 'B', '2024-01-01')"
            ),
            {"email": shop_person.email.upper()},
        )
    engine.dispose()
    result = await _erase(_settings(server, user_id_url=url), Identity(email=shop_person.email))
    assert result.deleted == {"users": 2}
    assert set(state.requests) == {
        _user_id_key(shop_person),
        f"{ga.PROPERTY_ID}/USER_ID/99999",
    }


async def test_a_query_of_the_shops_own_finds_ids_once_and_skips_nulls(
    server: SandboxServer, context: SandboxContext, state: ga.AnalyticsState
) -> None:
    # A mapping through the orders: one row per order, guests' orders with no customer id.
    query = "SELECT customer_id FROM orders WHERE lower(billing_email) = lower(:email)"
    settings = _settings(server, user_id_url=context.shop_url, user_id_query=query)
    several = next(p for p in context.people if p.customer_id is not None and len(p.orders) > 1)
    result = await _erase(settings, Identity(email=several.email))
    assert list(state.requests) == [_user_id_key(several)]
    assert result.deleted == {"users": 1}
    guest = next(p for p in context.people if p.customer_id is None and p.orders)
    assert changes(await _erase(settings, Identity(email=guest.email))) == 0
    assert len(state.requests) == 1


async def test_a_failing_query_is_fatal_and_sends_nothing(
    server: SandboxServer, context: SandboxContext, person: Identity, state: ga.AnalyticsState
) -> None:
    query = "SELECT id FROM kunder WHERE epost = :email"
    made = GoogleAnalyticsConnector(
        _settings(server, user_id_url=context.shop_url, user_id_query=query)
    )
    try:
        with pytest.raises(Fatal) as caught:
            await made.erase(person, ErasurePlan())  # the _ga value is there too
        assert state.issuer.issued == 0  # Google was not even asked for a token
        with pytest.raises(Fatal, match="kunder"):
            await made.check()
    finally:
        await made.aclose()
    message = str(caught.value)
    assert "kunder" in message
    assert "user_id_query" in message
    assert "Nothing was deleted" in message
    assert str(person.email) not in message
    assert context.shop_url.removeprefix("sqlite:///") not in message
    assert state.requests == {}


async def test_a_query_that_writes_is_refused_and_rolled_back(
    server: SandboxServer,
    context: SandboxContext,
    shop_person: Person,
    state: ga.AnalyticsState,
    tmp_path: Path,
) -> None:
    url = _shop_copy(context, tmp_path)
    query = "DELETE FROM customers WHERE lower(email) = lower(:email)"
    settings = _settings(server, user_id_url=url, user_id_query=query)
    with pytest.raises(Fatal, match="not a SELECT"):
        await _erase(settings, Identity(email=shop_person.email))
    engine = create_engine(url)
    with engine.connect() as conn:
        left = conn.execute(
            text("SELECT count(*) FROM customers WHERE id = :id"), {"id": shop_person.customer_id}
        ).scalar_one()
    engine.dispose()
    assert left == 1
    assert state.requests == {}


async def test_an_unreachable_database_is_retriable_and_keeps_its_password(
    server: SandboxServer, person: Identity, state: ga.AnalyticsState
) -> None:
    # Nothing listens on port 1: the connection is refused at once.
    url = "postgresql://shop:pw-not-to-be-shown@127.0.0.1:1/shop"
    with pytest.raises(Retriable) as caught:
        await _erase(_settings(server, user_id_url=url, timeout=3.0), person)
    assert "pw-not-to-be-shown" not in str(caught.value)
    assert "reached" in str(caught.value)
    assert state.requests == {}


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("shop:pw-not-to-be-shown@localhost/shop", "not hold a SQLAlchemy database URL"),
        ("sqlite:////nowhere/pw-not-to-be-shown.sqlite3", "does not exist"),
        ("nosuchdb://shop:pw-not-to-be-shown@localhost/shop", "no database driver"),
    ],
)
async def test_a_bad_url_is_fatal_without_showing_it(
    server: SandboxServer, person: Identity, state: ga.AnalyticsState, url: str, says: str
) -> None:
    with pytest.raises(Fatal, match=says) as caught:
        await _erase(_settings(server, user_id_url=url), person)
    assert "pw-not-to-be-shown" not in str(caught.value)
    assert "user_id_url_env" in str(caught.value)
    assert state.requests == {}


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        ({"user_id_query": "SELECT id FROM customers"}, r"one parameter.*it has none"),
        (
            {"user_id_query": "SELECT id FROM customers WHERE email = :mail"},
            r"one parameter.*it has :mail",
        ),
        (
            {"user_id_query": "SELECT id FROM customers WHERE email = :email AND x = :x"},
            r"it has :email, :x",
        ),
        ({"user_id_from": None, "user_id_url": "sqlite:///shop.sqlite3"}, "user_id_from"),
    ],
)
def test_user_id_settings_that_cannot_work_are_refused(
    server: SandboxServer, extra: dict[str, Any], says: str
) -> None:
    with pytest.raises(ValueError, match=says):
        _settings(server, **extra)


async def test_the_default_query_maps_an_address_on_every_backend(sql_url: str) -> None:
    build_shop(sql_url, customers=8, seed=5)
    people = people_from_shop(sql_url)
    customer = next(p for p in people if p.customer_id is not None)
    guest = next(p for p in people if p.customer_id is None)
    mapping = UserIdMapping(SecretStr(sql_url), DEFAULT_QUERY, timeout=5.0)
    try:
        await mapping.check()
        assert await mapping.user_ids(customer.email.upper()) == [str(customer.customer_id)]
        assert await mapping.user_ids(guest.email) == []
        # The address is bound, never spliced into the SQL.
        assert await mapping.user_ids("x' OR '1'='1") == []
    finally:
        await mapping.aclose()


async def test_an_empty_url_written_as_the_default_means_no_mapping(
    server: SandboxServer, shop_person: Person, state: ga.AnalyticsState
) -> None:
    # The inventory writes user_id_url: "" beside user_id_url_env, for where it is not set.
    creds = server.app(VENDOR).credentials
    settings = {
        "property_id": creds["property_id"],
        "client_id": creds["client_id"],
        "client_secret_env": "GA_SECRET",
        "refresh_token_env": "GA_REFRESH",
        "base_url": server.vendor_url(VENDOR),
        "user_id_from": "customer_id",
        "user_id_url_env": "SHOP_DATABASE_URL",
        "user_id_url": "",
    }
    environ = {"GA_SECRET": creds["client_secret"], "GA_REFRESH": creds["refresh_token"]}
    registry = ConnectorRegistry.from_entry_points()
    unmapped = registry.build(VENDOR, settings, environ)
    assert isinstance(unmapped, GoogleAnalyticsConnector)
    assert unmapped.config.user_id_url is None
    try:
        result = await unmapped.erase(Identity(email=shop_person.email), ErasurePlan())
    finally:
        await unmapped.aclose()
    assert changes(result) == 0
    assert "user_id_url_env" in result.notes[-1]
    mapped = registry.build(
        VENDOR, settings, {**environ, "SHOP_DATABASE_URL": server.sandbox.context.shop_url}
    )
    try:
        result = await mapped.erase(Identity(email=shop_person.email), ErasurePlan())
    finally:
        await mapped.aclose()
    assert list(state.requests) == [_user_id_key(shop_person)]


async def test_after_the_shops_own_erasure_the_note_says_what_to_do_by_hand(
    connector: GoogleAnalyticsConnector,
    context: SandboxContext,
    shop_person: Person,
    state: ga.AnalyticsState,
    tmp_path: Path,
) -> None:
    # The executor runs a request's systems concurrently; when the shop's erasure commits
    # first, the address the mapping looks for is gone. Here it ran first, on a copy.
    url = _shop_copy(context, tmp_path)
    shop = SqlConnector(SqlSettings(url=url, dataset=SHOP_DATASET))
    try:
        erased = await shop.erase(Identity(email=shop_person.email), ErasurePlan())
    finally:
        await shop.aclose()
    assert changes(erased) > 0
    settings = connector.config.model_copy(update={"user_id_url": SecretStr(url)})
    result = await _erase(settings, Identity(email=shop_person.email))
    assert changes(result) == 0
    assert "shop's own erasure ran before this step" in result.notes[0]
    assert "Delete user" in result.notes[0]
    assert state.requests == {}
