"""Opening a delivered report: the link, the e-mail address typed again, a short session.

The link alone is not enough. An e-mail may be forwarded, read over a shoulder or kept in
a shared mailbox, and a report holds a person's whole record, so GDPR Art. 32(1) ("a level
of security appropriate to the risk") and Art. 15(4) ask for more than possession of the
link. What is proportionate for a shop that knows its customers by e-mail (EDPB Guidelines
01/2022, section 3.3) is to ask for the address again:

1. ``GET /privacy/download/TOKEN`` shows a form for the address (:func:`look_up`: the
   link is only looked at, so a mail scanner that opens it uses nothing);
2. ``POST`` with the address (:func:`confirm`): the right address *uses* the link (it is
   single-use, :mod:`personvern.dsr.verification`) and starts its hour (:data:`WINDOW`);
   the browser gets a session cookie signed with the installation's key and bound to the
   link. A wrong address gets the same answer as an unknown link, so the form tells a
   stranger nothing about which addresses have requests;
3. within the hour the files can be fetched as often as needed, and the address opens the
   link again in another browser (a phone after the laptop, or a double click whose first
   answer the browser dropped); after it, the link is spent.

Attempts are limited per link (:data:`CONFIRM_LIMIT`), so the address cannot be guessed.
Every opening, refusal and download is audited, without personal data in the details.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final, Literal

from sqlalchemy.orm import Session

from personvern.dsr import limits, verification
from personvern.dsr.reports.delivery import report_dir
from personvern.dsr.reports.render import SUFFIXES
from personvern.keyed import keyed_hash
from personvern.runtime import Runtime
from personvern.store.base import utcnow
from personvern.store.requests import DataRequest, RequestToken

WINDOW: Final = timedelta(hours=1)
"""How long after the address is first confirmed the link opens the files."""

CONFIRM_LIMIT: Final = limits.Limit("report-download", allowed=5, window=timedelta(hours=1))
"""Tries at the address per link: enough for typos, too few to guess an address."""

ACTOR = "requester"
_FILE = re.compile(r"^[a-z][a-z-]*\.(html|pdf|zip)$")

State = Literal["confirm", "open", "unknown", "expired", "closed", "limited"]


@dataclass(frozen=True)
class Download:
    """Where a link stands for this browser.

    ``confirm``: the address is asked for (the link is unused, or within its hour);
    ``open``: this browser's session is open until ``until``; ``unknown``: no such link, or
    a wrong address (one answer for both); ``expired``: out of date; ``closed``: used, and
    its hour is over; ``limited``: too many tries, ``retry_after`` seconds to wait.
    """

    state: State
    request_id: str | None = None
    token_hash: str | None = None
    until: datetime | None = None
    retry_after: int = 0


def session_end(token: RequestToken) -> datetime:
    """When the download session a used link opened ends: after :data:`WINDOW`, and never
    after the link itself expires (an admin who sends a new link ends the old one)."""
    if token.used_at is None:
        return token.created_at
    return min(token.used_at + WINDOW, token.expires_at)


def _mac(secret: bytes, token_hash: str, until: int) -> str:
    message = f"report-download:{token_hash}:{until}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def session_cookie(secret: bytes, token_hash: str, until: datetime) -> str:
    """The value of the session cookie: its end, and a MAC binding it to this link."""
    stamp = int(until.timestamp())
    return f"{stamp}.{_mac(secret, token_hash, stamp)}"


def cookie_valid(secret: bytes, token_hash: str, value: str | None, now: datetime) -> bool:
    if not value or "." not in value:
        return False
    stamp, mac = value.split(".", 1)
    if not stamp.isdigit() or int(stamp) <= now.timestamp():
        return False
    return hmac.compare_digest(mac, _mac(secret, token_hash, int(stamp)))


Found = tuple[State, RequestToken | None, DataRequest | None]


def _find(db: Session, secret: bytes, value: str, now: datetime) -> Found:
    """The link's state: ``confirm`` (unused, or used and within its hour), or why not."""
    found = verification.check(db, secret, value, "download", now)
    if found.state == "expired":
        return "expired", None, None
    if found.state not in ("valid", "used") or found.token_hash is None:
        return "unknown", None, None
    token = db.get(RequestToken, found.token_hash)
    request = found.request or (db.get(DataRequest, token.request_id) if token else None)
    if token is None or request is None:
        return "unknown", None, None
    if token.used_at is not None and session_end(token) <= now:
        return "closed", None, None
    return "confirm", token, request


