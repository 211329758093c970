"""The persisted progress of a request's steps: every state change, each its own transaction.

The executor (:mod:`personvern.dsr.executor`) never holds a transaction open while a
connector works. It writes the state *before* an attempt (claim: ``running``, attempts + 1,
``started_at``, committed) and *after* it (``done`` with the result, ``pending`` with the
time of the next attempt, or ``failed``), so that a crash between the two leaves a step
``running`` and nothing is lost.

Every write is a conditional UPDATE, a compare-and-set on the step's ``attempts`` (its
fencing token): of two processes claiming the same step, one wins; the loser's later writes
match no row and are dropped. While a step runs, ``next_attempt_at`` is its **lease**: the
process renews it (:meth:`Progress.renew`); once it lapses, the process is taken to be dead
(a crash, ``kill -9``, a lost machine) and any other may claim the step and run it again,
which erasure allows because connectors erase idempotently. A ``done`` step never matches a
claim, so it is never run again.

Each change that touches personal data is written to the audit log in the same transaction,
with counts and system keys only (GDPR Art. 5(2), accountability).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from personvern.dsr.status import FINISHED_STEPS
from personvern.store.requests import DataRequest, RequestStep
from personvern.suppression.entries import record_objection

if TYPE_CHECKING:
    from personvern.runtime import Runtime

# The request states the executor works in; others (refused, expired, …) are left alone.
ACTIVE_REQUEST = frozenset({"running", "waiting", "failed"})


@dataclass(frozen=True)
class RequestView:
    """A request as the executor needs it, detached from any session."""

    id: str
    kind: str
    status: str
    email: str
    phone: str | None
    name: str | None
    details: str = "{}"  # the request's details JSON (e.g. ga_client_id from the form)


@dataclass(frozen=True)
class StepView:
    """A step row as read at one moment."""

    id: int
    request_id: str
    system_key: str
    connector: str | None
    action: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    plan: dict[str, Any]

    @classmethod
    def of(cls, row: RequestStep) -> StepView:
        return cls(
            id=row.id,
            request_id=row.request_id,
            system_key=row.system_key,
            connector=row.connector,
            action=row.action,
            status=row.status,
            attempts=row.attempts,
            next_attempt_at=row.next_attempt_at,
            plan=json.loads(row.plan or "{}"),
        )


def _changed(result: Any) -> bool:
    assert isinstance(result, CursorResult)
    return bool(result.rowcount == 1)


class Progress:
    """Reads and conditional writes of steps and requests, for one runtime and one actor."""

    def __init__(self, runtime: Runtime, actor: str) -> None:
        self._runtime = runtime
        self._actor = actor

    def _audit(
        self, session: Session, request: RequestView, action: str, details: dict[str, Any]
    ) -> None:
        self._runtime.audit.append(
            session,
            actor=self._actor,
            action=action,
            subject=request.email,
            object_type="request",
            object_id=request.id,
            details=details,
        )

    # --- reading ----------------------------------------------------------------------

    def load(self, request_id: str) -> tuple[RequestView, list[StepView]] | None:
        with self._runtime.sessions() as session:
            row = session.get(DataRequest, request_id)
            if row is None:
                return None
            steps = session.scalars(
                select(RequestStep)
                .where(RequestStep.request_id == request_id)
                .order_by(RequestStep.id)
            )
            view = RequestView(
                row.id, row.kind, row.status, row.email, row.phone, row.name, row.details
            )
            return view, [StepView.of(s) for s in steps]

    def step(self, step_id: int) -> StepView:
        with self._runtime.sessions() as session:
            row = session.get(RequestStep, step_id)
            if row is None:
                raise LookupError(f"no step {step_id}")
            return StepView.of(row)

    # --- one attempt: claim, renew, finish ----------------------------------------------

    def claim(self, request: RequestView, step: StepView, now: datetime, lease: datetime) -> bool:
        """Take ``step`` for an attempt if it is due and nobody holds it; True if taken."""
        with self._runtime.audit.session() as session:
            done = session.execute(
                update(RequestStep)
                .where(
                    RequestStep.id == step.id,
                    RequestStep.attempts == step.attempts,
                    or_(
                        and_(
                            RequestStep.status == "pending",
                            or_(
                                RequestStep.next_attempt_at.is_(None),
                                RequestStep.next_attempt_at <= now,
                            ),
                        ),
                        and_(RequestStep.status == "running", RequestStep.next_attempt_at < now),
                    ),
                )
                .values(
                    status="running",
                    attempts=RequestStep.attempts + 1,
                    started_at=now,
                    finished_at=None,
                    next_attempt_at=lease,
                )
                .execution_options(synchronize_session=False)
            )
            if not _changed(done):
                return False
            self._audit(
                session,
                request,
                "request.step.started",
                {
                    "system": step.system_key,
                    "step_action": step.action,
                    "attempt": step.attempts + 1,
                    "resumed": step.status == "running",
                },
            )
            return True

    def renew(self, step_id: int, attempt: int, lease: datetime) -> bool:
        """Extend the lease of a step this process runs; False if another took it over."""
        with self._runtime.sessions() as session, session.begin():
            return _changed(
                session.execute(
                    update(RequestStep)
                    .where(
                        RequestStep.id == step_id,
                        RequestStep.attempts == attempt,
                        RequestStep.status == "running",
                    )
                    .values(next_attempt_at=lease)
                    .execution_options(synchronize_session=False)
                )
            )

    def _finish(
        self,
        request: RequestView,
        step: StepView,
        attempt: int,
        values: dict[str, Any],
        action: str,
        details: dict[str, Any],
    ) -> bool:
        with self._runtime.audit.session() as session:
            done = session.execute(
                update(RequestStep)
                .where(
                    RequestStep.id == step.id,
                    RequestStep.attempts == attempt,
                    RequestStep.status == "running",
                )
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            if not _changed(done):
                return False
            self._audit(
                session,
                request,
                action,
                {"system": step.system_key, "step_action": step.action, **details},
            )
            return True

    def succeed(
        self,
        request: RequestView,
        step: StepView,
        attempt: int,
        result: dict[str, Any],
        counts: dict[str, Any],
        now: datetime,
    ) -> bool:
        return self._finish(
            request,
            step,
            attempt,
            {
                "status": "done",
                "result": json.dumps(result, ensure_ascii=False, sort_keys=True, default=str),
                "finished_at": now,
                "next_attempt_at": None,
                "last_error": None,
            },
            "request.step.done",
            {"attempt": attempt, **counts},
        )

    def retry_later(
        self, request: RequestView, step: StepView, attempt: int, error: str, at: datetime
    ) -> bool:
        return self._finish(
            request,
            step,
            attempt,
            {"status": "pending", "next_attempt_at": at, "last_error": error},
            "request.step.retry",
            {"attempt": attempt, "next_attempt_at": at.isoformat()},
        )

    def fail(
        self, request: RequestView, step: StepView, attempt: int, error: str, now: datetime
    ) -> bool:
        return self._finish(
            request,
            step,
            attempt,
            {
                "status": "failed",
                "finished_at": now,
                "next_attempt_at": None,
                "last_error": error,
            },
            "request.step.failed",
            {"attempt": attempt},
        )

    def become_manual(
        self,
        request: RequestView,
        step: StepView,
        attempt: int,
        plan: dict[str, Any],
        variables: list[str],
        now: datetime,
    ) -> bool:
        """Make a claimed step a manual task (its connector is not set up here)."""
        return self._finish(
            request,
            step,
            attempt,
            {
                "status": "waiting",
                "connector": None,
                "plan": json.dumps(plan, ensure_ascii=False, sort_keys=True),
                "next_attempt_at": None,
                "last_error": None,
            },
            "request.step.waiting",
            {"attempt": attempt, "not_configured": variables},
        )

    def release(self, step: StepView, attempt: int) -> bool:
        """Give a step back at once (this process is stopping), rather than let its lease run."""
        with self._runtime.sessions() as session, session.begin():
            return _changed(
                session.execute(
                    update(RequestStep)
                    .where(
                        RequestStep.id == step.id,
                        RequestStep.attempts == attempt,
                        RequestStep.status == "running",
                    )
                    .values(status="pending", next_attempt_at=None)
                    .execution_options(synchronize_session=False)
                )
            )

    def abandon(self, request: RequestView, step: StepView, now: datetime, error: str) -> bool:
        """Fail a step whose lease lapsed on its last allowed attempt (it keeps crashing)."""
        with self._runtime.audit.session() as session:
            done = session.execute(
                update(RequestStep)
                .where(
                    RequestStep.id == step.id,
                    RequestStep.attempts == step.attempts,
                    RequestStep.status == "running",
                    RequestStep.next_attempt_at < now,
                )
                .values(status="failed", finished_at=now, next_attempt_at=None, last_error=error)
                .execution_options(synchronize_session=False)
            )
            if not _changed(done):
                return False
            self._audit(
                session,
                request,
                "request.step.failed",
                {"system": step.system_key, "step_action": step.action, "interrupted": True},
            )
            return True

    # --- steps that need no connector -------------------------------------------------

    def settle_without_run(
        self,
        request: RequestView,
        step: StepView,
        status: str,
        result: dict[str, Any] | None,
        action: str,
        details: dict[str, Any],
        now: datetime,
    ) -> bool:
        """Move a ``pending`` step straight to ``status`` (a manual task, a kept system)."""
        with self._runtime.audit.session() as session:
            done = session.execute(
                update(RequestStep)
                .where(RequestStep.id == step.id, RequestStep.status == "pending")
                .values(
                    status=status,
                    result=None if result is None else json.dumps(result, sort_keys=True),
                    started_at=now,
                    finished_at=now if status in FINISHED_STEPS else None,
                    next_attempt_at=None,
                )
                .execution_options(synchronize_session=False)
            )
            if not _changed(done):
                return False
            self._audit(
                session,
                request,
                action,
                {"system": step.system_key, "step_action": step.action, **details},
            )
            return True

    # --- the request as a whole -------------------------------------------------------

    def settle(self, request_id: str, now: datetime) -> str:
        """Bring the request's status in line with its steps; returns the status.

        Any step pending or running: ``running``. Otherwise any failed: ``failed`` (an admin
        decides). Otherwise any waiting for a person: ``waiting``. Otherwise ``completed``.
        """
        with self._runtime.audit.session() as session:
            row = session.get(DataRequest, request_id, with_for_update=True)
            if row is None:
                raise LookupError(f"no request {request_id}")
            if row.status not in ACTIVE_REQUEST:
                return row.status
            statuses = Counter(
                session.scalars(
                    select(RequestStep.status).where(RequestStep.request_id == request_id)
                )
            )
            if statuses["pending"] or statuses["running"]:
                new = "running"
            elif statuses["failed"]:
                new = "failed"
            elif statuses["waiting"]:
                new = "waiting"
            else:
                new = "completed"
            if new != row.status:
                row.status = new
                if new == "completed":
                    row.completed_at = now
                    if row.kind == "object" and row.email:  # onto the suppression list
                        record_objection(session, self._runtime.audit, row.email, actor=self._actor)
                view = RequestView(row.id, row.kind, row.status, row.email, row.phone, row.name)
                self._audit(session, view, f"request.{new}", {"steps": dict(statuses)})
            return new
