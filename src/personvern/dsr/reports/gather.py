"""What a report is made of: the request and each system's outcome, read from the store.

The executor stores each step's result as JSON (``personvern.dsr.executor._result_json``):
an access step the records found, an erasure step what was deleted, anonymized and kept
(with the hold's legal ground and end date), a rectification step what changed. A manual
task has the note of the person who did it. :func:`gather` reads them back into plain,
detached values, so rendering never holds a session and never sees the ORM.

Only what the connectors found *by the person's own identifiers* is in a result (the SQL
connector walks the graph from the identities), which is how the report leaves out other
people's data (GDPR Art. 15(4)).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Final

from sqlalchemy import select

from personvern.dsr.requests import RequestNotFound, changes_of
from personvern.runtime import Runtime
from personvern.store.requests import DataRequest, RequestStep

# A report describes what was done; before the plan has run there is nothing to describe,
# and a refused or expired request has had its answer already (the refusal letter).
REPORTABLE: Final = frozenset({"running", "waiting", "failed", "completed"})


class ReportError(ValueError):
    """No report can be written for this request; the message says why."""


@dataclass(frozen=True)
class FoundRecord:
    """One record about the person in one collection of one system (an access result)."""

    collection: str
    key: str | None
    fields: Mapping[str, Any]
    categories: Mapping[str, str]


@dataclass(frozen=True)
class KeptFields:
    """Fields an erasure kept in one collection, and why (GDPR Art. 17(3)(b))."""

    collection: str
    fields: tuple[str, ...]
    ground: str
    until: date | None


@dataclass(frozen=True)
class KeptRule:
    """A retention rule that kept a whole system's data (no fields mapped for it)."""

    rule: str
    ground: str
    until: date | None
    categories: tuple[str, ...]


@dataclass(frozen=True)
class Outcome:
    """What happened in one system: its step's status and result, or a manual task's note."""

    system_key: str
    action: str
    status: str  # the step's: pending, running, done, failed, waiting, skipped
    manual: bool
    finished_at: datetime | None
    note: str | None = None
    records: tuple[FoundRecord, ...] = ()
    deleted: Mapping[str, int] = field(default_factory=dict)
    anonymized: Mapping[str, int] = field(default_factory=dict)
    kept: tuple[KeptFields, ...] = ()
    kept_rules: tuple[KeptRule, ...] = ()
    changed: Mapping[str, int] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return self.status == "done"


@dataclass(frozen=True)
class Answer:
    """A request and its outcomes, detached from the store."""

    id: str
    kind: str
    status: str
    lang: str
    email: str
    name: str | None
    phone: str | None
    received_at: datetime
    completed_at: datetime | None
    changes: Mapping[str, str]
    outcomes: tuple[Outcome, ...]

    @property
    def completed(self) -> bool:
        return self.status == "completed"


def _date(value: object) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) and value else None


def _counts(value: object) -> dict[str, int]:
    if not isinstance(value, Mapping):
        return {}
    return {str(k): int(v) for k, v in value.items() if isinstance(v, int) and v}


def _records(result: Mapping[str, Any]) -> tuple[FoundRecord, ...]:
    out = []
    for item in result.get("records") or []:
        fields = item.get("fields") or {}
        out.append(
            FoundRecord(
                collection=str(item.get("collection", "")),
                key=None if item.get("key") is None else str(item["key"]),
                fields=dict(fields) if isinstance(fields, Mapping) else {},
                categories={str(k): str(v) for k, v in (item.get("categories") or {}).items()},
            )
        )
    return tuple(out)


def _outcome(step: RequestStep) -> Outcome:
    plan = json.loads(step.plan or "{}")
    raw = json.loads(step.result) if step.result else {}
    result: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    return Outcome(
        system_key=step.system_key,
        action=step.action,
        status=step.status,
        manual=plan.get("disposition") == "manual",
        finished_at=step.finished_at,
        note=step.note,
        records=_records(result),
        deleted=_counts(result.get("deleted")),
        anonymized=_counts(result.get("anonymized")),
        kept=tuple(
            KeptFields(
                collection=str(h["collection"]),
                fields=tuple(str(f) for f in h.get("fields", [])),
                ground=str(h.get("ground", "")),
                until=_date(h.get("until")),
            )
            for h in result.get("kept") or []
        ),
        kept_rules=tuple(
            KeptRule(
                rule=str(h["rule"]),
                ground=str(h.get("ground", "")),
                until=_date(h.get("until")),
                categories=tuple(str(c) for c in h.get("categories", [])),
            )
            for h in result.get("kept_rules") or []
        ),
        changed=_counts(result.get("changed")),
    )


def gather(runtime: Runtime, request_id: str) -> Answer:
    """The request ``request_id`` and its outcomes, in the plan's order.

    Raises :class:`~personvern.dsr.requests.RequestNotFound` (a ``LookupError``) for an
    unknown id and :class:`ReportError` for a request with nothing to report.
    """
    with runtime.sessions() as db:
        request = db.get(DataRequest, request_id)
        if request is None:
            raise RequestNotFound(request_id)
        if request.status not in REPORTABLE:
            raise ReportError(
                f"request {request_id} is {request.status}: a report is written once its plan "
                "has run (a refused or expired request has had its answer already)"
            )
        steps = db.scalars(
            select(RequestStep).where(RequestStep.request_id == request_id).order_by(RequestStep.id)
        )
        outcomes = tuple(_outcome(step) for step in steps)
        return Answer(
            id=request.id,
            kind=request.kind,
            status=request.status,
            lang=request.lang,
            email=request.email,
            name=request.name,
            phone=request.phone,
            received_at=request.received_at,
            completed_at=request.completed_at,
            changes=changes_of(request),
            outcomes=outcomes,
        )
