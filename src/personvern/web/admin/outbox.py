"""The admin's mail viewer: the outbox, and each message as text and as HTML.

- ``GET /admin/outbox``: messages newest first, with status, purpose, recipient, subject,
  times, attempts and the last error; ``?status=`` shows one status.
- ``GET /admin/outbox/{message_id}``: one message, its headers and both bodies.

Any signed-in user (admin or viewer) may read them: without an SMTP server — the demo —
this is where the verification e-mails are read, and with one it is where a failed
delivery shows. Opening a message is an action on personal data, so it is audited.

The HTML body is someone else's markup (a template, a quoted reply) and is never put in
the page itself: it is shown in an ``<iframe sandbox srcdoc=…>``, escaped into the
attribute, which gives it an opaque origin with scripts, forms, pop-ups and navigation of
the page all disabled; the admin's Content-Security-Policy, which a srcdoc document
inherits, additionally blocks scripts, inline styles and remote images (no tracking
pixels). The HTML source is also shown, escaped, as text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Query
from starlette.requests import Request
from starlette.responses import HTMLResponse

from personvern.i18n import N_, Translator
from personvern.mail.outbox import count_by_status, extra_headers, list_messages
from personvern.mail.sender import GIVE_UP_AFTER
from personvern.store.mail import STATUSES, OutboxMessage
from personvern.web.admin.sessions import SignedIn, require_user
from personvern.web.pages import request_translator
from personvern.web.state import WebState, web_state

PAGE_SIZE = 200
STATUS_NAMES: Mapping[str, str] = {
    "queued": N_("Queued"),
    "sending": N_("Sending"),
    "sent": N_("Sent"),
    "failed": N_("Failed"),
}
PURPOSE_NAMES: Mapping[str, str] = {
    "verify": N_("Verification"),
    "received": N_("Request received"),
    "report": N_("Report"),
    "completed": N_("Request completed"),
    "extension": N_("Extension notice"),
    "refusal": N_("Refusal"),
    "notice": N_("Notice"),
}
UNKNOWN_STATUS = N_("Unknown status: choose queued, sending, sent or failed.")
NOT_FOUND = N_("There is no such message in the outbox. It may have been deleted after sending.")


@dataclass(frozen=True)
class MessageRow:
    id: int
    status: str
    status_name: str
    purpose: str
    to: str
    subject: str
    created: str
    sent: str | None
    attempts: int
    last_error: str | None


def _when(tr: Translator, value: datetime | None) -> str | None:
    return tr.format_datetime(value) if value is not None else None


def _row(message: OutboxMessage, tr: Translator) -> MessageRow:
    return MessageRow(
        id=message.id,
        status=message.status,
        status_name=tr.gettext(STATUS_NAMES.get(message.status, message.status)),
        purpose=tr.gettext(PURPOSE_NAMES[message.purpose])
        if message.purpose in PURPOSE_NAMES
        else message.purpose,
        to=message.to_address,
        subject=message.subject,
        created=tr.format_datetime(message.created_at),
        sent=_when(tr, message.sent_at),
        attempts=message.attempts,
        last_error=message.last_error,
    )


def outbox_page(
    request: Request,
    user: Annotated[SignedIn, Depends(require_user)],
    state: Annotated[WebState, Depends(web_state)],
    status: Annotated[str | None, Query(max_length=16)] = None,
) -> HTMLResponse:
    """``GET /admin/outbox``: the newest messages, all or of one ``status``."""
    tr = request_translator(request)
    if status == "":
        status = None
    if status is not None and status not in STATUSES:
        raise HTTPException(400, detail=UNKNOWN_STATUS)
    with state.runtime.sessions() as session:
        messages = list_messages(session, status=status, limit=PAGE_SIZE)
        counts = count_by_status(session)
    return state.pages.render(
        request,
        "admin/outbox.html",
        {
            "user": user,
            "csrf_token": user.csrf_token,
            "rows": [_row(m, tr) for m in messages],
            "filters": [
                {
                    "status": key,
                    "name": tr.gettext(STATUS_NAMES[key]),
                    "count": counts[key],
                    "current": key == status,
                }
                for key in STATUSES
            ],
            "status": status,
            "total": sum(counts.values()),
            "page_size": PAGE_SIZE,
            "smtp": bool(state.runtime.settings.smtp_host.strip()),
        },
    )


def outbox_message_page(
    request: Request,
    message_id: int,
    user: Annotated[SignedIn, Depends(require_user)],
    state: Annotated[WebState, Depends(web_state)],
) -> HTMLResponse:
    """``GET /admin/outbox/{message_id}``: one message, as text and as (sandboxed) HTML."""
    tr = request_translator(request)
    with state.runtime.sessions() as session:
        message = session.get(OutboxMessage, message_id)
    if message is None:
        raise HTTPException(404, detail=NOT_FOUND)
    state.runtime.audit.record(
        actor=user.actor,
        action="mail.viewed",
        subject=message.to_address,
        object_type="outbox",
        object_id=str(message.id),
        details={"purpose": message.purpose, "request_id": message.request_id},
    )
    upcoming = None
    if message.status == "queued" and message.attempts:
        upcoming = _when(tr, message.next_attempt_at)
    return state.pages.render(
        request,
        "admin/outbox_message.html",
        {
            "user": user,
            "csrf_token": user.csrf_token,
            "row": _row(message, tr),
            "message": message,
            "headers": sorted(extra_headers(message).items()),
            "next_attempt": upcoming,
            "gives_up": _when(tr, _give_up_at(message)),
            "smtp": bool(state.runtime.settings.smtp_host.strip()),
        },
    )


def _give_up_at(message: OutboxMessage) -> datetime | None:
    if message.status not in ("queued", "sending"):
        return None
    return message.created_at + GIVE_UP_AFTER
