"""Jobs on PostgreSQL through procrastinate: ``personvern worker``, on any number of machines.

procrastinate (Postgres-only, async) carries the *wake-ups*: a job ``personvern.run_request``
per request handed to the executor, deferred by :func:`personvern.jobs.enqueue_request` and
taken by exactly one worker (procrastinate locks the job row when it fetches it). The job
runs the same code as the in-process runner (:func:`personvern.jobs.runner.drive`), and the
truth stays in personvern's own tables: a step is claimed by a conditional UPDATE on its
row (:mod:`personvern.dsr.progress`), so even two jobs for one request run each step once.

A retry due later than a pass waits is deferred as a job scheduled at that time. Every
minute, and when a worker starts, a sweep defers a job for every request with a step due,
including steps left ``running`` by a worker that was killed, once their lease lapsed; so a
crash loses nothing, whatever happened to procrastinate's own job.

procrastinate's tables live in a schema of their own (``procrastinate``), apart from
personvern's store and its Alembic migrations. :func:`ensure_schema` applies procrastinate's
schema on first use and its own migration files on upgrade, under an advisory lock, so many
workers may start at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

import procrastinate
import psycopg
from procrastinate import exceptions as procrastinate_exceptions
from procrastinate.jobs import Status
from procrastinate.schema import SchemaManager
from sqlalchemy.engine import make_url

from personvern.connectors.registry import ConnectorRegistry
from personvern.dsr.control import next_due
from personvern.dsr.executor import INLINE_WAIT, Executor
from personvern.jobs.runner import drive

if TYPE_CHECKING:
    from personvern.runtime import Runtime

log = logging.getLogger(__name__)

SCHEMA = "procrastinate"
QUEUE = "personvern"
TASK_RUN = "personvern.run_request"
TASK_SWEEP = "personvern.sweep"
_LOCK_KEY = 0x70766A71  # "pvjq": serialises schema changes between starting workers
_MIGRATION = re.compile(r"^(\d+)\.(\d+)\.(\d+)_(\d+)_.*\.sql$")


def conninfo(runtime: Runtime) -> str:
    """The store's URL as libpq understands it (no SQLAlchemy driver suffix)."""
    url = make_url(runtime.settings.resolved_database_url()).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _connect_options() -> dict[str, Any]:
    # Every connection of procrastinate sees only its own schema.
    return {"options": f"-c search_path={SCHEMA}"}


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def ensure_schema(runtime: Runtime) -> str:
    """Create or upgrade procrastinate's schema; returns the version it is at."""
    current = procrastinate.__version__
    with psycopg.connect(conninfo(runtime), **_connect_options()) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{SCHEMA}"')
        conn.execute("CREATE TABLE IF NOT EXISTS personvern_schema_version (version text NOT NULL)")
        row = conn.execute("SELECT version FROM personvern_schema_version").fetchone()
        if row is None:
            exists = conn.execute(
                "SELECT to_regclass(%s)", (f"{SCHEMA}.procrastinate_jobs",)
            ).fetchone()
            if exists is None or exists[0] is None:
                # Without parameters psycopg sends the script as one simple query.
                conn.execute(SchemaManager.get_schema())
                log.info("created procrastinate's schema %s (version %s)", SCHEMA, current)
            conn.execute("INSERT INTO personvern_schema_version (version) VALUES (%s)", (current,))
            return current
        installed = str(row[0])
        if _version(installed) < _version(current):
            for path in _migrations(installed, current):
                conn.execute(path.read_text(encoding="utf-8"))
                log.info("applied procrastinate migration %s", path.name)
            conn.execute("UPDATE personvern_schema_version SET version = %s", (current,))
        return current


def _migrations(installed: str, current: str) -> list[Any]:
    from pathlib import Path

    found = []
    for path in Path(SchemaManager.get_migrations_path()).glob("*.sql"):
        match = _MIGRATION.match(path.name)
        if match is None:
            continue
        version = tuple(int(match[i]) for i in (1, 2, 3))
        if _version(installed) < version <= _version(current):
            found.append((version, int(match[4]), path))
    return [path for *_, path in sorted(found)]


