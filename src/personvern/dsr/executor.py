"""The executor: runs a request's steps concurrently, resumably, and exactly once to completion.

One :class:`Executor` serves every request a process runs (the in-process runner on SQLite,
a ``personvern worker`` on PostgreSQL, ``personvern request run --wait``), so that its
per-connector limit (``PERSONVERN_JOBS_CONCURRENCY``) holds across requests and keeps a
vendor's rate limits. :meth:`Executor.run` makes one pass over a request:

- each due step is claimed (state written *before* the attempt, committed), run by its
  connector, and its outcome written *after* (:mod:`personvern.dsr.progress`); no
  transaction is open while a connector works;
- :class:`~personvern.connectors.base.Retriable` (a timeout, 429, 5xx) is retried with
  exponential backoff and jitter, waiting at least the ``Retry-After`` the system gave, up
  to ``PERSONVERN_JOBS_MAX_ATTEMPTS``; :class:`~personvern.connectors.base.Fatal` fails the
  step with its message, for an admin;
- a step whose connector has none of its environment variables set (the system is not
  connected in this installation) becomes a manual task saying which to set
  (:mod:`personvern.dsr.unconfigured`);
- a manual step becomes ``waiting`` until an admin marks it done
  (:func:`personvern.dsr.control.complete_manual_step`); a system kept whole under a
  retention hold (GDPR Art. 17(3)(b)) is recorded as kept;
- a step left ``running`` by a process that died is run again once its lease lapses;
  a ``done`` step is never run again;
- at the end the request's status follows its steps: ``completed``, ``waiting`` (only manual
  tasks left), ``failed`` or still ``running`` with the time it is next due.

The deadline of every request is one month (GDPR Art. 12(3)); retries that need longer than
:data:`INLINE_WAIT` are handed back to the job layer (:mod:`personvern.jobs`) as ``wake_at``
rather than holding a worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from personvern.connectors.base import (
    AccessResult,
    Connector,
    ErasureResult,
    Fatal,
    Identity,
    RectifyResult,
    Retriable,
)
from personvern.connectors.registry import (
    ConnectorRegistry,
    ConnectorSettingsError,
    UnknownConnector,
)
from personvern.dsr.control import complete_manual_step, queue_request, retry_step
from personvern.dsr.holds import connector_settings, hold_to_json, rule_hold_to_json
from personvern.dsr.ordering import erase_order
from personvern.dsr.plan import CHANGE_CATEGORIES, PlannedStep
from personvern.dsr.progress import Progress, RequestView, StepView
from personvern.dsr.status import FINISHED_STEPS
from personvern.dsr.unconfigured import NotConfigured, manual_plan, unset_variables
from personvern.store.requests import DataRequest

if TYPE_CHECKING:
    from personvern.runtime import Runtime

__all__ = [
    "Clock",
    "Executor",
    "Outcome",
    "SystemClock",
    "backoff",
    "complete_manual_step",
    "queue_request",
    "retry_step",
]

log = logging.getLogger(__name__)

INLINE_WAIT = 30.0
"""Retries due within this many seconds are waited for in the same pass."""


class Clock(Protocol):
    """What time it is, and how to wait. Tests pass one they control."""

    def now(self) -> datetime: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


@dataclass(frozen=True)
class Outcome:
    """A pass over a request: its status after, and when it is due again (None: not)."""

    status: str
    wake_at: datetime | None = None


class _Retry(Exception):
    def __init__(self, message: str, retry_after: float | None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def backoff(
    attempt: int,
    *,
    base: float,
    cap: float,
    retry_after: float | None,
    rng: random.Random,
) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1, 2, …).

    Exponential (``base``, ``2 × base``, ``4 × base``…, at most ``cap``) with "equal jitter"
    (half fixed, half random) so that many workers do not retry in step; never less than a
    ``Retry-After`` the system asked for (RFC 9110 § 10.2.3), which may exceed ``cap``.
    """
    step = min(cap, base * 2.0 ** (attempt - 1))
    delay: float = step / 2 + rng.uniform(0, step / 2)
    if retry_after is not None and retry_after > delay:
        delay = retry_after + rng.uniform(0, min(1.0, base / 2))
    return delay


