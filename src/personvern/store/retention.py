"""Tables of retention (issue 7): the runs of the sweep, their reports, and legal holds.

``retention_runs``: one row per run of the sweep (scheduled, from the CLI or the admin),
dry or not, with who or what started it. ``scheduled_day`` is set on the run the daily
schedule started, and is unique: two workers that both find the day due cannot both run
it, since only one insert of that day succeeds.

``retention_reports``: one row per rule × system × collection of a run, with the counts
(deleted, anonymized, held, matched, total), how long it took and any error. No personal
data: a report names rules, systems and collections, never a person.

``legal_holds``: a person whose records no sweep may touch, for a reason (a dispute, a
claim, an investigation) until released or until a date. The address is kept in clear
because each connector must find the person's records to leave them alone; the audit log
refers to the person only by keyed hash.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from personvern.store.base import Base, UTCDateTime, utcnow


class RetentionRun(Base):
    """One run of the retention sweep over some or all rules."""

    __tablename__ = "retention_runs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # random UUID
    dry_run: Mapped[bool] = mapped_column(Boolean)
    trigger: Mapped[str] = mapped_column(String(20))  # schedule|cli|admin
    actor: Mapped[str] = mapped_column(String(100))
    rule: Mapped[str | None] = mapped_column(String(64), nullable=True)  # None: every rule
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="running")  # running|ok|confirm|failed
    scheduled_day: Mapped[str | None] = mapped_column(String(10), nullable=True, unique=True)


class RetentionReport(Base):
    """What one rule did in one collection of one system during a run."""

    __tablename__ = "retention_reports"
    __table_args__ = (Index("ix_retention_reports_rule_system", "rule", "system"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("retention_runs.id", ondelete="CASCADE"))
    rule: Mapped[str] = mapped_column(String(64))
    system: Mapped[str] = mapped_column(String(64))
    collection: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(10))  # delete|anonymize
    cutoff: Mapped[datetime] = mapped_column(UTCDateTime)
    # ok | confirm (stopped: too large a share, --confirm needed) | failed
    status: Mapped[str] = mapped_column(String(20))
    matched: Mapped[int] = mapped_column(Integer, default=0)
    deleted: Mapped[int] = mapped_column(Integer, default=0)
    anonymized: Mapped[int] = mapped_column(Integer, default=0)
    held: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    duration_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    oldest_kept: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class LegalHold(Base):
    """A person under a legal hold: nothing about them is swept until it is released."""

    __tablename__ = "legal_holds"
    __table_args__ = (Index("ix_legal_holds_released_at", "released_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # manual|dispute
    email: Mapped[str] = mapped_column(String(320))
    email_key: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100))
    until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    released_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
