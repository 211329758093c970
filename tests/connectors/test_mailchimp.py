"""The mailchimp connector against the Mailchimp sandbox, over real HTTP on loopback.

One demo shop and one sandbox serve the whole module; every test starts from the seed
(``state.reset()``) with no faults. What the person holds is worked out from the sandbox's
state, independently of the connector.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from conformance import Key, Snapshot, changes, others
from http_conformance import HttpConnectorConformance

from personvern.connectors.base import (
    ErasurePlan,
    Fatal,
    Hold,
    Identity,
    SweepRule,
)
from personvern.connectors.mailchimp import MailchimpConnector, MailchimpSettings
from personvern.connectors.mailchimp.connector import data_center, subscriber_hash
from personvern.connectors.registry import ConnectorRegistry, ConnectorSettingsError
from personvern.demo.shop import build_shop
from personvern.sandbox.faults import Faults
from personvern.sandbox.mailchimp_state import (
    CAMPAIGN_AUDIENCE,
    MAIN_AUDIENCE,
    MailchimpState,
)
from personvern.sandbox.server import SandboxContext, SandboxServer

SWEPT = ("unsubscribed", "cleaned")
CONSENT_PROOF = ("email_address", "timestamp_opt", "ip_opt")


@pytest.fixture(scope="module")
def shop_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path: Path = tmp_path_factory.mktemp("mailchimp") / "shop.sqlite3"
    url = f"sqlite:///{path}"
    build_shop(url, customers=40)
    return url


@pytest.fixture(scope="module")
def server(shop_url: str) -> Iterator[SandboxServer]:
    with SandboxServer(SandboxContext(shop_url), ["mailchimp"]) as running:
        yield running


@pytest.fixture
def state(server: SandboxServer) -> MailchimpState:
    """The sandbox's account, back at its seed, with no faults and no pause."""
    st: MailchimpState = server.app("mailchimp").state
    st.reset()
    st.resume()
    server.faults("mailchimp").reset()
    return st


@pytest.fixture
def api_root(server: SandboxServer) -> str:
    return server.vendor_url("mailchimp") + "/3.0"


def settings(root: str, key: str, **extra: object) -> MailchimpSettings:
    return MailchimpSettings.model_validate({"api_key": key, "base_url": root, **extra})


@pytest.fixture
async def connector(state: MailchimpState, api_root: str) -> AsyncIterator[MailchimpConnector]:
    conn = MailchimpConnector(settings(api_root, state.api_key))
    yield conn
    await conn.aclose()


def audience_id(state: MailchimpState, name: str) -> str:
    return next(a.id for a in state.audiences.values() if a.name == name)


def in_both(state: MailchimpState) -> list[str]:
    """Addresses subscribed in both audiences."""
    main = state.audiences[audience_id(state, MAIN_AUDIENCE)]
    offers = state.audiences[audience_id(state, CAMPAIGN_AUDIENCE)]
    return [
        m.email_address
        for h, m in main.members.items()
        if m.status == "subscribed" and h in offers.members
    ]


@pytest.fixture
def person(state: MailchimpState) -> Identity:
    return Identity(email=in_both(state)[0])


@pytest.fixture
def expected(state: MailchimpState, person: Identity) -> set[Key]:
    assert person.email
    return {("members", f"{list_id}:{m.id}") for list_id, m in state.where(person.email).items()}


@pytest.fixture
def snapshot(state: MailchimpState) -> Callable[[], Snapshot]:
    return state.snapshot


@pytest.fixture
def hold() -> Hold:
    """Proof of consent (GDPR Art. 7(1)): when and from where the person opted in."""
    return Hold("members", CONSENT_PROOF, "GDPR art. 7 nr. 1", date(date.today().year + 3, 12, 31))


@pytest.fixture
async def bad_connector(state: MailchimpState, api_root: str) -> AsyncIterator[MailchimpConnector]:
    conn = MailchimpConnector(settings(api_root, "0" * 32 + "-us21"))
    yield conn
    await conn.aclose()


@pytest.fixture
def faults(server: SandboxServer, state: MailchimpState) -> Faults:
    return server.faults("mailchimp")


class TestMailchimpConformance(HttpConnectorConformance):
    """The HTTP kit, on the sandbox seeded from the demo shop."""


# --- the sandbox ----------------------------------------------------------------------------


