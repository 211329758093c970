"""Tables of request intake: API tokens for integrations, and the hits the rate limits count.

``api_tokens``: a token lets an integration (the shop's own account page, a helpdesk) call
``POST /api/v1/requests``. The token is shown once, when ``personvern admin create-token``
makes it; only its SHA-256 is stored, so a copy of the database cannot be used to call the
API.

``rate_limit_hits``: one row per accepted attempt, keyed by a keyed hash of the e-mail
address or the client IP (:mod:`personvern.keyed`), never the value in clear. Rows are
only counters and are deleted once they are older than the window.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from personvern.store.base import Base, UTCDateTime, utcnow


class ApiToken(Base):
    """A bearer token for the JSON API, by name; ``role`` is ``admin`` or ``viewer``."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class RateLimitHit(Base):
    """One attempt counted against a limit: ``bucket`` names the limit, ``key`` the hash."""

    __tablename__ = "rate_limit_hits"
    __table_args__ = (Index("ix_rate_limit_hits_bucket_key_at", "bucket", "key", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bucket: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
