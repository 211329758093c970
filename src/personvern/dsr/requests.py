"""The lifecycle of a data-subject request: received, verified, planned, approved, answered.

::

    create ──► unverified ──confirm (e-mail link)──► verified ──► awaiting_approval ──approve──►
                   │                                    │                                  running
                   └─ expire_unverified (7 days) ─► expired   (auto-run) ──────────────────►  …
    refuse (Art. 12(4)) from any open state ─► refused;  executor ─► completed

Every change happens in one transaction with its audit entry and, where the person is to
be told, the e-mail in the outbox (:mod:`personvern.dsr.letters`): the change, its proof and
the message exist together or not at all. The audit entry names the person only by keyed
hash and holds no personal data in ``details``.

The law behind each step:

- **receipt** starts the clock (GDPR Art. 12(3), :mod:`personvern.dsr.deadlines`), whatever
  the channel (EDPB Guidelines 01/2022 section 3.1.2: any channel the controller offers
  counts);
- **verification** by a link to the address (EDPB Guidelines 01/2022 section 3.3;
  :mod:`personvern.dsr.verification`); an admin who checked identity another way (a
  letter, a phone call to the number on file) registers the request as verified, with a
  note saying how;
- **approval**: rectification (Art. 16) always waits for an admin, since the person only
  proposes corrections; other kinds too when ``PERSONVERN_REQUEST_RUN_MODE=review``;
- **extension** by up to two months, with reasons, told to the person within the first
  month (Art. 12(3));
- **refusal** with reasons, the right to complain to Datatilsynet and to go to court
  (Art. 12(4)); never a fee (Art. 12(5): the first answer is free).

The executor (``personvern.dsr.executor``, ``personvern.jobs``) runs the plan's steps and
marks the request ``completed`` when the last one is done; :func:`notify_completed`
then tells the person.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from personvern.dsr import letters, verification
from personvern.dsr.deadlines import check_extension, due_at, effective_due_at
from personvern.dsr.intake import Intake, RequestError, check
from personvern.dsr.status import OPEN_STATUSES
from personvern.i18n import N_
from personvern.keyed import keyed_hash
from personvern.runtime import Runtime
from personvern.store.base import utcnow
from personvern.store.requests import DataRequest, RequestStep

log = logging.getLogger(__name__)

Channel = Literal["form", "admin", "api", "cli"]
REQUESTER = "requester"  # the audit log's actor for the person themselves
SYSTEM = "system"
MAX_REASON = 4000
# A refusal must be reasoned (Art. 12(4)); a word or two is not a reason.
MIN_REASON = 10


class RequestNotFound(LookupError):
    """No request with that id. Pages and the API answer 404, as for any guessed id."""


@dataclass(frozen=True)
class Created:
    request_id: str
    status: str
    due_at: datetime


@dataclass(frozen=True)
class Confirmation:
    """The outcome of following a verification link; ``status_token`` when ``valid``.

    ``status_token`` is the value for ``/privacy/status/{token}`` (:func:`status_url`).
    """

    state: Literal["valid", "unknown", "used", "expired"]
    request_id: str | None = None
    status_token: str | None = None


def verify_url(runtime: Runtime, value: str) -> str:
    return f"{runtime.settings.base_url.rstrip('/')}/privacy/verify/{value}"


def status_url(runtime: Runtime, value: str) -> str:
    return f"{runtime.settings.base_url.rstrip('/')}/privacy/status/{value}"


def details_of(request: DataRequest) -> dict[str, Any]:
    value = json.loads(request.details or "{}")
    return value if isinstance(value, dict) else {}


def changes_of(request: DataRequest) -> dict[str, str]:
    value = json.loads(request.changes or "{}")
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _audit(
    runtime: Runtime,
    db: Session,
    request: DataRequest,
    actor: str,
    action: str,
    **details: Any,
) -> None:
    runtime.audit.append(
        db,
        actor=actor,
        action=action,
        subject=request.email,
        object_type="request",
        object_id=request.id,
        details=details,
    )


def _issue_status_token(runtime: Runtime, db: Session, request: DataRequest, now: datetime) -> str:
    # Counted from receipt, so every status link of a request ends on the same day.
    until = request.received_at + timedelta(days=runtime.settings.request_status_days)
    return verification.issue(
        db,
        runtime.secret,
        request_id=request.id,
        purpose="status",
        lifetime=max(until - now, timedelta(days=1)),
        now=now,
    )


def _issue_status_link(runtime: Runtime, db: Session, request: DataRequest, now: datetime) -> str:
    return status_url(runtime, _issue_status_token(runtime, db, request, now))


def _reason(reason: str, field: str) -> str:
    reason = reason.strip()
    if len(reason) < MIN_REASON:
        raise RequestError(
            N_("Give the reasons in a sentence or two: the person is entitled to them."),
            field=field,
        )
    if len(reason) > MAX_REASON:
        raise RequestError(
            N_("This is too long: at most %(limit)d characters."), field=field, limit=MAX_REASON
        )
    return reason


def create(
    runtime: Runtime,
    intake: Intake,
    *,
    channel: Channel,
    actor: str,
    verified_note: str | None = None,
    now: datetime | None = None,
) -> Created:
    """Accept a request; :class:`RequestError` (nothing written) when the input is bad.

    Without ``verified_note`` the person is e-mailed a verification link and the request
    waits, ``unverified``, for ``PERSONVERN_REQUEST_UNVERIFIED_DAYS``. With it (an admin,
    the CLI or an integration that has already authenticated the person) the request is
    verified at once, the note saying how identity was checked, and its plan is started.
    """
    checked = check(intake)
    verified = verified_note is not None
    note = _reason(verified_note, "verification_note") if verified_note is not None else None
    now = now or utcnow()
    settings = runtime.settings
    details: dict[str, Any] = {}
    if checked.message:
        details["message"] = checked.message
    if checked.ga_client_id:
        details["ga_client_id"] = checked.ga_client_id
    if note is not None:
        details["verification"] = {"by": actor, "channel": channel, "note": note}
    request = DataRequest(
        id=str(uuid.uuid4()),
        kind=checked.kind,
        status="verified" if verified else "unverified",
        email=checked.email,
        email_key=keyed_hash(runtime.secret, checked.email, kind="email"),
        phone=checked.phone,
        name=checked.name,
        lang=checked.lang,
        channel=channel,
        received_at=now,
        due_at=due_at(now),
        verified_at=now if verified else None,
        expires_at=None if verified else now + timedelta(days=settings.request_unverified_days),
        changes=json.dumps(checked.changes, ensure_ascii=False, sort_keys=True),
        details=json.dumps(details, ensure_ascii=False, sort_keys=True),
    )
    sender = letters.Sender.of(runtime)
    with runtime.audit.session() as db:
        db.add(request)
        db.flush()
        _audit(runtime, db, request, actor, "request.received", kind=request.kind, channel=channel)
        if verified:
            _audit(runtime, db, request, actor, "request.verified", method=channel)
            link = _issue_status_link(runtime, db, request, now)
            letters.send(db, request, letters.received(request, sender, link))
        else:
            value = verification.issue(
                db,
                runtime.secret,
                request_id=request.id,
                purpose="verify",
                lifetime=timedelta(hours=settings.request_verify_hours),
                now=now,
            )
            letter = letters.verification(
                request,
                sender,
                verify_url(runtime, value),
                hours=settings.request_verify_hours,
                days=settings.request_unverified_days,
            )
            letters.send(db, request, letter)
            _audit(runtime, db, request, SYSTEM, "request.verification_sent")
        created = Created(request.id, request.status, request.due_at)
    log.info("request %s received (%s, %s)", created.request_id, checked.kind, channel)
    if verified:
        start(runtime, created.request_id)
    return created


def confirm(runtime: Runtime, value: str, now: datetime | None = None) -> Confirmation:
    """Follow a verification link: the request becomes ``verified`` and its plan starts.

    A link is good once: the second use, like a forged or unknown link, is ``unknown`` or
    ``used`` (both 404 to the public); an out-of-date link, or one of a request that has
    expired, is ``expired``.
    """
    now = now or utcnow()
    sender = letters.Sender.of(runtime)
    with runtime.audit.session() as db:
        found = verification.consume(db, runtime.secret, value, "verify", now)
        if found.state != "valid" or found.request is None:
            return Confirmation(found.state)
        request = db.get_one(DataRequest, found.request.id, with_for_update=True)
        if request.status != "unverified" or (request.expires_at and request.expires_at <= now):
            return Confirmation(
                "expired" if request.status in {"unverified", "expired"} else "used"
            )
        request.status = "verified"
        request.verified_at = now
        request.expires_at = None
        token = _issue_status_token(runtime, db, request, now)
        letters.send(db, request, letters.received(request, sender, status_url(runtime, token)))
        _audit(runtime, db, request, REQUESTER, "request.verified", method="email_link")
        request_id = request.id
    log.info("request %s verified", request_id)
    start(runtime, request_id)
    return Confirmation("valid", request_id, token)


def start(runtime: Runtime, request_id: str) -> str:
    """Plan a verified request, then run it or hold it for approval; returns the new status.

    The plan comes from the inventory (:mod:`personvern.dsr.plan`), so the admin sees it
    before approving. With auto-run the request goes to the job layer at once
    (``personvern.jobs.enqueue_request``), which makes it ``running``.
    """
    from personvern.dsr import handoff

    review = runtime.settings.request_run_mode == "review"
    with runtime.sessions() as db:
        request = db.get_one(DataRequest, request_id)
        status, kind = request.status, request.kind
    if status != "verified" or not handoff.start_quietly(runtime, request_id, "plan"):
        return status
    if review or kind == "rectify":
        with runtime.audit.session() as db:
            request = _lock(db, request_id)
            if request.status == "verified":
                request.status = "awaiting_approval"
                _audit(runtime, db, request, SYSTEM, "request.awaiting_approval")
            return request.status
    handoff.start_quietly(runtime, request_id, "enqueue")
    return get(runtime, request_id).status


def _lock(db: Session, request_id: str) -> DataRequest:
    request = db.get(DataRequest, request_id, with_for_update=True)
    if request is None:
        raise RequestNotFound(request_id)
    return request


def approve(runtime: Runtime, request_id: str, actor: str) -> None:
    """An admin approves a request's plan (or has a verified one planned and run).

    The job layer then makes it ``running`` (``personvern.dsr.control.queue_request``
    queues a request awaiting approval only once ``approved_at`` is set).
    """
    with runtime.audit.session() as db:
        request = _lock(db, request_id)
        if request.status not in {"awaiting_approval", "verified"}:
            raise RequestError(
                N_("Only a request awaiting approval can be approved; this one is %(status)s."),
                status=request.status,
            )
        request.approved_at = utcnow()
        request.approved_by = actor
        _audit(runtime, db, request, actor, "request.approved")
    from personvern.dsr import handoff

    handoff.enqueue(runtime, request_id)


def refuse(
    runtime: Runtime, request_id: str, actor: str, reason: str, now: datetime | None = None
) -> None:
    """Refuse to act (Art. 12(4)): the person gets the reasons and their right to complain.

    Allowed in any open state. Steps not yet started are marked ``skipped``: the executor
    works only on running requests, so nothing more of the plan runs (a step that is
    running at this moment finishes its attempt, and its result is kept for the record).
    """
    reason = _reason(reason, "reason")
    now = now or utcnow()
    sender = letters.Sender.of(runtime)
    with runtime.audit.session() as db:
        request = _lock(db, request_id)
        if request.status not in OPEN_STATUSES:
            raise RequestError(
                N_("A request that is %(status)s cannot be refused."), status=request.status
            )
        late = now > effective_due_at(request.due_at, request.extended_due_at)
        request.status = "refused"
        request.refusal_reason = reason
        request.completed_at = now
        request.expires_at = None
        db.execute(
            update(RequestStep)
            .where(
                RequestStep.request_id == request.id,
                RequestStep.status.in_(("pending", "waiting", "failed")),
            )
            .values(status="skipped", finished_at=now)
            .execution_options(synchronize_session=False)
        )
        verification.void(db, request.id, "verify", now)
        letters.send(db, request, letters.refusal(request, sender))
        _audit(runtime, db, request, actor, "request.refused", late=late)


def extend(
    runtime: Runtime,
    request_id: str,
    actor: str,
    *,
    months: int,
    reason: str,
    now: datetime | None = None,
) -> datetime:
    """Extend the deadline by ``months`` (1 or 2) with reasons; the person is told at once.

    Refused (:class:`RequestError`) after the first deadline, since Art. 12(3) wants the
    notice within the first month, and for a request not yet verified or already closed.
    """
    reason = _reason(reason, "reason")
    now = now or utcnow()
    sender = letters.Sender.of(runtime)
    with runtime.audit.session() as db:
        request = _lock(db, request_id)
        if request.status not in OPEN_STATUSES or request.status == "unverified":
            raise RequestError(
                N_("A request that is %(status)s cannot be extended."), status=request.status
            )
        try:
            new_due = check_extension(
                received_at=request.received_at,
                first_due_at=request.due_at,
                current_extended_at=request.extended_due_at,
                extra_months=months,
                now=now,
            )
        except ValueError as exc:
            raise RequestError(str(exc), field="months") from exc
        request.extended_due_at = new_due
        request.extension_reason = reason
        request.extension_notice_at = now
        link = _issue_status_link(runtime, db, request, now)
        letters.send(db, request, letters.extension(request, sender, link))
        _audit(runtime, db, request, actor, "request.extended", months=months)
    return new_due


def notify_completed(runtime: Runtime, request_id: str, actor: str = SYSTEM) -> bool:
    """Tell the person a completed request is done, once; ``True`` if a message went out now.

    Art. 12(3): the person is told what was done. The report (:mod:`personvern.dsr.reports`)
    is that answer — the e-mail with the link to the access report or the erasure
    confirmation — so it is delivered first; only if it cannot be (reports not installed,
    or its delivery failed) does the person get the short "completed" letter with the
    status link instead. A second call sends nothing, so it is safe after every run.
    """
    from personvern.store.mail import OutboxMessage

    with runtime.sessions() as db:
        request = db.get(DataRequest, request_id)
        if request is None or request.status != "completed":
            return False
    try:
        from personvern.dsr.reports.delivery import deliver_quietly
    except ImportError:  # a slim install without reports
        pass
    else:
        if deliver_quietly(runtime, request_id):
            return True
    sender = letters.Sender.of(runtime)
    with runtime.audit.session() as db:
        request = _lock(db, request_id)
        told = db.scalar(
            select(OutboxMessage.id).where(
                OutboxMessage.request_id == request.id,
                OutboxMessage.purpose.in_(("completed", "report")),
            )
        )
        if told is not None or request.status != "completed":
            return False
        now = utcnow()
        link = _issue_status_link(runtime, db, request, now)
        letters.send(db, request, letters.completed(request, sender, link))
        late = (request.completed_at or now) > effective_due_at(
            request.due_at, request.extended_due_at
        )
        _audit(runtime, db, request, actor, "request.completion_notified", late=late)
    return True


def expire_unverified(runtime: Runtime, now: datetime | None = None) -> int:
    """Close requests whose verification link was never followed in time; returns how many.

    Run periodically (and on each new request); an expired request keeps its row for the
    record and its audit trail, but nothing more happens with it.
    """
    now = now or utcnow()
    with runtime.sessions() as db:
        ids = list(
            db.scalars(
                select(DataRequest.id).where(
                    DataRequest.status == "unverified", DataRequest.expires_at <= now
                )
            )
        )
    expired = 0
    for request_id in ids:
        with runtime.audit.session() as db:
            request = _lock(db, request_id)
            if request.status != "unverified":
                continue  # confirmed at the last moment by someone else
            request.status = "expired"
            verification.void(db, request.id, "verify", now)
            _audit(runtime, db, request, SYSTEM, "request.expired")
            expired += 1
    return expired


def get(runtime: Runtime, request_id: str) -> DataRequest:
    """The request with ``request_id``, detached; :class:`RequestNotFound` if there is none."""
    with runtime.sessions() as db:
        request = db.get(DataRequest, request_id)
        if request is None:
            raise RequestNotFound(request_id)
        db.expunge(request)
        return request
