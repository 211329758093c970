"""Links sent to the requester: verification, status, and report download.

Identity is checked the way EDPB Guidelines 01/2022 (section 3.3, "Proportionality
assessment regarding identification of the requesting person") calls proportionate for a
shop that knows its customers by e-mail address: the person proves they control the
address by following a link sent to it. No ID documents are asked for (the Guidelines find
an ID copy generally disproportionate when the person can be authenticated the way they
normally are), no account is needed, and nothing more is collected than the request needs
(GDPR Art. 5(1)(c); Art. 12(6) allows asking for more only with reasonable doubts).

A link carries ``TOKEN.SIGNATURE``:

- ``TOKEN`` is 32 random bytes (``secrets.token_urlsafe``); the store keeps only its
  SHA-256, so a copy of the database holds no working link;
- ``SIGNATURE`` is an HMAC-SHA256 of the purpose and the token under the installation's
  secret key, so a token made for one purpose (a status page) cannot be used for another
  (verifying), a link forged without the key is refused before the store is asked, and
  changing the key voids every outstanding link.

``verify`` and ``download`` tokens are single-use (``used_at`` is set in the same UPDATE
that checks it is unset, so two clicks at once cannot both win) and expire
(``PERSONVERN_REQUEST_VERIFY_HOURS``, ``PERSONVERN_REQUEST_DOWNLOAD_DAYS``). A ``status``
token opens the requester's read-only status page as often as they like until it expires
(``PERSONVERN_REQUEST_STATUS_DAYS``): it is the link that lets a person follow their own
request without a request id, which is never accepted from the public.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from personvern.store.base import utcnow
from personvern.store.requests import DataRequest, RequestToken

Purpose = Literal["verify", "status", "download"]
SINGLE_USE: frozenset[str] = frozenset({"verify", "download"})
TokenState = Literal["valid", "unknown", "used", "expired"]

# token_urlsafe(32) is 43 characters; the signature is 32 hex characters (128 bits).
_LINK = re.compile(r"^([A-Za-z0-9_-]{43})\.([0-9a-f]{32})$")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _signature(secret: bytes, purpose: str, token: str) -> str:
    mac = hmac.new(secret, f"request-link:{purpose}:{token}".encode(), hashlib.sha256)
    return mac.hexdigest()[:32]


def issue(
    session: Session,
    secret: bytes,
    *,
    request_id: str,
    purpose: Purpose,
    lifetime: timedelta,
    now: datetime | None = None,
) -> str:
    """Add a token for ``request_id`` in the caller's transaction; returns the link value.

    The value is shown once (in the e-mail or the redirect) and never stored.
    """
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    session.add(
        RequestToken(
            token_hash=token_hash(token),
            request_id=request_id,
            purpose=purpose,
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    return f"{token}.{_signature(secret, purpose, token)}"


@dataclass(frozen=True)
class TokenCheck:
    """What a link value is worth: ``valid`` (with its request), or why not."""

    state: TokenState
    request: DataRequest | None = None
    token_hash: str | None = None


def check(
    session: Session, secret: bytes, value: str, purpose: Purpose, now: datetime | None = None
) -> TokenCheck:
    """Look a link value up without using it.

    ``unknown`` covers a malformed value, a bad signature, a token made for another
    purpose and one that was never issued: they are one answer, so a guess learns nothing.
    """
    now = now or utcnow()
    match = _LINK.match(value)
    if match is None:
        return TokenCheck("unknown")
    token, signature = match.groups()
    if not hmac.compare_digest(signature, _signature(secret, purpose, token)):
        return TokenCheck("unknown")
    digest = token_hash(token)
    row = session.get(RequestToken, digest)
    if row is None or row.purpose != purpose:
        return TokenCheck("unknown")
    if purpose in SINGLE_USE and row.used_at is not None:
        return TokenCheck("used", token_hash=digest)
    if row.expires_at <= now:
        return TokenCheck("expired", token_hash=digest)
    request = session.get(DataRequest, row.request_id)
    if request is None:
        return TokenCheck("unknown")
    return TokenCheck("valid", request=request, token_hash=digest)


def consume(
    session: Session, secret: bytes, value: str, purpose: Purpose, now: datetime | None = None
) -> TokenCheck:
    """Use a single-use link, in the caller's transaction; ``valid`` only for the first use.

    The ``used_at IS NULL`` condition is in the UPDATE itself, so of two concurrent uses
    exactly one changes the row; the other is told ``used``.
    """
    if purpose not in SINGLE_USE:
        raise ValueError(f"a {purpose} link is not single-use and cannot be consumed")
    now = now or utcnow()
    found = check(session, secret, value, purpose, now)
    if found.state != "valid" or found.token_hash is None:
        return found
    result = session.execute(
        update(RequestToken)
        .where(RequestToken.token_hash == found.token_hash, RequestToken.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        return TokenCheck("used", token_hash=found.token_hash)
    return found


def void(session: Session, request_id: str, purpose: Purpose, now: datetime | None = None) -> None:
    """End every outstanding ``purpose`` token of a request (e.g. when it expires)."""
    now = now or utcnow()
    session.execute(
        update(RequestToken)
        .where(
            RequestToken.request_id == request_id,
            RequestToken.purpose == purpose,
            RequestToken.expires_at > now,
        )
        .values(expires_at=now)
        .execution_options(synchronize_session=False)
    )


def outstanding(session: Session, request_id: str, purpose: Purpose) -> int:
    """How many ``purpose`` tokens of a request are unused and unexpired (for tests, admin)."""
    now = utcnow()
    rows = session.scalars(
        select(RequestToken).where(
            RequestToken.request_id == request_id,
            RequestToken.purpose == purpose,
            RequestToken.expires_at > now,
            RequestToken.used_at.is_(None),
        )
    )
    return len(list(rows))
