"""The daily run: the retention sweep, plus the request engine's housekeeping.

Once a day, from 03:00 Europe/Oslo (a quiet hour for a Norwegian shop), the sweep runs
every rule for real (``trigger=schedule``), then requests whose verification link was
never followed expire (:func:`personvern.dsr.requests.expire_unverified`) and report
folders whose download links have ended are removed
(:func:`personvern.dsr.reports.delivery.purge_reports`).

**Once per day, whoever runs it.** The run claims its day by inserting the run row with
``scheduled_day`` set, a unique column (:mod:`personvern.retention.reports`): of two
workers that find the day due at the same moment, one insert succeeds and the other gets
:class:`~personvern.retention.reports.DayTaken` and does nothing.

**Catching up.** The check runs often (every minute in-process; hourly as a periodic
job) and asks only "has the latest due day been run?". After downtime of any
length the first check runs once, for today, with today's cutoffs; which covers every day
missed, since a cutoff only moves forward.

- On SQLite, :func:`retention_schedule` runs the check in the server's own process (the
  app's lifespan starts it, next to the in-process request runner).
- On PostgreSQL, :func:`register_daily` adds a procrastinate periodic task to the
  workers' app (:func:`personvern.jobs.queue.build_app`); procrastinate defers each tick
  once for all workers, and the claim above makes a repeated tick harmless.

Tests drive :meth:`DailySchedule.tick` with a clock they control; nothing here sleeps
except the loop between two checks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from personvern.connectors.registry import ConnectorRegistry
from personvern.dsr.executor import Clock, SystemClock
from personvern.retention import reports
from personvern.retention.engine import OSLO, RetentionEngine, RunOutcome

if TYPE_CHECKING:
    import procrastinate

    from personvern.runtime import Runtime

log = logging.getLogger(__name__)

DAILY_AT = time(3, 0)  # Europe/Oslo wall-clock time
CHECK_SECONDS = 60.0
STALE_TICK_SECONDS = 300.0
TASK_DAILY = "personvern.retention_daily"
ACTOR = "system:schedule"


def due_day(now: datetime) -> date:
    """The newest day whose run time has come at ``now`` (before 03:00: yesterday)."""
    local = now.astimezone(OSLO)
    return local.date() if local.time() >= DAILY_AT else local.date() - timedelta(days=1)


def next_run(runtime: Runtime, now: datetime) -> datetime:
    """When the schedule runs next: now if the due day has not run yet, else tomorrow 03:00."""
    day = due_day(now)
    last = reports.last_scheduled_day(runtime)
    if last is None or last < day.isoformat():
        return now
    following = day + timedelta(days=1)
    return datetime.combine(following, DAILY_AT, tzinfo=OSLO).astimezone(UTC)


def housekeeping(runtime: Runtime, now: datetime) -> dict[str, int]:
    """The request engine's periodic chores; each runs even if the other fails."""
    from personvern.dsr.reports.delivery import purge_reports
    from personvern.dsr.requests import expire_unverified

    done: dict[str, int] = {}
    for name, chore in (("expired", expire_unverified), ("purged", purge_reports)):
        try:
            done[name] = chore(runtime, now)
        except Exception:
            log.exception("the daily %s chore failed; it is tried again tomorrow", name)
    return done


async def run_daily(
    runtime: Runtime,
    registry: ConnectorRegistry,
    *,
    now: datetime,
    clock: Clock | None = None,
    environ: Any = None,
) -> RunOutcome | None:
    """Run the day due at ``now`` unless it has run; the run, or None when nothing was due.

    Without an inventory (``PERSONVERN_INVENTORY`` unset) there are no rules: nothing runs.
    """
    if runtime.settings.inventory is None:
        return None
    day = due_day(now).isoformat()
    last = await asyncio.to_thread(reports.last_scheduled_day, runtime)
    if last is not None and last >= day:
        return None
    engine = RetentionEngine(runtime, registry, clock=clock, environ=environ)
    try:
        outcome = await engine.run(
            dry_run=False, now=now, trigger="schedule", actor=ACTOR, scheduled_day=day
        )
    except reports.DayTaken:
        return None  # another process got there first
    await asyncio.to_thread(housekeeping, runtime, now)
    log.info("retention: the run for %s finished with status %s", day, outcome.status)
    return outcome


class DailySchedule:
    """The in-process schedule of one server: a check every minute, a run once a day."""

    def __init__(
        self,
        runtime: Runtime,
        registry: ConnectorRegistry,
        *,
        clock: Clock | None = None,
        interval: float = CHECK_SECONDS,
    ) -> None:
        self.runtime = runtime
        self.registry = registry
        self.clock: Clock = clock or SystemClock()
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    async def tick(self) -> RunOutcome | None:
        """Check once, at the clock's time; the run if one was made."""
        return await run_daily(self.runtime, self.registry, now=self.clock.now(), clock=self.clock)

    async def run_forever(self) -> None:
        while True:
            # Wait first: a server started for a moment (a test, a restart loop) does not
            # sweep as a side effect; a minute late is early enough to catch up.
            await self.clock.sleep(self.interval)
            try:
                await self.tick()
            except Exception:
                log.exception("the daily retention run failed; it is tried again shortly")

    def start(self) -> None:
        self._task = asyncio.create_task(self.run_forever(), name="personvern-retention")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None


@contextlib.asynccontextmanager
async def retention_schedule(
    runtime: Runtime, registry: ConnectorRegistry | None = None
) -> AsyncIterator[DailySchedule | None]:
    """For the app's lifespan: the daily run in this process on SQLite; on PostgreSQL
    nothing, since the workers' periodic job runs it there (:func:`register_daily`)."""
    if runtime.engine.dialect.name == "postgresql":
        yield None
        return
    schedule = DailySchedule(runtime, registry or ConnectorRegistry.from_entry_points())
    schedule.start()
    try:
        yield schedule
    finally:
        await schedule.stop()


def register_daily(app: procrastinate.App, runtime: Runtime, registry: ConnectorRegistry) -> None:
    """Add the daily run to a worker's procrastinate app, as a periodic task.

    It ticks hourly, at seven past; procrastinate defers each tick once for all workers
    (``periodic_id`` and the tick's timestamp), the queueing lock keeps at most one
    waiting, and the day's claim makes a repeated tick do nothing. A tick deferred late,
    as procrastinate does for recent ticks when a worker starts, is skipped: the next
    on-time tick catches up anyway, and a worker started for a moment (a test, a
    deploy) does not sweep as a side effect.
    """
    from personvern.jobs.queue import QUEUE

    @app.periodic(cron="7 * * * *", periodic_id="retention")
    @app.task(name=TASK_DAILY, queue=QUEUE, queueing_lock=TASK_DAILY)
    async def retention_daily(timestamp: int) -> None:
        now = datetime.now(UTC)
        if now.timestamp() - timestamp > STALE_TICK_SECONDS:
            return
        await run_daily(runtime, registry, now=now)