def test_subscriber_hash_is_md5_of_the_lower_cased_address() -> None:
    assert subscriber_hash(" Test@Example.com") == "55502f40dc8b7c769880b10874abc9d0"
    assert (
        subscriber_hash("kari@example.no")
        == hashlib.md5(b"kari@example.no", usedforsecurity=False).hexdigest()
    )


def test_sandbox_finds_a_member_by_hash_or_address(state: MailchimpState, api_root: str) -> None:
    email = in_both(state)[0]
    list_id = audience_id(state, MAIN_AUDIENCE)
    auth = ("anyone", state.api_key)
    with httpx.Client(base_url=api_root, auth=auth) as client:
        by_hash = client.get(f"/lists/{list_id}/members/{subscriber_hash(email)}")
        by_address = client.get(f"/lists/{list_id}/members/{email.upper()}")
        assert by_hash.status_code == by_address.status_code == 200
        assert by_hash.json()["id"] == subscriber_hash(email)
        assert by_hash.json()["email_address"] == email
        missing = client.get(f"/lists/{list_id}/members/{'0' * 32}")
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("application/problem+json")
        assert set(missing.json()) == {"type", "title", "status", "detail", "instance"}
        lists = client.get("/lists", params={"count": 1, "offset": 1}).json()
        assert lists["total_items"] == 2
        assert len(lists["lists"]) == 1


def test_sandbox_refuses_a_wrong_key_and_another_data_center(
    state: MailchimpState, api_root: str
) -> None:
    secret, _, _ = state.api_key.rpartition("-")
    with httpx.Client(base_url=api_root) as client:
        missing = client.get("/ping")
        assert missing.status_code == 401
        assert missing.json()["title"] == "API Key Missing"
        other_dc = client.get("/ping", auth=("x", f"{secret}-us6"))
        assert other_dc.status_code == 401
        assert other_dc.json()["title"] == "API Key Invalid"
        assert "us6" in other_dc.json()["detail"]
        ok = client.get("/ping", auth=("x", state.api_key))
        assert ok.json() == {"health_status": "Everything's Chimpy!"}


async def test_more_than_ten_connections_on_one_key_get_429(
    state: MailchimpState, api_root: str
) -> None:
    state.pause()  # every request is held open once it is counted, until resume()
    try:
        async with httpx.AsyncClient(base_url=api_root, auth=("x", state.api_key)) as client:
            calls = [asyncio.create_task(client.get("/ping")) for _ in range(11)]
            done, _ = await asyncio.wait(calls, timeout=20, return_when=asyncio.FIRST_COMPLETED)
            assert len(done) == 1
            refused = done.pop().result()
            assert refused.status_code == 429
            assert refused.json()["title"] == "Too Many Requests"
            assert "10 simultaneous connections" in refused.json()["detail"]
            state.resume()
            answers = await asyncio.gather(*calls)
    finally:
        state.resume()
    assert sorted(a.status_code for a in answers) == [200] * 10 + [429]


async def test_the_connector_fans_out_within_its_connection_limit(
    state: MailchimpState, connector: MailchimpConnector
) -> None:
    limit = connector.config.max_connections
    people = [Identity(email=e) for e in in_both(state)[:3]] * 4
    state.pause()  # hold every request open: the calls pile up to the connector's limit
    try:
        lookups = asyncio.gather(*(connector.access(p) for p in people))
        for _ in range(2000):
            if state.connections.get(state.api_key, 0) >= limit:
                break
            await asyncio.sleep(0.005)
        assert state.connections[state.api_key] == limit  # concurrent, up to the limit
    finally:
        state.resume()
    results = await lookups
    assert all(len(r.records) == 2 for r in results)
    assert state.peak_connections == limit  # and never beyond it


# --- access ---------------------------------------------------------------------------------


