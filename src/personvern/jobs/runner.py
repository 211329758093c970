"""Running requests in this process: the runner of the app on SQLite, and ``--wait`` runs.

The database is the queue. A request handed to the executor is ``running`` with steps due
(:func:`personvern.dsr.control.due_requests`); the runner looks for such requests every
``PERSONVERN_JOBS_POLL_SECONDS`` and runs each with one shared
:class:`~personvern.dsr.executor.Executor`, so nothing is lost when the process stops: on the
next start the same query finds what was left, including steps a killed process left
``running`` once their lease has lapsed.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from personvern.connectors.registry import ConnectorRegistry
from personvern.dsr.control import due_requests, queue_request
from personvern.dsr.executor import INLINE_WAIT, Clock, Executor, Outcome

if TYPE_CHECKING:
    from personvern.runtime import Runtime

log = logging.getLogger(__name__)


async def drive(executor: Executor, request_id: str, *, patience: float | None = None) -> Outcome:
    """Run passes over a request until it is no longer due within ``patience`` seconds.

    ``patience=None`` waits as long as it takes (``--wait``). Returns the last pass's
    outcome: ``wake_at`` set means the request is due again then, and was left for later.
    """
    clock = executor.clock
    outcome = await executor.run(request_id)
    while outcome.wake_at is not None:
        wait = (outcome.wake_at - clock.now()).total_seconds()
        if patience is not None and wait > patience:
            return outcome
        await clock.sleep(max(0.0, wait))
        outcome = await executor.run(request_id)
    return outcome


async def run_request(
    runtime: Runtime,
    request_id: str,
    *,
    registry: ConnectorRegistry | None = None,
    clock: Clock | None = None,
) -> str:
    """Queue ``request_id`` and run it in this process to the end; returns its status.

    The end is ``completed``, ``waiting`` (manual tasks are left for people) or ``failed``.
    """
    registry = registry or ConnectorRegistry.from_entry_points()
    await asyncio.to_thread(queue_request, runtime, request_id, registry)
    executor = Executor(runtime, registry, clock=clock, actor="system:run")
    return (await drive(executor, request_id)).status


class InProcessRunner:
    """Polls the store for due requests and runs them as tasks of this event loop."""

    def __init__(
        self,
        runtime: Runtime,
        registry: ConnectorRegistry,
        *,
        clock: Clock | None = None,
    ) -> None:
        self.runtime = runtime
        self.executor = Executor(runtime, registry, clock=clock, actor="system:runner")
        self._active: dict[str, asyncio.Task[Outcome]] = {}
        self._loop_task: asyncio.Task[None] | None = None

    async def poll_once(self) -> list[str]:
        """Start a task for each due request not already running here; their ids."""
        now = self.executor.clock.now()
        due = await asyncio.to_thread(due_requests, self.runtime, now)
        started = []
        for request_id in due:
            if request_id in self._active:
                continue
            task = asyncio.create_task(
                drive(self.executor, request_id, patience=INLINE_WAIT),
                name=f"personvern-request-{request_id}",
            )
            self._active[request_id] = task
            task.add_done_callback(functools.partial(self._done, request_id))
            started.append(request_id)
        return started

    def _done(self, request_id: str, task: asyncio.Task[Outcome]) -> None:
        self._active.pop(request_id, None)
        if not task.cancelled() and task.exception() is not None:
            # Logged with the id only: the exception text may carry personal data.
            log.error(
                "request %s stopped with %s; it is picked up again on the next poll",
                request_id,
                type(task.exception()).__name__,
            )

    async def run_forever(self) -> None:
        interval = self.runtime.settings.jobs_poll_seconds
        while True:
            try:
                await self.poll_once()
            except Exception:
                log.exception("looking for due requests failed; trying again")
            await asyncio.sleep(interval)

    def start(self) -> None:
        self._loop_task = asyncio.create_task(self.run_forever(), name="personvern-runner")

    async def stop(self) -> None:
        """Stop polling and cancel running requests; their steps are handed back at once."""
        tasks = [t for t in (self._loop_task, *self._active.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._loop_task = None


@contextlib.asynccontextmanager
async def job_runner(
    runtime: Runtime, registry: ConnectorRegistry | None = None
) -> AsyncIterator[InProcessRunner | None]:
    """For the app's lifespan: the in-process runner on SQLite; on PostgreSQL nothing,
    since ``personvern worker`` processes run the jobs there."""
    if runtime.engine.dialect.name == "postgresql":
        yield None
        return
    runner = InProcessRunner(runtime, registry or ConnectorRegistry.from_entry_points())
    runner.start()
    try:
        yield runner
    finally:
        await runner.stop()
