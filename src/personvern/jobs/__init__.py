"""Jobs: the same code runs a request's steps in-process on SQLite and in workers on PostgreSQL.

- :func:`enqueue_request` hands a request to the executor (the lifecycle calls it once a
  request is verified, or its plan approved). On SQLite the store is the queue and the app's
  in-process runner (:func:`personvern.jobs.runner.job_runner`, started in the app's
  lifespan) picks it up; on PostgreSQL a procrastinate job is deferred and a
  ``personvern worker`` takes it (:mod:`personvern.jobs.queue`).
- :func:`run_request_now` runs a request in this process until it is finished or only
  manual tasks remain (``personvern request run ID --wait``).

Either way a step is run once to completion, and a crash or ``kill -9`` is resumed from the
store (:mod:`personvern.dsr.progress`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from typing import TYPE_CHECKING

from personvern.connectors.registry import ConnectorRegistry
from personvern.dsr.control import queue_request

if TYPE_CHECKING:
    from personvern.dsr.executor import Clock
    from personvern.runtime import Runtime

__all__ = ["enqueue_request", "run_request_now"]


def enqueue_request(
    runtime: Runtime, request_id: str, *, registry: ConnectorRegistry | None = None
) -> str:
    """Hand ``request_id`` to the executor: planned if needed, ``running``, and due.

    Returns at once with the request's status. Raises :class:`ValueError` for a request that
    may not run (unverified, refused, expired, completed, awaiting approval).
    """
    status = queue_request(runtime, request_id, registry or ConnectorRegistry.from_entry_points())
    if runtime.engine.dialect.name == "postgresql":
        # Imported here: procrastinate is only needed where PostgreSQL is the store.
        from personvern.jobs.queue import defer_request

        defer_request(runtime, request_id)
    return status


def run_request_now(
    runtime: Runtime,
    request_id: str,
    *,
    registry: ConnectorRegistry | None = None,
    clock: Clock | None = None,
) -> str:
    """Run ``request_id`` in this process, blocking until it is ``completed``, ``waiting``
    (only manual tasks left) or ``failed``; returns that status.

    For synchronous callers (the CLI). Async code awaits
    :func:`personvern.jobs.runner.run_request` instead.
    """
    from personvern.jobs.runner import run_request

    work = run_request(runtime, request_id, registry=registry, clock=clock)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(work)
    # Called from code that already runs an event loop in this thread (a notebook, a sync
    # function called from async code): asyncio allows one loop per thread, so use another.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, work).result()