async def test_access_finds_the_person_in_every_audience_with_tags_and_activity(
    state: MailchimpState, connector: MailchimpConnector
) -> None:
    email = in_both(state)[0]
    result = await connector.access(Identity(email=email.upper()))
    assert {r.fields["audience"] for r in result.records} == {MAIN_AUDIENCE, CAMPAIGN_AUDIENCE}
    for record in result.records:
        assert record.fields["email_address"] == email
        assert record.fields["merge_fields.FNAME"]
        assert record.categories["merge_fields.PHONE"] == "user.contact.phone_number"
        assert record.fields["tags"]
        kinds = [a["activity_type"] for a in record.fields["activity"]]
        assert kinds[-1] == "signup"  # newest first; the sign-up is the oldest event
    main = state.audiences[audience_id(state, MAIN_AUDIENCE)]
    only_main = next(m for h, m in main.members.items() if len(state.where(m.email_address)) == 1)
    alone = await connector.access(Identity(email=only_main.email_address))
    assert [r.fields["audience"] for r in alone.records] == [MAIN_AUDIENCE]


async def test_access_finds_an_archived_member_the_search_skips(
    state: MailchimpState, connector: MailchimpConnector, api_root: str
) -> None:
    email = in_both(state)[0]
    list_id = audience_id(state, CAMPAIGN_AUDIENCE)
    async with httpx.AsyncClient(base_url=api_root, auth=("x", state.api_key)) as client:
        archived = await client.delete(f"/lists/{list_id}/members/{subscriber_hash(email)}")
        assert archived.status_code == 204
        search = await client.get("/search-members", params={"query": email})
        assert len(search.json()["exact_matches"]["members"]) == 1
    result = await connector.access(Identity(email=email))
    statuses = {r.fields["audience"]: r.fields["status"] for r in result.records}
    assert statuses == {MAIN_AUDIENCE: "subscribed", CAMPAIGN_AUDIENCE: "archived"}


# --- objection, erasure, suppression ---------------------------------------------------------


async def test_unsubscribe_keeps_the_member_in_every_audience(
    state: MailchimpState, connector: MailchimpConnector
) -> None:
    email = in_both(state)[0]
    result = await connector.unsubscribe(Identity(email=email))
    assert result.changed == {"members": 2}
    after = state.where(email)
    assert len(after) == 2
    assert {m.status for m in after.values()} == {"unsubscribed"}
    assert all(m.merge_fields["FNAME"] for m in after.values())  # nothing else is lost
    again = await connector.unsubscribe(Identity(email=email))
    assert again.changed == {}
    assert len((await connector.access(Identity(email=email))).records) == 2


async def test_delete_permanent_blocks_adding_the_address_again(
    state: MailchimpState, connector: MailchimpConnector, api_root: str
) -> None:
    email = in_both(state)[0]
    erased = await connector.erase(Identity(email=email), ErasurePlan("delete"))
    assert erased.deleted == {"members": 2}
    assert state.where(email) == {}
    list_id = audience_id(state, MAIN_AUDIENCE)
    async with httpx.AsyncClient(base_url=api_root, auth=("x", state.api_key)) as client:
        again = await client.post(
            f"/lists/{list_id}/members", json={"email_address": email, "status": "subscribed"}
        )
    assert again.status_code == 400
    assert again.json()["title"] == "Forgotten Email Not Subscribed"
    assert await connector.suppress(email) == 0  # blocked already: nothing to add
    assert state.where(email) == {}


async def test_suppress_unsubscribes_everywhere_and_adds_a_stranger_as_unsubscribed(
    state: MailchimpState, connector: MailchimpConnector
) -> None:
    email = in_both(state)[0]
    assert await connector.suppress(email) == 2
    assert {m.status for m in state.where(email).values()} == {"unsubscribed"}
    assert await connector.suppress(email) == 0
    stranger = "ny.person@example.invalid"
    assert await connector.suppress(stranger) == 1
    added = state.where(stranger)
    assert list(added) == [audience_id(state, MAIN_AUDIENCE)]
    assert added[audience_id(state, MAIN_AUDIENCE)].status == "unsubscribed"
    assert await connector.suppress(stranger) == 0


async def test_suppress_uses_the_named_main_audience(state: MailchimpState, api_root: str) -> None:
    conn = MailchimpConnector(settings(api_root, state.api_key, main_audience=CAMPAIGN_AUDIENCE))
    try:
        assert await conn.suppress("en.annen@example.invalid") == 1
        assert list(state.where("en.annen@example.invalid")) == [
            audience_id(state, CAMPAIGN_AUDIENCE)
        ]
    finally:
        await conn.aclose()
    wrong = MailchimpConnector(settings(api_root, state.api_key, main_audience="Finnes ikke"))
    try:
        with pytest.raises(Fatal, match="has no audience 'Finnes ikke'"):
            await wrong.suppress("en.tredje@example.invalid")
    finally:
        await wrong.aclose()


