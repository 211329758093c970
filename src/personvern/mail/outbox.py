"""Putting e-mail in the outbox, and reading it back.

:func:`queue` adds a message in the *caller's* transaction. That is the point of an outbox
(the transactional-outbox pattern): the message exists if and only if the work that caused
it commits — a verification e-mail for a request that was rolled back is never sent, and one
for a request that was accepted is never lost, even if the process dies a moment later or
the SMTP server is down for a day. The sender (:mod:`personvern.mail.sender`) delivers it.

Everything is checked before anything is added: a bad address, subject or header raises
:class:`InvalidMessage`, saying what to fix, and the session is left as it was.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from personvern.i18n import language
from personvern.store.base import utcnow
from personvern.store.mail import STATUSES, OutboxMessage

MAX_SUBJECT = 998  # RFC 5322 §2.1.1: no line longer than 998 characters
MAX_HEADER_VALUE = 998
# RFC 5322 §3.6.8: a field name is printable US-ASCII except the colon.
_FIELD_NAME = re.compile(r"^[!-9;-~]{1,76}$")
_PURPOSE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
# Written by the sender from the message and the settings; a caller may not set them, so a
# message cannot be made to look as if it came from someone else or went to someone more.
RESERVED_HEADERS = frozenset(
    {
        "from",
        "sender",
        "to",
        "cc",
        "bcc",
        "subject",
        "date",
        "message-id",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
        "content-language",
        "auto-submitted",
        "return-path",
    }
)


class InvalidMessage(ValueError):
    """A message that cannot be queued; the message says what to fix. Nothing was added."""


def queue(
    session: Session,
    *,
    to: str,
    subject: str,
    text: str,
    html: str | None = None,
    headers: Mapping[str, str] | None = None,
    lang: str,
    purpose: str,
    request_id: str | None = None,
) -> OutboxMessage:
    """Add an e-mail to the outbox in ``session``'s transaction, and return it (with its id).

    It is sent only if that transaction commits, and then as soon as a sender runs (within
    seconds in the app when SMTP is configured; ``personvern mail send`` otherwise).

    - ``to``: one address (``name@example.no``), stored normalised (domain in lower case);
    - ``subject``, ``text``: required; UTF-8 throughout, so æøå are fine;
    - ``html``: an HTML alternative of ``text`` (sent as multipart/alternative);
    - ``headers``: extra header fields, e.g. RFC 8058's ``List-Unsubscribe`` and
      ``List-Unsubscribe-Post``; From, To, Subject, Date, Message-ID and the MIME fields
      are the sender's and may not be given;
    - ``lang``: the language the message is written in (``nb`` or ``en``);
    - ``purpose``: what it is for (``verify``, ``report``, ``extension``, ``refusal``,
      ``notice``…), shown in the admin and the audit log;
    - ``request_id``: the data-subject request it belongs to, if any.

    Raises :class:`InvalidMessage` (and adds nothing) when any of these is not valid.
    """
    address = check_address(to)
    subject = subject.strip()
    if not subject:
        raise InvalidMessage("the subject is empty: every message needs one")
    if len(subject) > MAX_SUBJECT or any(c in subject for c in "\r\n"):
        raise InvalidMessage(f"the subject must be one line of at most {MAX_SUBJECT} characters")
    if not text.strip():
        raise InvalidMessage("the text body is empty: every message needs a plain-text body")
    if html is not None and not html.strip():
        html = None
    try:
        lang_code = language(lang)
    except ValueError as exc:
        raise InvalidMessage(str(exc)) from exc
    if not _PURPOSE.match(purpose):
        raise InvalidMessage(
            f"purpose {purpose!r} must be a short lower-case word such as verify, report, "
            "extension, refusal or notice"
        )
    if request_id is not None and not 0 < len(request_id) <= 36:
        raise InvalidMessage("request_id must be a request's id (at most 36 characters)")
    extra = check_headers(headers or {})
    now = utcnow()
    message = OutboxMessage(
        to_address=address,
        subject=subject,
        text_body=text,
        html_body=html,
        headers=json.dumps(extra, ensure_ascii=False, sort_keys=True),
        lang=lang_code,
        purpose=purpose,
        request_id=request_id,
        status="queued",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(message)
    session.flush()  # the id, for the caller's audit entry or log
    return message


def check_address(address: str) -> str:
    """``address`` normalised, or :class:`InvalidMessage` saying what is wrong with it.

    The syntax is checked (RFC 5321/5322, with internationalised domains), not whether the
    domain exists: that needs DNS, and an unreachable domain shows up as a failed delivery.
    The address is deliberately not repeated in the error, which may end up in a log.
    """
    try:
        result = validate_email(address.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidMessage(
            f"the recipient is not a valid e-mail address ({exc}); write it as name@example.no"
        ) from exc
    return str(result.normalized)


def check_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Extra header fields as stored: names checked (RFC 5322 §3.6.8), values one line."""
    out: dict[str, str] = {}
    for name, value in headers.items():
        if not isinstance(name, str) or not _FIELD_NAME.match(name):
            raise InvalidMessage(
                f"header name {name!r} is not valid: use printable ASCII without a colon"
            )
        if name.lower() in RESERVED_HEADERS:
            raise InvalidMessage(
                f"header {name} is set by the sender and cannot be given; leave it out"
            )
        if name.lower() in {n.lower() for n in out}:
            raise InvalidMessage(f"header {name} is given twice")
        if not isinstance(value, str) or not value.strip():
            raise InvalidMessage(f"header {name} has no value")
        # A line break in a value would start a header of the attacker's choosing.
        if any(c in value for c in "\r\n") or len(value) > MAX_HEADER_VALUE:
            raise InvalidMessage(
                f"header {name} must be one line of at most {MAX_HEADER_VALUE} characters"
            )
        out[name] = value.strip()
    return out


def extra_headers(message: OutboxMessage) -> dict[str, str]:
    """The extra header fields of a queued message."""
    value = json.loads(message.headers or "{}")
    assert isinstance(value, dict)
    return {str(k): str(v) for k, v in value.items()}


def list_messages(
    session: Session, *, status: str | None = None, limit: int = 100, offset: int = 0
) -> Sequence[OutboxMessage]:
    """Messages, newest first; only those with ``status`` when given (ValueError if unknown)."""
    query = select(OutboxMessage).order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
    if status is not None:
        query = query.where(OutboxMessage.status == check_status(status))
    return session.scalars(query.limit(limit).offset(offset)).all()


def count_by_status(session: Session) -> dict[str, int]:
    """How many messages are in each status (every status, zero included)."""
    counts = dict.fromkeys(STATUSES, 0)
    rows = session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    ).all()
    for status, number in rows:
        counts[str(status)] = int(number)
    return counts


def check_status(status: str) -> str:
    if status not in STATUSES:
        raise ValueError(f"unknown status {status!r}: choose one of {', '.join(STATUSES)}")
    return status


def purge(session: Session, *, now: datetime, keep_days: int) -> int:
    """Delete sent and failed messages whose last attempt is more than ``keep_days`` old.

    Queued messages are never deleted here, however old: they have not been delivered yet.
    Returns how many were deleted.
    """
    cutoff = now - timedelta(days=keep_days)
    result = session.execute(
        delete(OutboxMessage).where(
            OutboxMessage.status.in_(("sent", "failed")),
            OutboxMessage.last_attempt_at < cutoff,
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
