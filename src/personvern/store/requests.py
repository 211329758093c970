"""Tables of data-subject requests: the request, its steps (one per system), its tokens.

A request holds the person's identifiers in clear: they are needed to find the person in
each system and to write to them (GDPR Art. 12). The rest of personvern refers to people
only by keyed hash (``email_key``), and the request itself is kept only as long as its
retention rule says.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from personvern.store.base import Base, UTCDateTime, utcnow


class DataRequest(Base):
    """A data-subject request: access, rectification, erasure, objection or restriction."""

    __tablename__ = "requests"
    __table_args__ = (
        Index("ix_requests_status_due_at", "status", "due_at"),
        Index("ix_requests_email_key", "email_key"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # random UUID, public
    kind: Mapped[str] = mapped_column(String(20))  # access|rectify|erase|object|restrict
    status: Mapped[str] = mapped_column(String(30))
    email: Mapped[str] = mapped_column(String(320))
    email_key: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(40), nullable=True)
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    lang: Mapped[str] = mapped_column(String(2), default="nb")
    channel: Mapped[str] = mapped_column(String(10))  # form|admin|api|cli
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    extended_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    extension_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    extension_notice_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    approved_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    refusal_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    changes: Mapped[str] = mapped_column(Text, default="{}")  # JSON: proposed corrections
    details: Mapped[str] = mapped_column(Text, default="{}")  # JSON: anything else


class RequestStep(Base):
    """One system's part of a request: run by its connector, or a manual task for a person.

    The executor writes the state before and after each attempt, so a crash resumes the
    unfinished steps and never repeats a finished one.
    """

    __tablename__ = "request_steps"
    __table_args__ = (
        UniqueConstraint("request_id", "system_key", "action", name="uq_request_steps_once"),
        Index("ix_request_steps_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"))
    system_key: Mapped[str] = mapped_column(String(64))
    connector: Mapped[str | None] = mapped_column(String(64), nullable=True)  # None: manual
    action: Mapped[str] = mapped_column(String(20))  # access|erase|rectify|unsubscribe|restrict
    status: Mapped[str] = mapped_column(String(20), default="pending")
    plan: Mapped[str] = mapped_column(Text, default="{}")  # JSON
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    result: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    done_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    attachment: Mapped[str | None] = mapped_column(String(300), nullable=True)


class RequestToken(Base):
    """A token sent to the person: to verify the request, see its status, or fetch a report.

    Only the SHA-256 of the token is stored.
    """

    __tablename__ = "request_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(20))  # verify|status|download
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