def _plain(value: Any) -> Any:
    """A connector's values as JSON (dates as ISO text, decimals as text, bytes as hex)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _result_json(result: object) -> tuple[dict[str, Any], dict[str, Any]]:
    """The step's result (stored) and its counts (audited: no personal data)."""
    if isinstance(result, AccessResult):
        per: dict[str, int] = {}
        for record in result.records:
            per[record.collection] = per.get(record.collection, 0) + 1
        stored = {
            "records": [
                {
                    "collection": r.collection,
                    "key": r.key,
                    "fields": _plain(r.fields),
                    "categories": dict(r.categories),
                }
                for r in result.records
            ],
            "notes": list(result.notes),
        }
        return stored, {"records": len(result.records), "collections": per}
    if isinstance(result, ErasureResult):
        stored = {
            "deleted": dict(result.deleted),
            "anonymized": dict(result.anonymized),
            "kept": [hold_to_json(h) for h in result.kept],
            "notes": list(result.notes),
        }
        counts = {
            "deleted": sum(result.deleted.values()),
            "anonymized": sum(result.anonymized.values()),
            "kept": len(result.kept),
        }
        return stored, counts
    if isinstance(result, RectifyResult):
        stored = {"changed": dict(result.changed), "notes": list(result.notes)}
        return stored, {"changed": sum(result.changed.values())}
    raise Fatal(f"the connector returned {type(result).__name__}, not a result")


