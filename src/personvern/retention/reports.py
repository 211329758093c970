"""Proof of what the retention sweep did: a report row per rule × system, and the audit log.

Every run writes a row in ``retention_runs`` (dry or not, who or what started it) and one
row in ``retention_reports`` per target it applied: the rule, the system, the collection,
the counts deleted, anonymized and held, how long it took and any error. Each report row
is also written to the hash-chained audit log (``retention.swept`` for a run that changes
data, ``retention.planned`` for a dry run), in the same transaction. Neither holds personal
data: rules, systems, collections and numbers only (GDPR Art. 5(2), accountability;
Art. 30(1)(f) asks for the envisaged time limits, these rows show they are kept).

A scheduled run carries the day it is for (``scheduled_day``, unique), which is how the
schedule makes sure a day is run once, whichever worker gets there first.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from personvern.store.base import utcnow
from personvern.store.retention import RetentionReport, RetentionRun

if TYPE_CHECKING:
    from personvern.runtime import Runtime


class DayTaken(Exception):
    """The scheduled run for this day was already started (by this or another process)."""


@dataclass(frozen=True)
class ReportRow:
    """One rule in one collection of one system, as a run left it (no personal data)."""

    rule: str
    system: str
    collection: str
    action: str
    cutoff: datetime
    status: str  # ok | confirm | failed
    matched: int = 0
    deleted: int = 0
    anonymized: int = 0
    held: int = 0
    total: int = 0
    attempts: int = 1
    duration_seconds: float = 0.0
    oldest_kept: datetime | None = None
    error: str | None = None


@dataclass(frozen=True)
class RunView:
    """A run and its report rows, for the CLI and the admin."""

    id: str
    dry_run: bool
    trigger: str
    actor: str
    rule: str | None
    started_at: datetime
    finished_at: datetime | None
    status: str
    scheduled_day: str | None
    rows: tuple[ReportRow, ...]


def start_run(
    runtime: Runtime,
    *,
    dry_run: bool,
    trigger: str,
    actor: str,
    rule: str | None = None,
    scheduled_day: str | None = None,
    now: datetime | None = None,
) -> str:
    """Record that a run starts; its id. Raises :class:`DayTaken` if the day is already run."""
    run_id = str(uuid.uuid4())
    try:
        with runtime.sessions() as db, db.begin():
            db.add(
                RetentionRun(
                    id=run_id,
                    dry_run=dry_run,
                    trigger=trigger,
                    actor=actor,
                    rule=rule,
                    started_at=now or utcnow(),
                    status="running",
                    scheduled_day=scheduled_day,
                )
            )
    except IntegrityError as exc:
        if scheduled_day is None:
            raise
        raise DayTaken(scheduled_day) from exc
    return run_id


def write_report(
    runtime: Runtime, run_id: str, row: ReportRow, *, dry_run: bool, actor: str
) -> None:
    """Store one report row and its audit entry, together or not at all."""
    with runtime.audit.session() as db:
        db.add(
            RetentionReport(
                run_id=run_id,
                rule=row.rule,
                system=row.system,
                collection=row.collection,
                action=row.action,
                cutoff=row.cutoff,
                status=row.status,
                matched=row.matched,
                deleted=row.deleted,
                anonymized=row.anonymized,
                held=row.held,
                total=row.total,
                attempts=row.attempts,
                duration_seconds=row.duration_seconds,
                oldest_kept=row.oldest_kept,
                error=row.error,
            )
        )
        runtime.audit.append(
            db,
            actor=actor,
            action="retention.planned" if dry_run else "retention.swept",
            object_type="retention_run",
            object_id=run_id,
            details={
                "rule": row.rule,
                "system": row.system,
                "collection": row.collection,
                "action": row.action,
                "cutoff": row.cutoff.isoformat(),
                "status": row.status,
                "matched": row.matched,
                "deleted": row.deleted,
                "anonymized": row.anonymized,
                "held": row.held,
                "total": row.total,
                "error": row.error,
            },
        )


def finish_run(runtime: Runtime, run_id: str, status: str, now: datetime | None = None) -> None:
    with runtime.sessions() as db, db.begin():
        run = db.get(RetentionRun, run_id)
        assert run is not None, run_id
        run.status = status
        run.finished_at = now or utcnow()


def _row(report: RetentionReport) -> ReportRow:
    return ReportRow(
        rule=report.rule,
        system=report.system,
        collection=report.collection,
        action=report.action,
        cutoff=report.cutoff,
        status=report.status,
        matched=report.matched,
        deleted=report.deleted,
        anonymized=report.anonymized,
        held=report.held,
        total=report.total,
        attempts=report.attempts,
        duration_seconds=report.duration_seconds,
        oldest_kept=report.oldest_kept,
        error=report.error,
    )


def _views(db: Session, runs: Sequence[RetentionRun]) -> list[RunView]:
    by_run: dict[str, list[ReportRow]] = {run.id: [] for run in runs}
    if by_run:
        reports = db.scalars(
            select(RetentionReport)
            .where(RetentionReport.run_id.in_(list(by_run)))
            .order_by(RetentionReport.id)
        )
        for report in reports:
            by_run[report.run_id].append(_row(report))
    return [
        RunView(
            id=run.id,
            dry_run=run.dry_run,
            trigger=run.trigger,
            actor=run.actor,
            rule=run.rule,
            started_at=run.started_at,
            finished_at=run.finished_at,
            status=run.status,
            scheduled_day=run.scheduled_day,
            rows=tuple(by_run[run.id]),
        )
        for run in runs
    ]


def recent_runs(runtime: Runtime, limit: int = 10) -> list[RunView]:
    """The newest runs with their report rows, newest first."""
    with runtime.sessions() as db:
        runs = list(
            db.scalars(
                select(RetentionRun)
                .order_by(RetentionRun.started_at.desc(), RetentionRun.id)
                .limit(limit)
            )
        )
        return _views(db, runs)


def get_run(runtime: Runtime, run_id: str) -> RunView | None:
    """One run with its report rows; None if there is no such run."""
    with runtime.sessions() as db:
        run = db.get(RetentionRun, run_id)
        return _views(db, [run])[0] if run is not None else None


def last_scheduled_day(runtime: Runtime) -> str | None:
    """The newest day the schedule has run (or started to run), ``YYYY-MM-DD``."""
    with runtime.sessions() as db:
        return db.scalar(
            select(RetentionRun.scheduled_day)
            .where(RetentionRun.scheduled_day.is_not(None))
            .order_by(RetentionRun.scheduled_day.desc())
            .limit(1)
        )
