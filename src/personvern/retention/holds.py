"""Legal holds: people whose records no retention sweep may touch, and why.

A sweep erases what has outlived its rule, but some records must stay whatever their age:

- **an open request** — a data-subject request that is not yet finished (any status but
  ``completed``, ``refused`` or ``expired``; :mod:`personvern.dsr.status`). Erasing the
  person's data while their access request runs would deprive them of the answer GDPR
  Art. 15 gives them, and an erasure request is carried out by the request engine, with
  its own holds and its own report;
- **a dispute** — a complaint, a claim or a chargeback: the records are needed "for the
  establishment, exercise or defence of legal claims" (GDPR Art. 17(3)(e));
- **a manual hold** — anything else an admin decides, with the reason in words (an
  investigation, a request from the police), until released or until a date.

Each is an identity the engine passes to the connectors as ``SweepRule.exclude``: the
person's records are counted as held and never changed. Holds are listed, added and
released with ``personvern retention hold …`` and shown in the admin; adding and releasing
one is written to the audit log, which names the person only by keyed hash.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from sqlalchemy import or_, select

from personvern.connectors.base import Identity
from personvern.dsr.status import OPEN_STATUSES
from personvern.keyed import normalise
from personvern.store.base import utcnow
from personvern.store.requests import DataRequest
from personvern.store.retention import LegalHold

if TYPE_CHECKING:
    from personvern.runtime import Runtime

HoldKind = Literal["manual", "dispute"]
HOLD_KINDS: tuple[HoldKind, ...] = ("manual", "dispute")


class HoldError(ValueError):
    """A hold cannot be added or released; the message says what to do instead."""


@dataclass(frozen=True)
class HoldView:
    """A legal hold as the CLI and the admin show it."""

    id: int
    kind: str
    email: str
    reason: str
    created_at: datetime
    created_by: str
    until: datetime | None
    released_at: datetime | None

    def active(self, now: datetime) -> bool:
        return self.released_at is None and (self.until is None or self.until > now)


@dataclass(frozen=True)
class Exclusion:
    """One person a sweep must leave alone: who, and why (``request``, ``dispute``, ``manual``)."""

    identity: Identity
    reason: str
    ref: str  # the request id or the hold id, for the admin; never shown to others


def _view(row: LegalHold) -> HoldView:
    return HoldView(
        id=row.id,
        kind=row.kind,
        email=row.email,
        reason=row.reason,
        created_at=row.created_at,
        created_by=row.created_by,
        until=row.until,
        released_at=row.released_at,
    )


def add_hold(
    runtime: Runtime,
    *,
    email: str,
    reason: str,
    actor: str,
    kind: str = "manual",
    until: datetime | None = None,
    now: datetime | None = None,
) -> HoldView:
    """Put ``email`` under a legal hold; its records are not swept until it is released."""
    now = now or utcnow()
    email = normalise(email, "email")
    if "@" not in email or len(email) > 320:
        raise HoldError(f"{email!r} is not an e-mail address; give the person's address")
    reason = reason.strip()
    if not reason:
        raise HoldError("say why the records are held (the reason is kept for the record)")
    if kind not in HOLD_KINDS:
        raise HoldError(f"a hold is {' or '.join(HOLD_KINDS)}, not {kind!r}")
    if until is not None and until <= now:
        raise HoldError("the hold would end before it starts; give a date in the future")
    with runtime.audit.session() as db:
        row = LegalHold(
            kind=kind,
            email=email,
            email_key=runtime.audit.subject_key(email),
            reason=reason,
            created_at=now,
            created_by=actor,
            until=until,
        )
        db.add(row)
        db.flush()
        runtime.audit.append(
            db,
            actor=actor,
            action="retention.hold_added",
            subject=email,
            object_type="legal_hold",
            object_id=str(row.id),
            details={"kind": kind, "until": until.isoformat() if until else None},
        )
        return _view(row)


def release_hold(
    runtime: Runtime, hold_id: int, *, actor: str, now: datetime | None = None
) -> HoldView:
    """End a hold; from the next sweep on, the person's records follow the rules again."""
    now = now or utcnow()
    with runtime.audit.session() as db:
        row = db.get(LegalHold, hold_id, with_for_update=True)
        if row is None:
            raise HoldError(
                f"there is no legal hold {hold_id}; `personvern retention hold list` shows them"
            )
        if row.released_at is not None:
            raise HoldError(f"legal hold {hold_id} was already released")
        row.released_at = now
        row.released_by = actor
        runtime.audit.append(
            db,
            actor=actor,
            action="retention.hold_released",
            subject=row.email,
            object_type="legal_hold",
            object_id=str(row.id),
            details={"kind": row.kind},
        )
        return _view(row)


def list_holds(
    runtime: Runtime, *, include_ended: bool = False, now: datetime | None = None
) -> list[HoldView]:
    """Legal holds, newest first: those in force, or every one with ``include_ended``."""
    now = now or utcnow()
    query = select(LegalHold).order_by(LegalHold.created_at.desc(), LegalHold.id.desc())
    if not include_ended:
        query = query.where(
            LegalHold.released_at.is_(None),
            or_(LegalHold.until.is_(None), LegalHold.until > now),
        )
    with runtime.sessions() as db:
        return [_view(row) for row in db.scalars(query)]


def exclusions(runtime: Runtime, now: datetime | None = None) -> list[Exclusion]:
    """Everyone a sweep must leave alone now: open requests, then disputes and manual holds.

    A request is searched in each system by the identifiers it was made with (e-mail and,
    where given, phone), as the request engine searches; holding a little more than needed
    is the safe side.
    """
    now = now or utcnow()
    out: list[Exclusion] = []
    with runtime.sessions() as db:
        requests = db.execute(
            select(DataRequest.id, DataRequest.email, DataRequest.phone)
            .where(DataRequest.status.in_(sorted(OPEN_STATUSES)))
            .order_by(DataRequest.received_at, DataRequest.id)
        ).all()
    for request_id, email, phone in requests:
        out.append(Exclusion(Identity(email=email, phone=phone or None), "request", request_id))
    for hold in list_holds(runtime, now=now):
        out.append(Exclusion(Identity(email=hold.email), hold.kind, str(hold.id)))
    return out


def excluded_identities(found: list[Exclusion]) -> tuple[Identity, ...]:
    """The identities of ``found``, each once, in order (for ``SweepRule.exclude``)."""
    seen: dict[Identity, None] = {}
    for exclusion in found:
        seen.setdefault(exclusion.identity, None)
    return tuple(seen)


def reasons(found: list[Exclusion]) -> dict[str, int]:
    """How many people are held for each reason, for the plan and the report."""
    counts: dict[str, int] = {}
    for exclusion in found:
        counts[exclusion.reason] = counts.get(exclusion.reason, 0) + 1
    return counts
