"""The suppression list: addresses that must get no more marketing e-mail.

One row per address, whichever list the person left and however they left it (the
one-click link of RFC 8058, Mailchimp's webhook, an admin, an objection request): leaving
one newsletter is taken as the objection to direct marketing by e-mail (GDPR Art. 21(2)),
which is honoured everywhere (see :mod:`personvern.suppression`).

**Why the address itself is kept.** An objection to direct marketing must be honoured from
then on: the data "shall no longer be processed for such purposes" (GDPR Art. 21(3)), and
markedsføringsloven § 15 lets the recipient refuse further marketing at any time, at no
cost. Both can only be kept by recognising the address when the next newsletter is about to
go out, and by telling Mailchimp, which needs the address itself (its member id is the MD5
of the lower-cased address). So the address is stored, normalised (trimmed, lower case) —
and nothing else about the person: no name, no IP address, no user agent, no token (data
minimisation, Art. 5(1)(c)). The row says which list was left (``list_key``; ``*`` = every
list), how (``source``) and when, and how far it has been pushed to Mailchimp.

``sync_status``: ``pending`` (to be pushed at ``next_sync_at``; a claim in progress moves
that time forward by a lease), ``synced`` (at ``synced_at``) or ``failed`` (Mailchimp
refused it for good; ``sync_error`` says why, and an admin retries it with ``personvern
suppression sync --retry-failed``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from personvern.store.base import Base, UTCDateTime, utcnow

SOURCES = ("one_click", "webhook", "admin", "request")
SYNC_STATUSES = ("pending", "synced", "failed")
ALL_LISTS = "*"


class Suppression(Base):
    """One suppressed address and the state of its push to Mailchimp."""

    __tablename__ = "suppressions"
    __table_args__ = (
        Index("ix_suppressions_sync_status_next_sync_at", "sync_status", "next_sync_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    address: Mapped[str] = mapped_column(String(320), unique=True)  # normalised
    list_key: Mapped[str] = mapped_column(String(64), default=ALL_LISTS)
    source: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sync_status: Mapped[str] = mapped_column(String(8), default="pending")
    sync_attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    sync_error: Mapped[str | None] = mapped_column(Text, nullable=True)
