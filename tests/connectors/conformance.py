"""The connector conformance kit: one test class every connector must pass.

A connector's test module subclasses :class:`ConnectorConformance` and provides these
fixtures (parametrize them to run the kit on several systems, as the sql connector does on
SQLite, PostgreSQL and MariaDB):

- ``connector`` — a connector reaching a system that holds ``person`` and other people;
- ``person`` — the :class:`Identity` of someone in that system;
- ``expected`` — the ``(collection, key)`` of every record about ``person``, worked out
  independently of the connector;
- ``snapshot`` — a callable returning the whole system as ``{collection: {key: row}}``,
  with rows as tuples or mappings of plain values, to prove what changed and what did not;
- ``hold`` — a :class:`Hold` over a collection where ``person`` has records;
- ``bad_connector`` — the same kind of connector with settings that cannot work.

What it proves: access finds exactly the person's records and no one else's; an unknown
identity finds nothing; erasure leaves the person unfindable, changes nobody else's data
by a single byte, keeps and reports held fields, and is idempotent; bad settings are Fatal.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any, get_args

import pytest
from pydantic import BaseModel

from personvern.connectors.base import (
    Capability,
    Connector,
    ErasurePlan,
    ErasureResult,
    Fatal,
    Hold,
    Identity,
    IdentityType,
)

Snapshot = Mapping[str, Mapping[str, Any]]
Key = tuple[str, str]
NOBODY = Identity(email="ingen.slik.person@example.invalid", phone="+4700000000")


def changes(result: ErasureResult) -> int:
    return sum(result.deleted.values()) + sum(result.anonymized.values())


def digest(rows: Mapping[str, Any]) -> str:
    """A checksum of rows: any changed byte in any value changes it."""
    h = hashlib.sha256()
    for key in sorted(rows):
        h.update(repr((key, rows[key])).encode())
    return h.hexdigest()


def others(snapshot: Snapshot, mine: set[Key]) -> dict[str, str]:
    """Per collection, the checksum of every row that is not the person's."""
    return {
        name: digest({k: v for k, v in rows.items() if (name, k) not in mine})
        for name, rows in snapshot.items()
    }


def field_of(row: Any, name: str) -> Any:
    return row[name] if isinstance(row, Mapping) else getattr(row, name)


class ConnectorConformance:
    """Subclass this in a connector's tests and provide the fixtures the module names."""

    def test_declares_itself(self, connector: Connector) -> None:
        cls = type(connector)
        assert isinstance(cls.name, str)
        assert cls.name
        assert cls.capabilities <= set(get_args(Capability))
        assert cls.identity_types
        assert cls.identity_types <= set(get_args(IdentityType))
        assert issubclass(cls.Settings, BaseModel)

    async def test_check_passes(self, connector: Connector) -> None:
        await connector.check()

    async def test_access_finds_exactly_the_persons_records(
        self, connector: Connector, person: Identity, expected: set[Key]
    ) -> None:
        result = await connector.access(person)
        found = [(r.collection, r.key) for r in result.records]
        assert len(found) == len(set(found)), "a record was returned twice"
        assert set(found) == expected
        for record in result.records:
            assert set(record.categories) <= set(record.fields)

    async def test_unknown_identity_returns_no_records(self, connector: Connector) -> None:
        assert (await connector.access(NOBODY)).records == []

    async def test_erase_leaves_the_person_unfindable_and_is_idempotent(
        self, connector: Connector, person: Identity
    ) -> None:
        first = await connector.erase(person, ErasurePlan("anonymize"))
        assert changes(first) > 0
        assert (await connector.access(person)).records == []
        second = await connector.erase(person, ErasurePlan("anonymize"))
        assert changes(second) == 0, f"a second erasure changed something: {second}"

    @pytest.mark.parametrize("action", ["anonymize", "delete"])
    async def test_erase_changes_no_one_elses_data(
        self,
        connector: Connector,
        person: Identity,
        expected: set[Key],
        snapshot: Callable[[], Snapshot],
        action: str,
    ) -> None:
        before = snapshot()
        await connector.erase(person, ErasurePlan(action))  # type: ignore[arg-type]
        after = snapshot()
        assert others(after, expected) == others(before, expected)

    async def test_erase_with_nothing_found_changes_nothing(
        self, connector: Connector, snapshot: Callable[[], Snapshot]
    ) -> None:
        before = snapshot()
        result = await connector.erase(NOBODY, ErasurePlan("delete"))
        assert changes(result) == 0
        assert result.kept == ()
        assert others(snapshot(), set()) == others(before, set())

    @pytest.mark.parametrize("action", ["anonymize", "delete"])
    async def test_erase_honours_and_reports_holds(
        self,
        connector: Connector,
        person: Identity,
        expected: set[Key],
        snapshot: Callable[[], Snapshot],
        hold: Hold,
        action: str,
    ) -> None:
        before = snapshot()
        result = await connector.erase(person, ErasurePlan(action, (hold,)))  # type: ignore[arg-type]
        assert hold in result.kept, f"the hold was not reported as kept: {result.kept}"
        after = snapshot()
        held = {k for c, k in expected if c == hold.collection}
        assert held, "the hold fixture must cover some of the person's records"
        for key in held:
            assert key in after[hold.collection], f"held row {key} of {hold.collection} is gone"
            for name in hold.fields:
                old = field_of(before[hold.collection][key], name)
                assert field_of(after[hold.collection][key], name) == old, name
        for collection, key in expected - {(hold.collection, k) for k in held}:
            if action == "delete":
                assert key not in after[collection], f"{collection} {key} was not deleted"
        again = await connector.erase(person, ErasurePlan(action, (hold,)))  # type: ignore[arg-type]
        assert changes(again) == 0

    async def test_fatal_on_bad_settings(self, bad_connector: Connector) -> None:
        with pytest.raises(Fatal):
            await bad_connector.check()
        with pytest.raises(Fatal):
            await bad_connector.access(NOBODY)


def bookkeeping_hold(collection: str, fields: tuple[str, ...]) -> Hold:
    """A hold as the erasure plan makes one for accounting records (bokføringsloven § 13)."""
    return Hold(collection, fields, "bokføringsloven § 13", date(date.today().year + 5, 12, 31))
