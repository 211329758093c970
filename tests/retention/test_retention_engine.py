"""The engine: cutoffs, holds and exclusions per target, the share check, retries, reports."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from retention_support import Memory, TestClock, at, registry_for, run_async

from personvern.connectors.base import Identity
from personvern.inventory.durations import Period
from personvern.retention import reports
from personvern.retention.engine import (
    RetentionEngine,
    RetentionError,
    RunOutcome,
    cutoff,
    plan_sweeps,
)
from personvern.retention.holds import add_hold
from personvern.runtime import Runtime
from personvern.store.requests import DataRequest

NOW = at("2031-03-01T12:00")


@pytest.mark.parametrize(
    ("period", "counted_from", "now", "expected"),
    [
        # A record from 2025 is kept to the end of 2030: on 1 March 2031, 2025 and before go.
        ("P5Y", "end_of_accounting_year", "2031-03-01T12:00", "2025-12-31T23:00"),
        # 23:30 UTC on 31 December is already the new year in Oslo; 22:30 is not.
        ("P5Y", "end_of_accounting_year", "2030-12-31T23:30", "2025-12-31T23:00"),
        ("P5Y", "end_of_accounting_year", "2030-12-31T22:30", "2024-12-31T23:00"),
        # P3Y6M: a record from year Y is kept to 30 June Y+4.
        ("P3Y6M", "end_of_accounting_year", "2025-03-01T12:00", "2020-12-31T23:00"),
        ("P3Y6M", "end_of_accounting_year", "2025-07-01T12:00", "2021-12-31T23:00"),
        ("P1Y", "last_activity", "2026-03-01T12:00", "2025-03-01T12:00"),
        # Calendar arithmetic on Oslo's wall clock: 12:00 summer time back to 12:00 winter time.
        ("P1M", "created", "2026-03-31T10:00", "2026-02-28T11:00"),
        ("P30D", "unsubscribed", "2026-03-31T10:00", "2026-03-01T11:00"),
        (None, "unsubscribed", "2026-03-31T10:00", "2026-03-31T10:00"),
    ],
)
def test_cutoffs(period: str | None, counted_from: str, now: str, expected: str) -> None:
    parsed = Period.parse(period) if period else None
    assert cutoff(parsed, counted_from, at(now)) == at(expected)


def test_each_target_gets_its_cutoff_the_other_rules_holds_and_the_exclusions(
    small: Runtime,
) -> None:
    inventory = small.inventory()
    kari = Identity(email="kari@example.no")
    planned = plan_sweeps(inventory, now=NOW, exclude=(kari,))
    assert [(p.rule, p.system, p.sweep.collection) for p in planned] == [
        ("order_records", "shop", "orders"),
        ("newsletter_list", "newsletter", "members"),
        ("newsletter_list", "shop", "signups"),
    ]
    orders = planned[0].sweep
    assert orders.cutoff == at("2025-12-31T23:00")
    assert orders.action == "anonymize"
    assert orders.where == {"status": ("completed", "refunded")}
    assert dict(orders.fields) == {"email": "null_rewrite", "name": "null_rewrite"}
    assert [(h.collection, h.fields) for h in orders.holds] == [("orders", ("number", "total"))]
    assert "bokføringsloven § 13" in orders.holds[0].ground
    assert orders.exclude == (kari,)
    members = planned[1].sweep
    assert members.cutoff == NOW - timedelta(days=30)
    assert members.action == "delete"
    assert members.holds == ()
    assert members.fields == {}
    with pytest.raises(RetentionError, match="order_records, newsletter_list"):
        plan_sweeps(inventory, now=NOW, rule="no_such_rule")


def _seed(memory: Memory) -> None:
    orders = memory.collection("shop", "orders")
    for i, (year, status, email) in enumerate(
        [
            (2019, "completed", "ola@example.no"),
            (2020, "refunded", "kari@example.no"),
            (2026, "completed", "per@example.no"),
            (2027, "completed", "ola@example.no"),
            (2028, "completed", "ola@example.no"),
            (2020, "processing", "ola@example.no"),
        ]
        + [(2028, "completed", f"n{i}@example.no") for i in range(10)]
    ):
        orders.append(
            {
                "id": i,
                "created_at": datetime(year, 6, 1, tzinfo=NOW.tzinfo),
                "status": status,
                "email": email,
                "name": f"Person {i}",
                "number": f"#{1000 + i}",
                "total": 100 + i,
            }
        )
    members = memory.collection("newsletter", "members")
    for i, days in enumerate([400, 31, 29, 1]):
        members.append(
            {"id": i, "email": f"m{i}@example.no", "unsubscribed_at": NOW - timedelta(days=days)}
        )
    for i in range(10):
        members.append({"id": 100 + i, "email": f"s{i}@example.no", "unsubscribed_at": None})
    memory.collection("shop", "signups")  # empty


def _run(runtime: Runtime, memory: Memory, **kwargs: object) -> RunOutcome:
    clock = TestClock(NOW)
    engine = RetentionEngine(runtime, registry_for(memory), clock=clock, environ={})
    return run_async(engine.run(now=NOW, **kwargs))  # type: ignore[arg-type]  # kwargs of run


def _counts(outcome: RunOutcome) -> list[tuple[str, str, str, int, int, int, int]]:
    return [
        (
            o.planned.system,
            o.planned.sweep.collection,
            o.status,
            o.result.matched if o.result else -1,
            o.result.deleted if o.result else -1,
            o.result.anonymized if o.result else -1,
            o.result.held if o.result else -1,
        )
        for o in outcome.outcomes
    ]


def test_a_dry_run_changes_nothing_and_is_reported(small: Runtime, memory: Memory) -> None:
    _seed(memory)
    before = repr(memory.rows)
    outcome = _run(small, memory, dry_run=True, trigger="admin", actor="user:1")
    assert repr(memory.rows) == before
    assert _counts(outcome) == [
        ("shop", "orders", "ok", 2, 0, 0, 0),
        ("newsletter", "members", "ok", 2, 0, 0, 0),
        ("shop", "signups", "ok", 0, 0, 0, 0),
    ]
    run = reports.get_run(small, outcome.run_id)
    assert run is not None
    assert run.dry_run
    assert run.trigger == "admin"
    assert run.status == "ok"
    assert [(r.rule, r.system, r.collection, r.matched) for r in run.rows] == [
        ("order_records", "shop", "orders", 2),
        ("newsletter_list", "newsletter", "members", 2),
        ("newsletter_list", "shop", "signups", 0),
    ]
    entries = [e for e in small.audit.entries() if e.action == "retention.planned"]
    assert len(entries) == 3
    assert {e.object_id for e in entries} == {outcome.run_id}
    assert all("@" not in e.details and e.subject_key is None for e in entries)


def test_a_run_applies_the_rules_and_leaves_held_people_alone(
    small: Runtime, memory: Memory
) -> None:
    _seed(memory)
    add_hold(small, email="kari@example.no", reason="Klage på levering", actor="test")
    with small.sessions() as db, db.begin():  # an open request holds its person too
        db.add(
            DataRequest(
                id="r-1",
                kind="access",
                status="running",
                email="m0@example.no",
                email_key="k",
                lang="nb",
                channel="admin",
                received_at=NOW,
                due_at=NOW,
            )
        )
    outcome = _run(small, memory, dry_run=False, confirm=True)
    assert outcome.held_people == {"request": 1, "manual": 1}
    assert _counts(outcome) == [
        ("shop", "orders", "ok", 2, 0, 1, 1),
        ("newsletter", "members", "ok", 2, 1, 0, 1),
        ("shop", "signups", "ok", 0, 0, 0, 0),
    ]
    orders = {row["id"]: row for row in memory.collection("shop", "orders")}
    assert orders[0]["email"] is None
    assert orders[0]["name"] is None
    assert (orders[0]["number"], orders[0]["total"]) == ("#1000", 100)  # bookkeeping kept
    assert orders[1]["email"] == "kari@example.no"  # 2020 but held
    assert orders[5]["email"] == "ola@example.no"  # 2020 but not completed
    assert all(orders[i]["email"] for i in (2, 3, 4))  # not yet expired
    assert [m["id"] for m in memory.collection("newsletter", "members")][:3] == [0, 2, 3]
    # A second run changes nothing.
    again = _run(small, memory, dry_run=False, confirm=True)
    assert [c[4:6] for c in _counts(again)] == [(0, 0), (0, 0), (0, 0)]
    assert [c[6] for c in _counts(again)] == [1, 1, 0]
    swept = [e for e in small.audit.entries() if e.action == "retention.swept"]
    assert len(swept) == 6


def test_a_rule_taking_too_large_a_share_waits_for_confirmation(
    small: Runtime, memory: Memory
) -> None:
    _seed(memory)
    members = memory.collection("newsletter", "members")
    del members[4:]  # 2 of 4 members expired: 50 %
    before = repr(memory.rows)
    outcome = _run(small, memory, dry_run=False)
    by_target = {(o.planned.rule, o.planned.sweep.collection): o for o in outcome.outcomes}
    assert by_target[("newsletter_list", "members")].status == "confirm"
    assert "50%" in (by_target[("newsletter_list", "members")].error or "")
    # The whole rule stopped, in every system it applies to; the other rule ran.
    assert by_target[("newsletter_list", "signups")].status == "confirm"
    assert "because of newsletter › members" in (
        by_target[("newsletter_list", "signups")].error or ""
    )
    assert outcome.needs_confirmation == ("newsletter_list",)
    assert len(memory.collection("newsletter", "members")) == 4
    assert by_target[("order_records", "orders")].result.anonymized == 2  # type: ignore[union-attr]
    assert repr(memory.rows) != before
    assert [(s, r, d) for s, r, d in memory.calls if r == "newsletter_list"] == [
        ("newsletter", "newsletter_list", True),
        ("shop", "newsletter_list", True),
    ]
    confirmed = _run(small, memory, dry_run=False, rule="newsletter_list", confirm=True)
    assert confirmed.outcomes[0].result is not None
    assert confirmed.outcomes[0].result.deleted == 2
    assert len(memory.collection("newsletter", "members")) == 2


def test_retriable_errors_are_retried_with_backoff_and_fatal_ones_reported(
    small: Runtime, memory: Memory
) -> None:
    _seed(memory)
    memory.retriable["orders"] = 3  # busy three times, then it answers
    memory.fatal.add("members")
    clock = TestClock(NOW)
    engine = RetentionEngine(small, registry_for(memory), clock=clock, environ={})
    outcome = run_async(engine.run(now=NOW, dry_run=False, confirm=True))
    orders, members, signups = outcome.outcomes
    assert orders.status == "ok"
    assert orders.result is not None
    assert orders.result.anonymized == 2
    assert clock.slept == [2.0, 4.0, 8.0]  # PERSONVERN_JOBS_BACKOFF_SECONDS, doubled
    assert members.status == "failed"
    assert "members is gone" in (members.error or "")
    assert signups.status == "ok"
    assert outcome.status == "failed"
    run = reports.get_run(small, outcome.run_id)
    assert run is not None
    assert run.status == "failed"
    assert [r.status for r in run.rows] == ["ok", "failed", "ok"]
    # Always busy: given up after PERSONVERN_JOBS_MAX_ATTEMPTS, reported, nothing changed.
    memory.retriable["signups"] = 100
    outcome = run_async(engine.run(now=NOW, dry_run=True, rule="newsletter_list"))
    assert outcome.outcomes[1].status == "failed"
    assert outcome.outcomes[1].attempts == small.settings.jobs_max_attempts
    assert "gave up after 5 attempts" in (outcome.outcomes[1].error or "")


def test_a_connector_that_cannot_sweep_is_reported(small: Runtime, memory: Memory) -> None:
    from personvern.connectors.manual import ManualConnector
    from personvern.connectors.registry import ConnectorRegistry

    engine = RetentionEngine(small, ConnectorRegistry([ManualConnector]), environ={})
    outcome = run_async(engine.run(now=NOW, dry_run=True, rule="order_records"))
    assert outcome.outcomes[0].status == "failed"
    assert "no connector is named 'memory'" in (outcome.outcomes[0].error or "")


def test_a_run_stopped_half_way_shows_what_it_did(small: Runtime, memory: Memory) -> None:
    import asyncio

    _seed(memory)
    memory.cancel.add("members")
    engine = RetentionEngine(small, registry_for(memory), clock=TestClock(NOW), environ={})
    with pytest.raises(asyncio.CancelledError):
        run_async(engine.run(now=NOW, dry_run=False, confirm=True))
    [run] = reports.recent_runs(small)
    assert run.status == "failed"
    assert [(r.rule, r.anonymized) for r in run.rows] == [("order_records", 2)]


def test_a_hold_that_runs_out_with_the_sweeping_rule_holds_nothing(runtime: Runtime) -> None:
    """The Assemble inventory anonymizes orders when bookkeeping_primary's five years are
    over too: the sweep gets no hold, so the buyer's name goes with the rest."""
    inventory = runtime.inventory()
    planned = [p for p in plan_sweeps(inventory, now=NOW) if p.rule == "order_records"]
    assert planned
    orders = planned[0].sweep
    assert orders.holds == ()
    assert "billing_name" in orders.fields
