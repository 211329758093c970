"""The admin's and the job layer's hold on a request's run: queue it, finish a manual task,
retry a failed step, find what is due.

These are the state changes outside the executor's own attempts. Each is one transaction,
audited, and conditional on the state it expects, so a double click or two admins at once
change things once.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import func, literal, select

from personvern.connectors.registry import ConnectorRegistry
from personvern.dsr.plan import plan_request
from personvern.dsr.progress import Progress
from personvern.store.base import UTCDateTime, utcnow
from personvern.store.requests import DataRequest, RequestStep

if TYPE_CHECKING:
    from personvern.runtime import Runtime

# Statuses from which a request may be (re)started: verified and not held for review,
# approved, or already under way (running, waiting for people, failed and being retried).
QUEUEABLE = frozenset({"verified", "running", "waiting", "failed"})


class StepError(ValueError):
    """The step cannot change that way; the message says why."""


def queue_request(
    runtime: Runtime,
    request_id: str,
    registry: ConnectorRegistry,
    *,
    today: date | None = None,
    actor: str = "system:executor",
) -> str:
    """Make ``request_id`` ``running``: planned (if it has no steps yet) and due to run.

    A request awaiting approval is queued only once approved (``approved_at`` set); an
    unverified, refused, expired or completed one raises :class:`ValueError`.
    """
    plan_request(runtime, request_id, registry, today=today)
    with runtime.audit.session() as session:
        request = session.get(DataRequest, request_id, with_for_update=True)
        if request is None:
            raise LookupError(f"no request {request_id}")
        approved = request.status == "awaiting_approval" and request.approved_at is not None
        if request.status not in QUEUEABLE and not approved:
            raise ValueError(
                f"request {request_id} is {request.status}; only a verified (and, when plans "
                "are reviewed, approved) request can run"
            )
        if request.status != "running":
            request.status = "running"
            runtime.audit.append(
                session,
                actor=actor,
                action="request.queued",
                subject=request.email,
                object_type="request",
                object_id=request.id,
                details={"kind": request.kind},
            )
        return request.status


def complete_manual_step(
    runtime: Runtime,
    step_id: int,
    by: str,
    note: str,
    attachment: Path | str | None = None,
) -> str:
    """Mark a manual task done, by ``by`` (an admin), with a note and an optional attachment.

    Returns the request's status after (``completed`` when this was the last open step).
    """
    now = utcnow()
    with runtime.audit.session() as session:
        step = session.get(RequestStep, step_id, with_for_update=True)
        if step is None:
            raise LookupError(f"no step {step_id}")
        plan = json.loads(step.plan or "{}")
        if plan.get("disposition") != "manual" or step.status not in ("waiting", "pending"):
            raise StepError(
                f"step {step_id} is not a manual task waiting for someone (it is "
                f"{step.status}); only those can be marked done by hand"
            )
        request = session.get(DataRequest, step.request_id)
        assert request is not None
        step.status = "done"
        step.done_by = by
        step.note = note
        step.attachment = None if attachment is None else str(attachment)
        step.finished_at = now
        step.result = json.dumps({"manual": True}, sort_keys=True)
        runtime.audit.append(
            session,
            actor=by,
            action="request.step.manual_done",
            subject=request.email,
            object_type="request",
            object_id=request.id,
            details={
                "system": step.system_key,
                "step_action": step.action,
                "attachment": attachment is not None,
            },
        )
        request_id = request.id
    return Progress(runtime, by).settle(request_id, now)


def retry_step(runtime: Runtime, step_id: int, by: str) -> str:
    """Give a failed step another round of attempts (after an admin fixed the cause).

    The step goes back to ``pending`` and the request to ``running``; hand it to the job
    layer afterwards (:func:`personvern.jobs.enqueue_request`). Returns the request status.
    """
    with runtime.audit.session() as session:
        step = session.get(RequestStep, step_id, with_for_update=True)
        if step is None:
            raise LookupError(f"no step {step_id}")
        if step.status != "failed":
            raise StepError(f"step {step_id} is {step.status}; only a failed step is retried")
        request = session.get(DataRequest, step.request_id, with_for_update=True)
        assert request is not None
        # attempts restarts from zero so the step gets its full number of attempts again;
        # the audit log keeps the history of the earlier ones.
        step.status = "pending"
        step.attempts = 0
        step.next_attempt_at = None
        step.finished_at = None
        if request.status in ("failed", "waiting", "completed"):
            request.status = "running"
            request.completed_at = None
        runtime.audit.append(
            session,
            actor=by,
            action="request.step.retried",
            subject=request.email,
            object_type="request",
            object_id=request.id,
            details={"system": step.system_key, "step_action": step.action},
        )
        return request.status


def next_due(runtime: Runtime, now: datetime, limit: int = 500) -> list[tuple[str, datetime]]:
    """Running requests with unfinished steps, and when each is next due (soonest first).

    A step is due at its ``next_attempt_at``: the time of its next attempt when pending,
    the end of its lease when running (then another process may take it over), now when
    unset. Requests whose only open steps wait for people are not listed.
    """
    due_at = func.min(func.coalesce(RequestStep.next_attempt_at, literal(now, UTCDateTime)))
    with runtime.sessions() as session:
        rows = session.execute(
            select(DataRequest.id, due_at)
            .join(RequestStep, RequestStep.request_id == DataRequest.id)
            .where(
                DataRequest.status == "running",
                RequestStep.status.in_(("pending", "running")),
            )
            .group_by(DataRequest.id)
            .order_by(due_at)
            .limit(limit)
        ).all()
    out = []
    for request_id, at in rows:
        when = _aware(at) if at is not None else now
        out.append((str(request_id), when))
    return out


def due_requests(runtime: Runtime, now: datetime, limit: int = 500) -> list[str]:
    """Running requests with a step to run now: pending and due, or left by a dead process."""
    return [request_id for request_id, at in next_due(runtime, now, limit) if at <= now]


def _aware(value: datetime | str) -> datetime:
    # MIN() over a timestamp comes back untyped from SQLite (text, naive UTC); PostgreSQL
    # gives an aware datetime.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
