"""The google_analytics connector against the Google Analytics sandbox, over real HTTP.

GA4 has no per-person lookup, so the kit's access-based tests cannot apply as written:
:class:`TestGoogleAnalyticsConformance` replaces each with the same check made through
``erase`` (and says so). The rest of the kit runs unchanged.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conformance import NOBODY, Key, Snapshot, changes
from http_conformance import HttpConnectorConformance

from personvern.connectors.base import ErasurePlan, Fatal, Hold, Identity, Retriable
from personvern.connectors.google_analytics import (
    GoogleAnalyticsConnector,
    GoogleAnalyticsSettings,
    client_id_from_ga,
)
from personvern.connectors.registry import ConnectorRegistry
from personvern.demo.shop import build_shop
from personvern.sandbox import google_analytics as ga
from personvern.sandbox.faults import Faults
from personvern.sandbox.people import Person
from personvern.sandbox.server import SandboxContext, SandboxServer

VENDOR = "google_analytics"


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


def _settings(server: SandboxServer, **extra: Any) -> GoogleAnalyticsSettings:
    values: dict[str, Any] = {
        **server.app(VENDOR).credentials,
        "base_url": server.vendor_url(VENDOR),
        "user_id_from": "customer_id",
        **extra,
    }
    return GoogleAnalyticsSettings.model_validate(values)


@pytest.fixture
async def connector(server: SandboxServer) -> AsyncIterator[GoogleAnalyticsConnector]:
    made = GoogleAnalyticsConnector(_settings(server))
    yield made
    await made.aclose()


@pytest.fixture
def shop_person(context: SandboxContext) -> Person:
    return _customer(context)


def _identity(person: Person) -> Identity:
    return Identity(
        email=person.email,
        customer_id=str(person.customer_id),
        ga_client_id=f"GA1.1.{ga.client_id_of(person)}",
    )


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
    connector: GoogleAnalyticsConnector, shop_person: Person, state: ga.AnalyticsState
) -> None:
    result = await connector.erase(Identity(email=shop_person.email), ErasurePlan())
    assert changes(result) == 0
    assert "_ga" in result.notes[0]
    assert "user_id_from" in result.notes[0]
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
    made = GoogleAnalyticsConnector(_settings(server, user_id_from=None))
    try:
        result = await made.erase(_identity(shop_person), ErasurePlan())
    finally:
        await made.aclose()
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
    environ = {"GA4_PROPERTY_ID": creds["property_id"], "GOOGLE_APPLICATION_CREDENTIALS": str(file)}
    made = ConnectorRegistry.from_entry_points().build(
        VENDOR,
        {
            "property_id_env": "GA4_PROPERTY_ID",
            "credentials_file_env": "GOOGLE_APPLICATION_CREDENTIALS",
            "base_url": server.vendor_url(VENDOR),
            "user_id_from": "customer_id",
            # The planner's settings for the manual access task are accepted, not refused.
            "contact_url": "https://support.google.com/analytics/answer/9283607",
            "instructions": "Bruk brukerutforskeren i GA4.",
        },
        environ,
    )
    assert isinstance(made, GoogleAnalyticsConnector)
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