def _lock(request_id: str, later: bool) -> str:
    # Two queueing locks per request: at most one job waiting to run now and one scheduled
    # for later, so a scheduled retry never delays a request handed over again meanwhile.
    return f"request:{request_id}:{'later' if later else 'now'}"


def defer_request(runtime: Runtime, request_id: str) -> None:
    """Defer a job to run ``request_id`` now (from synchronous code: the lifecycle, the CLI)."""
    ensure_schema(runtime)
    connector = procrastinate.SyncPsycopgConnector(
        conninfo=conninfo(runtime), kwargs=_connect_options(), min_size=1, max_size=1
    )
    app = procrastinate.App(connector=connector)
    # AlreadyEnqueued: a job for it is already waiting to run; that one will do.
    with app.open(), contextlib.suppress(procrastinate_exceptions.AlreadyEnqueued):
        task = app.configure_task(TASK_RUN, queue=QUEUE, queueing_lock=_lock(request_id, False))
        task.defer(request_id=request_id)


async def _defer(app: procrastinate.App, request_id: str, at: datetime | None = None) -> None:
    with contextlib.suppress(procrastinate_exceptions.AlreadyEnqueued):
        await app.configure_task(
            TASK_RUN,
            queue=QUEUE,
            queueing_lock=_lock(request_id, at is not None),
            schedule_at=at,
        ).defer_async(request_id=request_id)


async def sweep_once(app: procrastinate.App, runtime: Runtime, now: datetime) -> list[str]:
    """Defer a job for every running request, at the time its next step is due (a retry, or
    the end of the lease of a step whose worker may have died); close jobs of dead workers.

    Returns the ids of the requests due now.
    """
    due = await asyncio.to_thread(next_due, runtime, now)
    for request_id, at in due:
        await _defer(app, request_id, None if at <= now else at)
    # A killed worker's job stays "doing" in procrastinate's table; the request itself was
    # found above (by its steps' lapsed leases), so the old job is only closed.
    for job in await app.job_manager.get_stalled_jobs():
        if job.id is not None and job.task_name == TASK_RUN:
            await app.job_manager.finish_job_by_id_async(job.id, Status.FAILED, delete_job=False)
    return [request_id for request_id, at in due if at <= now]


def build_app(runtime: Runtime, executor: Executor) -> procrastinate.App:
    """The procrastinate app of a worker: its connector and its two tasks."""
    connector = procrastinate.PsycopgConnector(
        conninfo=conninfo(runtime), kwargs=_connect_options()
    )
    app = procrastinate.App(connector=connector)

    @app.task(name=TASK_RUN, queue=QUEUE)
    async def run_request(request_id: str) -> None:
        outcome = await drive(executor, request_id, patience=INLINE_WAIT)
        if outcome.wake_at is not None:
            await _defer(app, request_id, outcome.wake_at)

    @app.periodic(cron="* * * * *", periodic_id="sweep")
    @app.task(name=TASK_SWEEP, queue=QUEUE, queueing_lock=TASK_SWEEP)
    async def sweep(timestamp: int) -> None:
        await sweep_once(app, runtime, executor.clock.now())

    from personvern.retention.schedule import register_daily  # the daily retention run

    register_daily(app, runtime, executor.registry)
    return app


async def run_worker(
    runtime: Runtime,
    registry: ConnectorRegistry,
    *,
    concurrency: int,
    name: str,
) -> None:
    """Run a worker until SIGINT/SIGTERM: resume what is due, then take jobs as they come."""
    await asyncio.to_thread(ensure_schema, runtime)
    executor = Executor(runtime, registry, actor=f"worker:{name}")
    app = build_app(runtime, executor)
    async with app.open_async():
        resumed = await sweep_once(app, runtime, executor.clock.now())
        log.info("worker %s started; %d request(s) due", name, len(resumed))
        await app.run_worker_async(
            queues=[QUEUE],
            concurrency=concurrency,
            name=name,
            fetch_job_polling_interval=runtime.settings.jobs_poll_seconds,
            # A stopping worker hands its steps back (they are cancelled and released).
            shutdown_graceful_timeout=runtime.settings.jobs_lease_seconds,
        )
