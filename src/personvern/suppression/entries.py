"""Adding to, reading and removing from the suppression list.

Every change is written to the audit log in the same transaction, with the address only as
a keyed hash (:mod:`personvern.keyed`); adding an address that is already on the list
changes nothing and writes nothing, so a person may press the button as often as they like.

Why the address is kept at all, and nothing more, is explained in
:mod:`personvern.store.suppressions`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from personvern.audit.log import AuditLog
from personvern.runtime import Runtime
from personvern.store.base import utcnow
from personvern.store.suppressions import ALL_LISTS, SOURCES, SYNC_STATUSES, Suppression


@dataclass(frozen=True)
class Added:
    """The outcome of :func:`suppress`: the row's id, and whether this call added it."""

    id: int
    created: bool


def normalise_address(address: str) -> str:
    """``address`` as the list keeps it: checked, trimmed and in lower case.

    Lower case as Mailchimp keys members (the MD5 of the lower-cased address), so one person
    is one row however they typed it. The address is not repeated in the error (logs).
    """
    try:
        checked = validate_email(address.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(
            f"not a valid e-mail address ({exc}); write it as name@example.no"
        ) from exc
    return str(checked.normalized).lower()


def suppress_in(
    session: Session,
    audit: AuditLog,
    address: str,
    *,
    source: str,
    actor: str,
    list_key: str = ALL_LISTS,
    synced: bool = False,
    now: datetime | None = None,
) -> Added:
    """Put ``address`` on the list in the caller's transaction (kept only if it commits).

    ``synced``: Mailchimp already has the address unsubscribed (it told us, by webhook), so
    there is nothing to push. Raises :class:`ValueError` for a bad address or source.
    """
    if source not in SOURCES:
        raise ValueError(f"source {source!r} is not one of {', '.join(SOURCES)}")
    address = normalise_address(address)
    existing = session.scalar(select(Suppression.id).where(Suppression.address == address))
    if existing is not None:
        return Added(existing, created=False)
    at = now or utcnow()
    row = Suppression(
        address=address,
        list_key=list_key,
        source=source,
        created_at=at,
        sync_status="synced" if synced else "pending",
        sync_attempts=0,
        next_sync_at=None if synced else at,
        synced_at=at if synced else None,
    )
    try:
        # A savepoint: when another transaction added the address first, the unique
        # constraint stops this one, and the caller's transaction goes on unharmed.
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        existing = session.scalar(select(Suppression.id).where(Suppression.address == address))
        if existing is None:
            raise
        return Added(existing, created=False)
    audit.append(
        session,
        actor=actor,
        action="suppression.added",
        subject=address,
        object_type="suppression",
        object_id=str(row.id),
        details={"source": source, "list": list_key, "synced": synced},
    )
    return Added(row.id, created=True)


def suppress(
    runtime: Runtime,
    address: str,
    *,
    source: str,
    actor: str,
    list_key: str = ALL_LISTS,
    synced: bool = False,
) -> Added:
    """Put ``address`` on the list in a transaction of its own (see :func:`suppress_in`)."""
    with runtime.audit.session() as session:
        return suppress_in(
            session,
            runtime.audit,
            address,
            source=source,
            actor=actor,
            list_key=list_key,
            synced=synced,
        )


def is_suppressed(runtime: Runtime, address: str) -> bool:
    """Whether ``address`` must get no marketing e-mail (from any list: see the module)."""
    try:
        address = normalise_address(address)
    except ValueError:
        return False
    with runtime.sessions() as session:
        return (
            session.scalar(select(Suppression.id).where(Suppression.address == address)) is not None
        )


def suppression_of(runtime: Runtime, address: str) -> Suppression | None:
    """The list's row for ``address`` (detached), or None; for the person's access report."""
    try:
        address = normalise_address(address)
    except ValueError:
        return None
    with runtime.sessions() as session:
        row = session.scalar(select(Suppression).where(Suppression.address == address))
        if row is not None:
            session.expunge(row)
        return row


def list_suppressions(
    runtime: Runtime, *, status: str | None = None, limit: int = 100
) -> Sequence[Suppression]:
    """Rows, newest first; only those whose push to Mailchimp is in ``status`` when given."""
    if status is not None and status not in SYNC_STATUSES:
        raise ValueError(f"status {status!r} is not one of {', '.join(SYNC_STATUSES)}")
    query = select(Suppression).order_by(Suppression.created_at.desc(), Suppression.id.desc())
    if status is not None:
        query = query.where(Suppression.sync_status == status)
    with runtime.sessions() as session:
        return session.scalars(query.limit(limit)).all()


def unsuppress(runtime: Runtime, address: str, *, actor: str) -> bool:
    """Take ``address`` off the list (an entry made by mistake); False when it was not on it.

    Mailchimp is not told: a member who unsubscribed there can only come back by signing up
    again through a Mailchimp form (their consent, not ours to give).
    """
    address = normalise_address(address)
    with runtime.audit.session() as session:
        row = session.scalar(select(Suppression).where(Suppression.address == address))
        if row is None:
            return False
        runtime.audit.append(
            session,
            actor=actor,
            action="suppression.removed",
            subject=address,
            object_type="suppression",
            object_id=str(row.id),
            details={"source": row.source, "list": row.list_key},
        )
        session.delete(row)
        return True


def unsuppress_entry(runtime: Runtime, entry_id: int, *, actor: str, reason: str) -> bool:
    """Take the row ``entry_id`` off the list, audited with the admin's ``reason``; False
    when there is no such row (removed meanwhile).

    As :func:`unsuppress`, for the admin page, which names rows by id. The caller keeps
    addresses out of ``reason`` (the audit log names people only by keyed hash).
    """
    with runtime.audit.session() as session:
        row = session.get(Suppression, entry_id)
        if row is None:
            return False
        runtime.audit.append(
            session,
            actor=actor,
            action="suppression.removed",
            subject=row.address,
            object_type="suppression",
            object_id=str(row.id),
            details={"source": row.source, "list": row.list_key, "reason": reason},
        )
        session.delete(row)
        return True


def record_objection(session: Session, audit: AuditLog, address: str, *, actor: str) -> bool:
    """A completed objection to direct marketing (a request of kind ``object``, GDPR Art.
    21(2)–(3)) puts the requester's address on the list, in the caller's transaction.

    Called by the request's settlement (:meth:`personvern.dsr.progress.Progress.settle`).
    Never raises for the address: an address the list cannot take (it was checked at
    intake, so this does not happen) must not keep the request from being completed.
    Returns whether the address was added now.
    """
    try:
        return suppress_in(session, audit, address, source="request", actor=actor).created
    except ValueError:
        return False