class Executor:
    """Runs steps for one runtime with one connector registry; share it within a process."""

    def __init__(
        self,
        runtime: Runtime,
        registry: ConnectorRegistry,
        *,
        clock: Clock | None = None,
        environ: Mapping[str, str] | None = None,
        actor: str = "system:executor",
        rng: random.Random | None = None,
    ) -> None:
        self.runtime = runtime
        self.registry = registry
        self.clock: Clock = clock or SystemClock()
        self._environ = environ
        self._progress = Progress(runtime, actor)
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not a secret
        self._limits: dict[str, asyncio.Semaphore] = {}
        settings = runtime.settings
        self._lease = timedelta(seconds=settings.jobs_lease_seconds)
        self._max_attempts = settings.jobs_max_attempts

    def _semaphore(self, connector: str) -> asyncio.Semaphore:
        if connector not in self._limits:
            settings = self.runtime.settings
            limit = settings.jobs_concurrency_per_connector.get(
                connector, settings.jobs_concurrency
            )
            self._limits[connector] = asyncio.Semaphore(max(1, limit))
        return self._limits[connector]

    async def run(self, request_id: str) -> Outcome:
        """One pass: run every due step of a ``running`` request; settle its status."""
        loaded = await asyncio.to_thread(self._progress.load, request_id)
        if loaded is None:
            raise LookupError(f"no request {request_id}")
        request, steps = loaded
        if request.status != "running":
            return Outcome(request.status)
        todo = [s for s in steps if s.status in ("pending", "running")]
        blockers = erase_order(self.runtime, request.kind, steps)
        free = [s for s in todo if not blockers.get(s.id)]
        wakes = list(await asyncio.gather(*(self._drive(request, step) for step in free)))
        held = [s for s in todo if blockers.get(s.id)]
        if held:
            wakes += await self._after_blockers(request, held, blockers)
        status = await asyncio.to_thread(self._progress.settle, request_id, self.clock.now())
        if status == "completed":
            # Art. 12(3): the person is told, with the report; sent once, whichever process
            # (in-process runner, a worker, the CLI) finished the request.
            from personvern.dsr.requests import notify_completed

            await asyncio.to_thread(notify_completed, self.runtime, request_id)
        if status != "running":
            return Outcome(status)
        due = [w for w in wakes if w is not None]
        # Nothing due but still running: another process holds a step; look again soon.
        poll = timedelta(seconds=self.runtime.settings.jobs_poll_seconds)
        return Outcome(status, min(due) if due else self.clock.now() + poll)

    async def _after_blockers(
        self, request: RequestView, held: list[StepView], blockers: dict[int, set[int]]
    ) -> list[datetime | None]:
        """Run each held step whose blockers have finished; the others are due again when
        their blockers are (a step that failed or waits for a person counts as finished:
        it will not look anything up again by itself)."""
        loaded = await asyncio.to_thread(self._progress.load, request.id)
        fresh = {s.id: s for s in loaded[1]} if loaded is not None else {}
        ready: list[StepView] = []
        wakes: list[datetime | None] = []
        for step in held:
            if step.id not in fresh:
                continue
            pending = [
                fresh[b] for b in blockers[step.id] if fresh[b].status in ("pending", "running")
            ]
            if not pending:
                ready.append(fresh[step.id])
            else:
                due = [b.next_attempt_at for b in pending if b.next_attempt_at is not None]
                wakes.append(min(due) if due else self.clock.now())
        wakes += await asyncio.gather(*(self._drive(request, step) for step in ready))
        return wakes

    async def _drive(self, request: RequestView, step: StepView) -> datetime | None:
        """Take one step as far as it goes now; the time it is next due, or None."""
        plan = PlannedStep.from_json(step.system_key, step.action, step.connector, step.plan)
        if plan.disposition != "run":
            await asyncio.to_thread(self._settle_without_run, request, step, plan)
            return None
        assert plan.connector is not None
        while True:
            now = self.clock.now()
            lapsed = step.next_attempt_at is not None and step.next_attempt_at < now
            if step.status == "running" and lapsed and step.attempts >= self._max_attempts:
                # Its process died on the last allowed attempt; one that keeps killing its
                # worker (say, out of memory) must not be run for ever.
                await asyncio.to_thread(
                    self._progress.abandon,
                    request,
                    step,
                    now,
                    f"the process running this step stopped {step.attempts} times; look at "
                    "the worker's log, then retry the step",
                )
                return None
            async with self._semaphore(plan.connector):
                now = self.clock.now()
                claimed = await asyncio.to_thread(
                    self._progress.claim, request, step, now, now + self._lease
                )
                if claimed:
                    delay = await self._attempt(request, step, plan, step.attempts + 1)
            if not claimed:
                fresh = await asyncio.to_thread(self._progress.step, step.id)
                if fresh.status in FINISHED_STEPS or fresh.status in ("failed", "waiting"):
                    return None
                due = fresh.next_attempt_at
                changed = (fresh.status, fresh.attempts) != (step.status, step.attempts)
                if changed and (due is None or due <= now):
                    step = fresh  # our view was stale; try again with the fresh one
                    continue
                # Not yet due, or held by another live process: look again then.
                return due or now
            if delay is None:
                return None
            if delay > INLINE_WAIT:
                return self.clock.now() + timedelta(seconds=delay)
            await self.clock.sleep(delay)
            step = await asyncio.to_thread(self._progress.step, step.id)

    def _settle_without_run(self, request: RequestView, step: StepView, plan: PlannedStep) -> None:
        now = self.clock.now()
        if plan.disposition == "manual":
            self._progress.settle_without_run(
                request, step, "waiting", None, "request.step.waiting", {}, now
            )
            return
        result = {
            "deleted": {},
            "anonymized": {},
            "kept": [],
            "kept_rules": [rule_hold_to_json(h) for h in plan.holds],
            "notes": [dict(n) for n in plan.notes],
        }
        self._progress.settle_without_run(
            request,
            step,
            "done",
            result,
            "request.step.kept",
            {"rules": [h.rule for h in plan.holds]},
            now,
        )

    async def _attempt(
        self, request: RequestView, step: StepView, plan: PlannedStep, attempt: int
    ) -> float | None:
        """One claimed attempt; returns seconds until a retry, or None when finished."""
        progress = self._progress
        try:
            result = await self._call_with_lease(request, step, plan, attempt)
        except asyncio.CancelledError:
            # Stopping (shutdown, SIGTERM): hand the step back now instead of at lease end.
            progress.release(step, attempt)
            raise
        except _Lost:
            log.warning(
                "step %s of request %s was taken over by another process", step.id, step.request_id
            )
            return None
        except _Retry as exc:
            now = self.clock.now()
            if attempt >= self._max_attempts:
                message = f"gave up after {attempt} attempts: {exc}"
                await asyncio.to_thread(progress.fail, request, step, attempt, message, now)
                return None
            delay = backoff(
                attempt,
                base=self.runtime.settings.jobs_backoff_seconds,
                cap=self.runtime.settings.jobs_backoff_max_seconds,
                retry_after=exc.retry_after,
                rng=self._rng,
            )
            at = now + timedelta(seconds=delay)
            ok = await asyncio.to_thread(progress.retry_later, request, step, attempt, str(exc), at)
            return delay if ok else None
        except Fatal as exc:
            await asyncio.to_thread(
                progress.fail, request, step, attempt, str(exc), self.clock.now()
            )
            return None
        except NotConfigured as exc:
            await asyncio.to_thread(self._become_manual, request, step, plan, attempt, exc)
            return None
        stored, counts = result
        await asyncio.to_thread(
            progress.succeed, request, step, attempt, stored, counts, self.clock.now()
        )
        return None

    async def _call_with_lease(
        self, request: RequestView, step: StepView, plan: PlannedStep, attempt: int
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        call = asyncio.ensure_future(self._call(request, step, plan))
        keeper = asyncio.ensure_future(self._keep_lease(step, attempt))
        try:
            await asyncio.wait({call, keeper}, return_when=asyncio.FIRST_COMPLETED)
            if not call.done():
                # The lease was lost: another process owns the step now; stop ours.
                call.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await call
                raise _Lost
            return call.result()
        finally:
            for task in (call, keeper):
                if not task.done():
                    task.cancel()
            # Collect both, so that neither is left pending; their errors are handled above.
            await asyncio.gather(call, keeper, return_exceptions=True)

    async def _keep_lease(self, step: StepView, attempt: int) -> None:
        """Renew the lease every third of it; return when it cannot be renewed."""
        # Real time, not the clock: the lease guards against real crashes.
        interval = self._lease.total_seconds() / 3
        while True:
            await asyncio.sleep(interval)
            try:
                ok = await asyncio.to_thread(
                    self._progress.renew, step.id, attempt, self.clock.now() + self._lease
                )
            except Exception:
                # The store is briefly unreachable: keep working. If the lease lapses
                # meanwhile, the result write is fenced off and the step runs again.
                log.warning("could not renew the lease of step %s", step.id, exc_info=True)
                continue
            if not ok:
                return

    async def _call(
        self, request: RequestView, step: StepView, plan: PlannedStep
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        connector = self._build(step, plan)
        ga_client_id = json.loads(request.details or "{}").get("ga_client_id")
        identity = Identity(
            email=request.email, phone=request.phone, name=request.name, ga_client_id=ga_client_id
        )
        try:
            return _result_json(await self._dispatch(connector, identity, plan))
        except (Retriable, TimeoutError, ConnectionError) as exc:
            retry_after = exc.retry_after if isinstance(exc, Retriable) else None
            raise _Retry(str(exc) or type(exc).__name__, retry_after) from exc
        except (Fatal, asyncio.CancelledError):
            raise
        except Exception as exc:
            # A connector should raise Retriable or Fatal; anything else is a bug in it,
            # which retrying will not fix.
            raise Fatal(
                f"unexpected error in the {plan.connector} connector "
                f"({type(exc).__name__}: {exc}); report it to the connector's authors"
            ) from exc
        finally:
            with contextlib.suppress(Exception):
                await connector.aclose()

    def _build(self, step: StepView, plan: PlannedStep) -> Connector:
        assert plan.connector is not None
        try:
            system = self.runtime.inventory().system(step.system_key)
        except KeyError:
            raise Fatal(
                f"the system {step.system_key!r} is no longer in the inventory; put it back, "
                "or mark the step done by hand"
            ) from None
        if system.connector is None:
            raise Fatal(f"the system {step.system_key!r} no longer has a connector")
        settings = connector_settings(system.connector)
        unset = unset_variables(settings, os.environ if self._environ is None else self._environ)
        if unset is not None:
            raise NotConfigured(plan.connector, unset)
        try:
            inventory_file = self.runtime.settings.inventory
            return self.registry.build(
                plan.connector,
                settings,
                self._environ,
                # Files named in settings (a dataset) are relative to the inventory.
                base_dir=Path(inventory_file).resolve().parent if inventory_file else None,
            )
        except (UnknownConnector, ConnectorSettingsError) as exc:
            raise Fatal(str(exc)) from exc

    def _become_manual(
        self,
        request: RequestView,
        step: StepView,
        plan: PlannedStep,
        attempt: int,
        exc: NotConfigured,
    ) -> None:
        with self.runtime.sessions() as session:
            row = session.get(DataRequest, request.id)
            assert row is not None
            manual = manual_plan(self.runtime.inventory(), row, plan, exc.variables)
        self._progress.become_manual(
            request, step, attempt, manual.to_json(), exc.variables, self.clock.now()
        )

    @staticmethod
    async def _dispatch(connector: Connector, identity: Identity, plan: PlannedStep) -> object:
        if plan.action == "access":
            return await connector.access(identity)
        if plan.action == "erase":
            assert plan.erasure is not None
            return await connector.erase(identity, plan.erasure)
        if plan.action == "rectify":
            # The request names what to correct as people do (name, email, phone, address);
            # connectors know data categories, which say the same of any system's fields.
            changes = {CHANGE_CATEGORIES.get(k, k): v for k, v in (plan.changes or {}).items()}
            return await connector.rectify(identity, changes)
        if plan.action == "unsubscribe":
            return await connector.unsubscribe(identity)
        return await connector.restrict(identity)


class _Lost(Exception):
    """The step's lease was taken over by another process."""
