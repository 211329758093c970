"""Reading requests for the admin, the CLI and the API: the list by deadline, and one request's
timeline (its steps, its e-mails and its audit entries).

The list is sorted by the deadline that applies (GDPR Art. 12(3): the first month, or the
extended one), soonest first, and flags a request ``soon`` from
``PERSONVERN_REQUEST_WARN_DAYS`` before it and ``overdue`` after it, so nothing runs out
unnoticed. Searching by address compares keyed hashes, so the store is never scanned for an
address in clear.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from personvern.dsr.deadlines import Countdown, countdown, effective_due_at
from personvern.dsr.requests import RequestNotFound, changes_of, details_of
from personvern.dsr.status import KINDS, OPEN_STATUSES
from personvern.keyed import keyed_hash
from personvern.runtime import Runtime
from personvern.store.base import utcnow
from personvern.store.mail import OutboxMessage
from personvern.store.requests import DataRequest, RequestStep
from personvern.store.tables import AuditEntry

STATUS_FILTERS = ("open", "all", *sorted(OPEN_STATUSES | {"completed", "refused", "expired"}))


@dataclass(frozen=True)
class RequestRow:
    id: str
    kind: str
    status: str
    email: str
    name: str | None
    channel: str
    received_at: datetime
    deadline: datetime
    extended: bool
    countdown: Countdown

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "email": self.email,
            "name": self.name,
            "channel": self.channel,
            "received_at": self.received_at.isoformat(),
            "deadline": self.deadline.isoformat(),
            "extended": self.extended,
            "deadline_state": self.countdown.state,
            "days_left": self.countdown.days_left,
        }


def row(request: DataRequest, now: datetime, warn_days: int) -> RequestRow:
    deadline = effective_due_at(request.due_at, request.extended_due_at)
    return RequestRow(
        id=request.id,
        kind=request.kind,
        status=request.status,
        email=request.email,
        name=request.name,
        channel=request.channel,
        received_at=request.received_at,
        deadline=deadline,
        extended=request.extended_due_at is not None,
        countdown=countdown(
            deadline, now, warn_days=warn_days, is_open=request.status in OPEN_STATUSES
        ),
    )


def list_requests(
    runtime: Runtime,
    *,
    status: str = "open",
    kind: str | None = None,
    email: str | None = None,
    limit: int = 500,
    now: datetime | None = None,
) -> list[RequestRow]:
    """Requests by deadline, soonest first. ``status``: ``open``, ``all`` or one status."""
    if status not in STATUS_FILTERS:
        raise ValueError(f"unknown status {status!r}: use one of {', '.join(STATUS_FILTERS)}")
    if kind is not None and kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}: use one of {', '.join(KINDS)}")
    now = now or utcnow()
    deadline = func.coalesce(DataRequest.extended_due_at, DataRequest.due_at)
    query = select(DataRequest).order_by(deadline, DataRequest.received_at).limit(limit)
    if status == "open":
        query = query.where(DataRequest.status.in_(sorted(OPEN_STATUSES)))
    elif status != "all":
        query = query.where(DataRequest.status == status)
    if kind is not None:
        query = query.where(DataRequest.kind == kind)
    if email:
        query = query.where(
            DataRequest.email_key == keyed_hash(runtime.secret, email, kind="email")
        )
    warn = runtime.settings.request_warn_days
    with runtime.sessions() as db:
        return [row(request, now, warn) for request in db.scalars(query)]


@dataclass(frozen=True)
class Timeline:
    """One request as the admin's request page and ``personvern request show`` see it."""

    request: DataRequest
    row: RequestRow
    steps: Sequence[RequestStep]
    messages: Sequence[OutboxMessage]
    audit: Sequence[AuditEntry]
    details: dict[str, Any]
    changes: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        r = self.request
        return {
            **self.row.to_dict(),
            "lang": r.lang,
            "phone": r.phone,
            "due_at": r.due_at.isoformat(),
            "extended_due_at": r.extended_due_at.isoformat() if r.extended_due_at else None,
            "extension_reason": r.extension_reason,
            "verified_at": r.verified_at.isoformat() if r.verified_at else None,
            "approved_at": r.approved_at.isoformat() if r.approved_at else None,
            "completed_at": r.completed_at.isoformat() if r.completed_at else None,
            "refusal_reason": r.refusal_reason,
            "changes": self.changes,
            "message": self.details.get("message"),
            "verification": self.details.get("verification"),
            "steps": [
                {
                    "id": s.id,
                    "system": s.system_key,
                    "connector": s.connector,
                    "action": s.action,
                    "status": s.status,
                    "attempts": s.attempts,
                    "last_error": s.last_error,
                    "finished_at": s.finished_at.isoformat() if s.finished_at else None,
                }
                for s in self.steps
            ],
            "emails": [
                {"purpose": m.purpose, "status": m.status, "created_at": m.created_at.isoformat()}
                for m in self.messages
            ],
            "audit": [
                {
                    "seq": e.seq,
                    "at": e.at.isoformat(),
                    "actor": e.actor,
                    "action": e.action,
                    "details": json.loads(e.details),
                }
                for e in self.audit
                if e.object_id == r.id
            ],
        }


def timeline(runtime: Runtime, request_id: str, now: datetime | None = None) -> Timeline:
    """A request with its steps, e-mails and the audit entries about its person."""
    now = now or utcnow()
    with runtime.sessions() as db:
        request = db.get(DataRequest, request_id)
        if request is None:
            raise RequestNotFound(request_id)
        steps = list(
            db.scalars(
                select(RequestStep)
                .where(RequestStep.request_id == request_id)
                .order_by(RequestStep.id)
            )
        )
        messages = list(
            db.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.request_id == request_id)
                .order_by(OutboxMessage.created_at, OutboxMessage.id)
            )
        )
        db.expunge_all()
    entries = runtime.audit.entries(subject=request.email)
    return Timeline(
        request=request,
        row=row(request, now, runtime.settings.request_warn_days),
        steps=steps,
        messages=messages,
        audit=entries,
        details=details_of(request),
        changes=changes_of(request),
    )


def find_step(runtime: Runtime, request_id: str, step_id: int) -> RequestStep:
    """A step of a request; :class:`RequestNotFound` when it is not one of that request's."""
    with runtime.sessions() as db:
        step = db.get(RequestStep, step_id)
        if step is None or step.request_id != request_id:
            raise RequestNotFound(request_id)
        db.expunge(step)
        return step