async def test_erasure_under_a_consent_hold_keeps_the_proof_and_stops_the_mail(
    state: MailchimpState, connector: MailchimpConnector, hold: Hold
) -> None:
    email = in_both(state)[0]
    before = {k: (m.timestamp_opt, m.ip_opt) for k, m in state.where(email).items()}
    result = await connector.erase(Identity(email=email), ErasurePlan("delete", (hold,)))
    assert result.kept == (hold,)
    assert result.anonymized == {"members": 2}
    after = state.where(email)
    assert {k: (m.timestamp_opt, m.ip_opt) for k, m in after.items()} == before
    for member in after.values():
        assert member.status == "unsubscribed"
        assert member.tags == []
        assert set(member.merge_fields.values()) == {""}


async def test_a_hold_on_a_collection_mailchimp_lacks_is_fatal_before_anything_changes(
    state: MailchimpState, connector: MailchimpConnector
) -> None:
    email = in_both(state)[0]
    before = state.snapshot()
    wrong = Hold("subscribers", ("email_address",), "GDPR art. 7 nr. 1", None)
    with pytest.raises(Fatal, match="subscribers, which Mailchimp does not have"):
        await connector.erase(Identity(email=email), ErasurePlan("delete", (wrong,)))
    assert state.snapshot() == before


# --- rectification --------------------------------------------------------------------------


async def test_rectify_merge_fields_and_address(
    state: MailchimpState, connector: MailchimpConnector
) -> None:
    email = in_both(state)[0]
    who = Identity(email=email)
    wanted = {
        "user.name": "Kari Anne Nordmann",
        "user.contact.phone_number": "+4798765432",
        "user.contact.address": "Storgata 1, 0155 Oslo",
    }
    result = await connector.rectify(who, wanted)
    assert result.changed == {"members": 2}
    for member in state.where(email).values():
        assert member.merge_fields["FNAME"] == "Kari Anne"
        assert member.merge_fields["LNAME"] == "Nordmann"
        assert member.merge_fields["PHONE"] == "+4798765432"
        assert member.merge_fields["ADDRESS"]["zip"] == "0155"
        assert member.merge_fields["ADDRESS"]["city"] == "Oslo"
    assert (await connector.rectify(who, wanted)).changed == {}
    with pytest.raises(Fatal, match="holds nothing named 'shoe_size'"):
        await connector.rectify(who, {"shoe_size": "44"})
    with pytest.raises(Fatal, match="street, postcode city"):
        await connector.rectify(who, {"user.contact.address": "somewhere"})


async def test_rectify_email_moves_the_member_to_the_new_hash(
    state: MailchimpState, connector: MailchimpConnector
) -> None:
    email = in_both(state)[0]
    new = "kari.ny.adresse@example.invalid"
    result = await connector.rectify(Identity(email=email), {"user.contact.email": new})
    assert result.changed == {"members": 2}
    assert state.where(email) == {}
    assert {m.id for m in state.where(new).values()} == {subscriber_hash(new)}


# --- retention sweeps ------------------------------------------------------------------------


def _due(state: MailchimpState, cutoff: datetime) -> dict[str, str]:
    """``list_id:hash`` → address of every member the newsletter rule should delete."""
    return {
        f"{a.id}:{h}": m.email_address
        for a in state.audiences.values()
        for h, m in a.members.items()
        if m.status in SWEPT and m.last_changed < cutoff
    }


def _rule(cutoff: datetime, *exclude: Identity) -> SweepRule:
    return SweepRule(
        rule="newsletter",
        collection="members",
        date_field="last_changed",
        cutoff=cutoff,
        action="delete",
        where={"status": SWEPT},
        exclude=exclude,
    )


