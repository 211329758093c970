"""The daily run: once a day whoever runs it, caught up once after downtime, with chores."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from retention_support import Memory, TestClock, at, registry_for, run_async

from personvern.retention import reports
from personvern.retention.engine import RunOutcome
from personvern.retention.schedule import (
    TASK_DAILY,
    DailySchedule,
    due_day,
    next_run,
    run_daily,
)
from personvern.runtime import Runtime
from personvern.store.requests import DataRequest


@pytest.mark.parametrize(
    ("now", "day"),
    [
        ("2026-06-10T00:59", "2026-06-09"),  # 02:59 in Oslo (summer time): yesterday's
        ("2026-06-10T01:00", "2026-06-10"),  # 03:00 in Oslo
        ("2026-01-10T02:00", "2026-01-10"),  # 03:00 in Oslo in winter
        ("2026-01-10T01:59", "2026-01-09"),
    ],
)
def test_the_day_due(now: str, day: str) -> None:
    assert due_day(at(now)).isoformat() == day


def test_once_a_day_and_once_after_downtime(small: Runtime, memory: Memory) -> None:
    clock = TestClock(at("2026-06-10T01:30"))  # 03:30 in Oslo
    schedule = DailySchedule(small, registry_for(memory), clock=clock)
    assert next_run(small, clock.now()) == clock.now()  # never run: due now
    first = run_async(schedule.tick())
    assert first is not None
    assert first.status == "ok"
    assert run_async(schedule.tick()) is None  # the same day: nothing
    clock.current = at("2026-06-11T00:30")  # 02:30 next night: not yet
    assert run_async(schedule.tick()) is None
    assert next_run(small, clock.now()) == at("2026-06-11T01:00")
    # Down for five days: the first check runs once, for today.
    clock.current = at("2026-06-16T09:00")
    assert run_async(schedule.tick()) is not None
    assert run_async(schedule.tick()) is None
    days = [run.scheduled_day for run in reports.recent_runs(small)]
    assert days == ["2026-06-16", "2026-06-10"]
    assert all(not run.dry_run and run.trigger == "schedule" for run in reports.recent_runs(small))


def test_two_processes_run_the_day_once(small: Runtime, memory: Memory) -> None:
    now = at("2026-06-10T05:00")
    results: list[RunOutcome | None] = []
    barrier = threading.Barrier(2)

    def worker() -> None:
        barrier.wait()
        results.append(run_async(run_daily(small, registry_for(memory), now=now)))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r is None for r in results) == [False, True]
    assert [run.scheduled_day for run in reports.recent_runs(small)] == ["2026-06-10"]


def test_the_daily_run_expires_unconfirmed_requests(small: Runtime, memory: Memory) -> None:
    now = at("2026-06-10T05:00")
    with small.sessions() as db, db.begin():
        db.add(
            DataRequest(
                id="old",
                kind="access",
                status="unverified",
                email="a@example.no",
                email_key="k",
                lang="nb",
                channel="form",
                received_at=now - timedelta(days=9),
                due_at=now,
                expires_at=now - timedelta(days=2),
            )
        )
    assert run_async(run_daily(small, registry_for(memory), now=now)) is not None
    with small.sessions() as db:
        request = db.get(DataRequest, "old")
        assert request is not None
        assert request.status == "expired"


def test_the_workers_get_a_periodic_task(small: Runtime, memory: Memory) -> None:
    from personvern.dsr.executor import Executor
    from personvern.jobs.queue import build_app

    # The workers' app as `personvern worker` builds it (nothing connects until it opens).
    app = build_app(small, Executor(small, registry_for(memory), actor="worker:test"))
    assert TASK_DAILY in app.tasks
    periodic = app.periodic_registry.periodic_tasks.values()
    assert (TASK_DAILY, "7 * * * *", "retention") in [
        (p.task.name, p.cron, p.periodic_id) for p in periodic
    ]
    # A tick deferred long after its time (a worker starting up) does nothing.
    stale = int(at("2026-06-10T05:00").timestamp())
    run_async(app.tasks[TASK_DAILY](timestamp=stale))
    assert reports.recent_runs(small) == []
