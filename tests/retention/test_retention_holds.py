"""Legal holds: added, listed, ended and released; open requests hold their person too."""

from __future__ import annotations

from datetime import timedelta

import pytest
from retention_support import at

from personvern.connectors.base import Identity
from personvern.retention.holds import (
    HoldError,
    add_hold,
    excluded_identities,
    exclusions,
    list_holds,
    reasons,
    release_hold,
)
from personvern.runtime import Runtime
from personvern.store.requests import DataRequest

NOW = at("2026-06-01T12:00")


def _request(runtime: Runtime, request_id: str, status: str, email: str) -> None:
    with runtime.sessions() as db, db.begin():
        db.add(
            DataRequest(
                id=request_id,
                kind="erase",
                status=status,
                email=email,
                email_key=runtime.audit.subject_key(email),
                phone="+4790000000" if status == "waiting" else None,
                lang="nb",
                channel="form",
                received_at=NOW,
                due_at=NOW + timedelta(days=30),
            )
        )


def test_a_hold_is_in_force_until_released_or_its_day_has_passed(runtime: Runtime) -> None:
    forever = add_hold(
        runtime, email=" Kari@Example.no ", reason="Tvist om faktura", actor="cli", now=NOW
    )
    dated = add_hold(
        runtime,
        email="ola@example.no",
        reason="Politiet ba om det",
        kind="dispute",
        actor="user:1",
        until=NOW + timedelta(days=10),
        now=NOW,
    )
    assert forever.email == "kari@example.no"  # normalised, as requests are
    assert [h.id for h in list_holds(runtime, now=NOW)] == [dated.id, forever.id]
    later = NOW + timedelta(days=11)
    assert [h.id for h in list_holds(runtime, now=later)] == [forever.id]
    released = release_hold(runtime, forever.id, actor="cli", now=NOW)
    assert released.released_at == NOW
    assert not released.active(NOW)
    assert list_holds(runtime, now=later) == []
    assert len(list_holds(runtime, now=later, include_ended=True)) == 2
    with pytest.raises(HoldError, match="already released"):
        release_hold(runtime, forever.id, actor="cli")
    with pytest.raises(HoldError, match="hold list"):
        release_hold(runtime, 999, actor="cli")
    # Audited by keyed hash, never the address in clear.
    entries = [e for e in runtime.audit.entries() if e.action.startswith("retention.hold")]
    assert [e.action for e in entries] == [
        "retention.hold_added",
        "retention.hold_added",
        "retention.hold_released",
    ]
    assert entries[0].subject_key == runtime.audit.subject_key("kari@example.no")
    assert all("example.no" not in e.details for e in entries)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"email": "not an address", "reason": "x"}, "not an e-mail address"),
        ({"email": "a@example.no", "reason": "  "}, "say why"),
        ({"email": "a@example.no", "reason": "x", "kind": "whim"}, "manual or dispute"),
        ({"email": "a@example.no", "reason": "x", "until": NOW}, "in the future"),
    ],
)
def test_a_hold_needs_an_address_a_reason_and_a_future_end(
    runtime: Runtime, fields: dict[str, object], message: str
) -> None:
    with pytest.raises(HoldError, match=message):
        add_hold(runtime, actor="cli", now=NOW, **fields)  # type: ignore[arg-type]  # table


def test_open_requests_disputes_and_manual_holds_are_excluded(runtime: Runtime) -> None:
    for request_id, status, email in [
        ("r1", "unverified", "a@example.no"),
        ("r2", "running", "b@example.no"),
        ("r3", "waiting", "c@example.no"),
        ("r4", "failed", "d@example.no"),
        ("r5", "completed", "e@example.no"),
        ("r6", "refused", "f@example.no"),
        ("r7", "expired", "g@example.no"),
    ]:
        _request(runtime, request_id, status, email)
    add_hold(runtime, email="h@example.no", reason="Klage", kind="dispute", actor="cli")
    add_hold(runtime, email="b@example.no", reason="Også holdt", actor="cli")
    found = exclusions(runtime, NOW)
    assert [(e.reason, e.identity.email) for e in found] == [
        ("request", "a@example.no"),
        ("request", "b@example.no"),
        ("request", "c@example.no"),
        ("request", "d@example.no"),
        ("manual", "b@example.no"),
        ("dispute", "h@example.no"),
    ]
    assert found[2].identity == Identity(email="c@example.no", phone="+4790000000")
    assert reasons(found) == {"request": 4, "manual": 1, "dispute": 1}
    identities = excluded_identities(found)
    assert len(identities) == 5  # b@ once, though held twice