def look_up(
    runtime: Runtime, value: str, cookie: str | None = None, now: datetime | None = None
) -> Download:
    """What the link ``value`` opens for a browser holding the session ``cookie``."""
    now = now or utcnow()
    with runtime.sessions() as db:
        state, token, request = _find(db, runtime.secret, value, now)
        if token is None or request is None:
            return Download(state)
        if token.used_at is not None and cookie_valid(
            runtime.secret, token.token_hash, cookie, now
        ):
            return Download("open", request.id, token.token_hash, session_end(token))
        return Download("confirm", request.id, token.token_hash)


def same_address(secret: bytes, typed: str, expected: str) -> bool:
    """Compared as keyed hashes (case and spaces aside), in constant time."""
    return hmac.compare_digest(
        keyed_hash(secret, typed, kind="email"), keyed_hash(secret, expected, kind="email")
    )


def _audit(
    runtime: Runtime, db: Session, request: DataRequest, action: str, **details: str | bool
) -> None:
    runtime.audit.append(
        db,
        actor=ACTOR,
        action=action,
        subject=request.email,
        object_type="request",
        object_id=request.id,
        details=dict(details),
    )


def confirm(runtime: Runtime, value: str, email: str, now: datetime | None = None) -> Download:
    """The address typed on the page for link ``value``: ``open`` when it is the request's.

    The right address uses the link (``request.report_opened``) and opens its hour; within
    that hour it opens it again, for a second device or a double click (the browser may
    drop the first answer, cookie and all). A wrong address changes nothing but the count
    of tries (``request.report_refused``) and answers ``unknown``.
    """
    now = now or utcnow()
    verdict = limits.attempt(runtime, CONFIRM_LIMIT, value, kind="download-link", now=now)
    if not verdict.allowed:
        return Download("limited", retry_after=verdict.retry_after)
    with runtime.audit.session() as db:
        state, token, request = _find(db, runtime.secret, value, now)
        if token is None or request is None:
            return Download(state)
        if not same_address(runtime.secret, email, request.email):
            _audit(runtime, db, request, "request.report_refused", reason="address")
            return Download("unknown")
        if token.used_at is not None:
            _audit(runtime, db, request, "request.report_opened", again=True)
            return Download("open", request.id, token.token_hash, session_end(token))
        used = verification.consume(db, runtime.secret, value, "download", now)
        if used.state != "valid":
            # Used a moment ago by another click; its hour has just begun.
            return Download(
                "open", request.id, token.token_hash, min(now + WINDOW, token.expires_at)
            )
        _audit(runtime, db, request, "request.report_opened", again=False)
        # session_end(token) as it is now: consume's UPDATE left the loaded row unchanged.
        until = min(now + WINDOW, token.expires_at)
        return Download("open", request.id, token.token_hash, until)


def files(runtime: Runtime, request_id: str) -> list[Path]:
    """The report's files, HTML first, then PDF, then the ZIP."""
    folder = report_dir(runtime, request_id)
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if p.is_file() and _FILE.match(p.name)]
    return sorted(found, key=lambda p: (SUFFIXES.index(p.suffix), p.name))


def file_named(runtime: Runtime, request_id: str, name: str) -> Path | None:
    """The report file ``name`` of the request, or None; never a path outside its folder."""
    for path in files(runtime, request_id):
        if path.name == name:
            return path
    return None


def record_download(runtime: Runtime, request_id: str, path: Path) -> None:
    with runtime.audit.session() as db:
        request = db.get_one(DataRequest, request_id)
        _audit(runtime, db, request, "request.report_downloaded", format=path.suffix[1:])
