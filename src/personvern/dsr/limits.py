"""Rate limits on request intake: per e-mail address and per client IP.

Two different harms, two limits (OWASP Automated Threats, "Denial of inventory" and
"Spamming"):

- **per address** — someone types a victim's address into the form again and again and
  floods their inbox with verification e-mails. Past the limit no e-mail is sent, but the
  form answers exactly as before: a different answer would tell a stranger that someone
  (perhaps the person) asked recently (no enumeration, see :mod:`personvern.dsr.requests`);
- **per client IP** — one client filling the store with requests. Past the limit the answer
  is HTTP 429 with ``Retry-After`` (RFC 6585 §4), which says nothing about any address.

Both count rows in ``rate_limit_hits`` keyed by a keyed hash (:mod:`personvern.keyed`) of
the address or IP, never the value itself. An attempt is written and committed *before* it
is counted, so concurrent attempts see each other and cannot slip under the limit
together; a refused attempt is then removed again, so a client that keeps hammering is not
locked out for longer than the window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select

from personvern.keyed import keyed_hash
from personvern.runtime import Runtime
from personvern.store.api_tokens import RateLimitHit
from personvern.store.base import utcnow


@dataclass(frozen=True)
class Limit:
    """At most ``allowed`` attempts per ``key`` in any ``window`` for the limit ``bucket``."""

    bucket: str
    allowed: int
    window: timedelta


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0  # seconds until one more attempt would be allowed


def request_limits(runtime: Runtime, channel: str) -> tuple[Limit, Limit]:
    """The (per address, per IP) limits of an intake channel (``form`` or ``api``)."""
    settings = runtime.settings
    window = timedelta(minutes=settings.request_limit_window_minutes)
    return (
        Limit(f"request-{channel}-address", settings.request_limit_per_address, window),
        Limit(f"request-{channel}-ip", settings.request_limit_per_ip, window),
    )


def attempt(
    runtime: Runtime, limit: Limit, value: str, *, kind: str, now: datetime | None = None
) -> Verdict:
    """Count one attempt of ``value`` (an address or IP) against ``limit``.

    Allowed attempts stay counted; a refused one is taken back. See the module docstring.
    """
    now = now or utcnow()
    key = keyed_hash(runtime.secret, value, kind=kind)
    since = now - limit.window
    with runtime.sessions() as db, db.begin():
        # Rows older than the window can never count again; the bucket's old ones go here.
        db.execute(
            delete(RateLimitHit).where(RateLimitHit.bucket == limit.bucket, RateLimitHit.at < since)
        )
        row = RateLimitHit(bucket=limit.bucket, key=key, at=now)
        db.add(row)
        db.flush()
        row_id = row.id
    with runtime.sessions() as db:
        count, oldest = db.execute(
            select(func.count(), func.min(RateLimitHit.at)).where(
                RateLimitHit.bucket == limit.bucket,
                RateLimitHit.key == key,
                RateLimitHit.at >= since,
            )
        ).one()
    if count <= limit.allowed:
        return Verdict(True)
    with runtime.sessions() as db, db.begin():
        db.execute(delete(RateLimitHit).where(RateLimitHit.id == row_id))
    wait = (oldest + limit.window - now).total_seconds() if oldest else limit.window.seconds
    return Verdict(False, retry_after=max(1, math.ceil(wait)))
