"""The outbox: every e-mail personvern sends, written in the transaction of the work behind it.

A message is added by :func:`personvern.mail.queue` in the caller's transaction, so it
exists exactly when that work committed; the sender (:mod:`personvern.mail.sender`) then
delivers it over SMTP, retrying with backoff while the server is unreachable.

The recipient's address is kept in clear, since it is needed to send. That is why the table
is short-lived: sent and failed messages are deleted ``PERSONVERN_MAIL_KEEP_DAYS`` after
their last attempt (``last_attempt_at``) (GDPR Art. 5(1)(e), storage limitation).

``request_id`` is the id of the data-subject request a message belongs to, as plain text
without a foreign key: the outbox serves other capabilities too, and the requests table
lives in another branch of the migrations.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from personvern.store.base import Base, UTCDateTime, utcnow

STATUSES = ("queued", "sending", "sent", "failed")


class OutboxMessage(Base):
    """One e-mail and its delivery state.

    ``status``: ``queued`` (waiting for ``next_attempt_at``), ``sending`` (claimed by a
    sender, whose ``claim_token`` it carries since ``claimed_at``), ``sent`` or ``failed``
    (given up; ``last_error`` says why).
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_outbox_request_id", "request_id"),
        Index("ix_outbox_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(998))  # RFC 5322 §2.1.1: a line's limit
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text, nullable=True)
    headers: Mapped[str] = mapped_column(Text, default="{}")  # JSON object: name → value
    lang: Mapped[str] = mapped_column(String(8))
    purpose: Mapped[str] = mapped_column(String(32))  # verify|report|extension|refusal|notice…
    request_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    status: Mapped[str] = mapped_column(String(10), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    claim_token: Mapped[str | None] = mapped_column(String(32), nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    message_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
