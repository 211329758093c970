"""Delivering the outbox: :func:`deliver_due` once, :func:`run_sender` in the background.

Each message is *claimed* before it is sent, in a short transaction of its own, and marked
sent (or rescheduled) in another; no transaction stays open while the SMTP server is
talked to. Claiming is what keeps two senders — two app workers, the app and a cron'd
``personvern mail send``, two machines — from sending one message twice:

- on PostgreSQL the candidate row is selected ``FOR UPDATE SKIP LOCKED``, so a second
  sender passes over a row the first is claiming instead of waiting for it;
- on SQLite the transaction takes the write lock at ``BEGIN IMMEDIATE``, so claims are
  serialised;
- on both, the claim is a conditional ``UPDATE … WHERE id = ? AND <still due>`` that sets
  ``status = 'sending'`` and a random ``claim_token``; only the sender whose token is on
  the row may mark it sent or failed.

A sender that dies between claiming and marking leaves the row ``sending``; after
:data:`LEASE` it is due again and another sender sends it. That message may arrive twice
(with the same Message-ID), which is the price of never losing one.

Failures (see :mod:`personvern.mail.smtp`): a permanent refusal marks the message failed;
anything else schedules the next attempt after :data:`BACKOFF` (1 min, 5 min, 30 min, 2 h,
6 h, then every 12 h), and a message still not sent :data:`GIVE_UP_AFTER` (48 h) after it
was queued is marked failed, with its last error, in the admin's outbox. Sent and failed
messages are audited, and deleted ``PERSONVERN_MAIL_KEEP_DAYS`` later.

Logs name messages by outbox id only, never by address or content.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.orm import Session

from personvern.mail.compose import compose, new_message_id
from personvern.mail.outbox import purge
from personvern.mail.smtp import (
    PermanentFailure,
    ServerUnavailable,
    SmtpConfig,
    SmtpSession,
    TemporaryFailure,
)
from personvern.runtime import Runtime
from personvern.store.base import utcnow
from personvern.store.mail import OutboxMessage

log = logging.getLogger(__name__)

BACKOFF: tuple[timedelta, ...] = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
    timedelta(hours=12),
)
GIVE_UP_AFTER = timedelta(hours=48)
# Far longer than one message can take (TIMEOUT_SECONDS per SMTP step), so a claim is only
# taken over from a sender that is really gone.
LEASE = timedelta(minutes=15)
ACTOR = "mail-sender"


@dataclass(frozen=True)
class DeliveryReport:
    """What one :func:`deliver_due` did.

    ``configured`` is False when no SMTP host is set (nothing was sent; ``waiting``
    messages are in the outbox for the admin's mail viewer). ``waiting`` counts queued
    messages left after the run, due or not; ``problem`` is why the run stopped early.
    """

    configured: bool
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    waiting: int = 0
    purged: int = 0
    problem: str | None = None

    def describe(self) -> str:
        if not self.configured:
            return (
                f"SMTP is not configured (PERSONVERN_SMTP_HOST is empty): {self.waiting} "
                "message(s) wait in the outbox; read them in the admin at /admin/outbox"
            )
        text = (
            f"sent {self.sent}, to retry {self.retrying}, failed {self.failed}, "
            f"waiting {self.waiting}"
        )
        return f"{text}; stopped: {self.problem}" if self.problem else text


def next_attempt(created_at: datetime, attempts: int, now: datetime) -> datetime | None:
    """When to try again after the ``attempts``-th attempt failed at ``now``; None: give up.

    The last attempt is made :data:`GIVE_UP_AFTER` after the message was queued, however
    the backoff falls.
    """
    deadline = created_at + GIVE_UP_AFTER
    if now >= deadline:
        return None
    delay = BACKOFF[min(max(attempts, 1), len(BACKOFF)) - 1]
    return min(now + delay, deadline)


def deliver_due(
    runtime: Runtime,
    *,
    limit: int = 50,
    now: datetime | None = None,
    tls: ssl.SSLContext | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> DeliveryReport:
    """Send up to ``limit`` messages whose time has come, and tidy the outbox.

    Safe to run in any number of processes at once: each message is sent by one of them.
    ``now`` stands in for the clock (tests); ``tls`` for the system's TLS trust (a private
    CA); ``cancelled`` is asked before each message, to stop early at shutdown.
    """

    def clock() -> datetime:
        # Read per message, not once per batch: a claim's time must be when it was made,
        # or a slow batch would look abandoned to other senders (see LEASE).
        return now if now is not None else utcnow()

    settings = runtime.settings
    purged = _purge(runtime, clock(), settings.mail_keep_days)
    config = SmtpConfig.from_settings(settings)
    if config is None:
        return DeliveryReport(configured=False, waiting=_waiting(runtime), purged=purged)
    token = secrets.token_hex(16)
    sent = retrying = failed = 0
    problem: str | None = None
    with SmtpSession(config, tls=tls) as smtp:
        for _ in range(limit):
            if cancelled is not None and cancelled():
                break
            message = _claim(runtime, token, clock(), config.mail_from)
            if message is None:
                break
            try:
                email = compose(message, mail_from=config.mail_from, now=clock())
            except (ValueError, TypeError, LookupError) as exc:
                # Checked when queued, so this is a bug or a row edited by hand.
                failed += _fail(runtime, message, token, f"cannot be composed: {exc}")
                continue
            try:
                smtp.send(email, message.to_address)
            except PermanentFailure as exc:
                failed += _fail(runtime, message, token, str(exc))
            except TemporaryFailure as exc:
                if _retry(runtime, message, token, clock(), str(exc)):
                    retrying += 1
                else:
                    failed += 1
                if isinstance(exc, ServerUnavailable):
                    problem = str(exc)
                    break
            except Exception as exc:
                # Not an SMTP answer: a bug, or a library surprise. The message is not at
                # fault, so it is retried rather than left claimed, and the batch stops.
                problem = f"unexpected {type(exc).__name__} while sending"
                log.error("mail: %s outbox message %d", problem, message.id)
                if _retry(runtime, message, token, clock(), problem):
                    retrying += 1
                else:
                    failed += 1
                break
            else:
                sent += _mark_sent(runtime, message, token, clock())
    report = DeliveryReport(
        configured=True,
        sent=sent,
        retrying=retrying,
        failed=failed,
        waiting=_waiting(runtime),
        purged=purged,
        problem=problem,
    )
    if sent or retrying or failed:
        log.info("mail: sent %d, to retry %d, failed %d", sent, retrying, failed)
    return report


def _due(at: datetime) -> ColumnElement[bool]:
    return or_(
        and_(OutboxMessage.status == "queued", OutboxMessage.next_attempt_at <= at),
        and_(OutboxMessage.status == "sending", OutboxMessage.claimed_at <= at - LEASE),
    )


def _begin(session: Session) -> None:
    # SQLite: take the write lock now, so the read and the write below cannot interleave
    # with another sender's (see personvern.store.engine).
    session.connection(execution_options={"sqlite_immediate": True})


def _claim(runtime: Runtime, token: str, at: datetime, mail_from: str) -> OutboxMessage | None:
    """Claim the next due message for ``token``, or None when nothing is due."""
    with runtime.sessions() as session:
        _begin(session)
        candidate = (
            select(OutboxMessage.id)
            .where(_due(at))
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(1)
        )
        if session.get_bind().dialect.name == "postgresql":
            candidate = candidate.with_for_update(skip_locked=True)
        message_id = session.scalar(candidate)
        if message_id is None:
            return None
        result = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, _due(at))
            .values(
                status="sending",
                claim_token=token,
                claimed_at=at,
                attempts=OutboxMessage.attempts + 1,
                last_attempt_at=at,
                message_id=func.coalesce(OutboxMessage.message_id, new_message_id(mail_from)),
            )
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0) != 1:  # taken by another sender after all
            session.rollback()
            return None
        session.commit()
        return session.get(OutboxMessage, message_id, populate_existing=True)


def _finish(session: Session, message: OutboxMessage, token: str, **values: object) -> bool:
    """Write ``values`` if the claim is still ours; False when another sender took it over."""
    result = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message.id,
            OutboxMessage.claim_token == token,
            OutboxMessage.status == "sending",
        )
        .values(claim_token=None, **values)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        log.warning("mail: outbox message %d was taken over by another sender", message.id)
        return False
    return True


def _audit(runtime: Runtime, session: Session, message: OutboxMessage, action: str) -> None:
    runtime.audit.append(
        session,
        actor=ACTOR,
        action=action,
        subject=message.to_address,
        object_type="outbox",
        object_id=str(message.id),
        details={
            "purpose": message.purpose,
            "request_id": message.request_id,
            "attempts": message.attempts,
            "message_id": message.message_id,
        },
    )


def _mark_sent(runtime: Runtime, message: OutboxMessage, token: str, at: datetime) -> int:
    with runtime.audit.session() as session:
        if not _finish(session, message, token, status="sent", sent_at=at, last_error=None):
            return 0
        _audit(runtime, session, message, "mail.sent")
    return 1


def _fail(runtime: Runtime, message: OutboxMessage, token: str, error: str) -> int:
    with runtime.audit.session() as session:
        if not _finish(session, message, token, status="failed", last_error=error):
            return 0
        _audit(runtime, session, message, "mail.failed")
    log.warning("mail: outbox message %d failed after %d attempt(s)", message.id, message.attempts)
    return 1


def _retry(runtime: Runtime, message: OutboxMessage, token: str, at: datetime, error: str) -> bool:
    """Schedule the next attempt; True if there is one, False if the message was given up."""
    when = next_attempt(message.created_at, message.attempts, at)
    if when is None:
        _fail(runtime, message, token, f"given up after {message.attempts} attempts: {error}")
        return False
    with runtime.sessions() as session:
        _begin(session)
        _finish(session, message, token, status="queued", next_attempt_at=when, last_error=error)
        session.commit()
    log.info(
        "mail: outbox message %d not sent (attempt %d); next attempt at %s",
        message.id,
        message.attempts,
        when.isoformat(timespec="seconds"),
    )
    return True


def _purge(runtime: Runtime, at: datetime, keep_days: int) -> int:
    with runtime.audit.session() as session:
        purged = purge(session, now=at, keep_days=keep_days)
        if purged:
            runtime.audit.append(
                session,
                actor=ACTOR,
                action="mail.purged",
                object_type="outbox",
                details={"messages": purged, "keep_days": keep_days},
            )
    return purged


def _waiting(runtime: Runtime) -> int:
    with runtime.sessions() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status.in_(("queued", "sending")))
            )
            or 0
        )


async def run_sender(runtime: Runtime, *, interval: float = 5.0, stop: asyncio.Event) -> None:
    """Deliver due messages every ``interval`` seconds until ``stop`` is set.

    Each round runs :func:`deliver_due` in a worker thread (smtplib and the store are
    blocking) and stops between messages once ``stop`` is set. An error in one round is
    logged by its kind only (its text may hold an address) and the next round tries again.
    """
    while not stop.is_set():
        try:
            # stop.is_set only reads a flag, which is safe from the worker thread.
            await asyncio.to_thread(deliver_due, runtime, cancelled=stop.is_set)
        except Exception as exc:
            log.error(
                "mail: the sender failed (%s); trying again in %.0f s",
                type(exc).__name__,
                interval,
            )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)


@contextlib.asynccontextmanager
async def background_sender(
    runtime: Runtime, *, interval: float = 5.0
) -> AsyncIterator[asyncio.Task[None] | None]:
    """Run :func:`run_sender` while the block runs, when SMTP is configured (the app's
    lifespan uses this). Without an SMTP host it does nothing and yields None: the outbox
    is then read in the admin."""
    if SmtpConfig.from_settings(runtime.settings) is None:
        yield None
        return
    stop = asyncio.Event()
    task = asyncio.create_task(run_sender(runtime, interval=interval, stop=stop))
    try:
        yield task
    finally:
        stop.set()
        await task