async def test_sweep_dry_run_then_run_then_nothing_left(
    state: MailchimpState, connector: MailchimpConnector
) -> None:
    gone = sorted(
        m.last_changed
        for a in state.audiences.values()
        for m in a.members.values()
        if m.status in SWEPT
    )
    assert len(gone) >= 4, "the seed must have unsubscribed and cleaned members to sweep"
    cutoff = gone[len(gone) // 2] + timedelta(seconds=1)  # about half are past their time
    due = _due(state, cutoff)
    assert 0 < len(due) < len(gone)
    protected = Identity(email=next(iter(due.values())))
    held = sum(1 for e in due.values() if e == protected.email)
    before = state.snapshot()

    dry = await connector.sweep(_rule(cutoff, protected), dry_run=True)
    assert (dry.matched, dry.deleted, dry.held) == (len(due), 0, held)
    assert dry.total == sum(
        1 for a in state.audiences.values() for m in a.members.values() if m.status != "archived"
    )
    assert state.snapshot() == before
    assert dry.samples
    for sample in dry.samples:
        assert sample["email_address"] not in due.values()
        assert "***@" in sample["email_address"]
    kept = [
        m.last_changed
        for a in state.audiences.values()
        for k, m in ((f"{a.id}:{h}", m) for h, m in a.members.items())
        if m.status in SWEPT and (k not in due or m.email_address == protected.email)
    ]
    assert dry.oldest_kept == min(kept)

    run = await connector.sweep(_rule(cutoff, protected))
    assert (run.matched, run.deleted, run.held) == (len(due), len(due) - held, held)
    after = state.snapshot()
    removed = {k for k, e in due.items() if e != protected.email}
    assert set(before["members"]) - set(after["members"]) == removed
    mine = {("members", k) for k in removed}
    assert others(after, mine) == others(before, mine)

    again = await connector.sweep(_rule(cutoff, protected))
    assert (again.matched, again.deleted, again.held) == (held, 0, held)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"collection": "tags"}, "one collection a rule can name"),
        ({"date_field": "timestamp_opt"}, "'last_changed' only"),
        ({"action": "anonymize"}, "cannot anonymize"),
        ({"where": {"status": ("gone",)}}, "not a Mailchimp status"),
        ({"where": {"language": ("nb",)}}, "by status only"),
    ],
)
async def test_sweep_rules_mailchimp_cannot_apply_are_fatal(
    connector: MailchimpConnector, change: dict[str, object], message: str
) -> None:
    base = {
        "rule": "newsletter",
        "collection": "members",
        "date_field": "last_changed",
        "cutoff": datetime.now(UTC),
        "action": "delete",
        "where": {"status": SWEPT},
    }
    rule = SweepRule(**{**base, **change})  # type: ignore[arg-type]  # a table of variants
    with pytest.raises(Fatal, match=message):
        await connector.sweep(rule, dry_run=True)


# --- settings -------------------------------------------------------------------------------


async def test_key_without_data_center_is_a_clear_fatal(api_root: str) -> None:
    key = "f" * 32
    with pytest.raises(Fatal, match="data center") as caught:
        data_center(key)
    assert key not in str(caught.value)
    conn = MailchimpConnector(settings(api_root, key))
    try:
        with pytest.raises(Fatal, match="api_key_env"):
            await conn.check()
    finally:
        await conn.aclose()


async def test_default_base_url_comes_from_the_keys_data_center() -> None:
    conn = MailchimpConnector(MailchimpSettings.model_validate({"api_key": "a" * 32 + "-us6"}))
    try:
        assert conn.api().base_url == "https://us6.api.mailchimp.com/3.0"
    finally:
        await conn.aclose()


async def test_registry_builds_it_from_api_key_env(state: MailchimpState, api_root: str) -> None:
    registry = ConnectorRegistry.from_entry_points()
    assert "mailchimp" in registry.names()
    conn = registry.build(
        "mailchimp",
        {"api_key_env": "MAILCHIMP_API_KEY", "base_url": api_root},
        environ={"MAILCHIMP_API_KEY": state.api_key},
    )
    try:
        assert isinstance(conn, MailchimpConnector)
        await conn.check()
        assert state.api_key not in repr(conn.settings)
    finally:
        await conn.aclose()
    with pytest.raises(ConnectorSettingsError, match="MAILCHIMP_API_KEY"):
        registry.build("mailchimp", {"api_key_env": "MAILCHIMP_API_KEY"}, environ={})


async def test_erase_counts_only_what_it_changed(
    state: MailchimpState, connector: MailchimpConnector
) -> None:
    email = in_both(state)[1]
    first = await connector.erase(Identity(email=email), ErasurePlan("anonymize"))
    assert changes(first) == 2
    assert changes(await connector.erase(Identity(email=email), ErasurePlan("anonymize"))) == 0
