"""What personvern's own store holds about an e-mail address, for the person's access report.

GDPR Art. 15(1) covers every personal data the controller processes about the person, and
personvern is one of the shop's systems: beside what the connectors find in the shop's
other systems, an access report must show what personvern keeps itself. By address that is:

- the **suppression list** entry (:mod:`personvern.store.suppressions`), kept so that an
  objection to direct marketing is honoured from then on (GDPR Art. 21(3),
  markedsføringsloven § 15);
- the person's **requests** (:mod:`personvern.store.requests`), earlier ones and this one,
  kept as proof that each was handled (Art. 5(2), Art. 12). They are matched by the same
  keyed hash of the address the request store indexes (``DataRequest.email_key``,
  :func:`personvern.keyed.keyed_hash`), so another person's requests are never read.

Consent records are *not* found here: they are kept under a random consent id from the
visitor's browser cookie and are not linked to an address (data minimisation, Art.
5(1)(c)), so the report can only say where to see them (``/privacy/consent`` on the device).
The audit log's entries, which name the person only by keyed hash, are not listed: they
record how each request was handled, which the requests' statuses and dates show.

Everything is read as plain, detached values, as :mod:`personvern.dsr.reports.gather` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from personvern.keyed import keyed_hash
from personvern.runtime import Runtime
from personvern.store.requests import DataRequest
from personvern.suppression.entries import suppression_of


@dataclass(frozen=True)
class SuppressionEntry:
    """The address on the suppression list: since when, how it got there, and Mailchimp."""

    address: str
    list_key: str  # "*": every list
    source: str  # one_click | webhook | admin | request
    since: datetime
    sync_status: str  # pending | synced | failed
    synced_at: datetime | None

    @property
    def pushed(self) -> bool:
        """Whether Mailchimp has the address as unsubscribed (told by us, or it told us)."""
        return self.sync_status == "synced"


@dataclass(frozen=True)
class RequestEntry:
    """One of the person's requests as personvern keeps it."""

    id: str
    kind: str
    status: str
    received_at: datetime
    completed_at: datetime | None  # when completed, or refused
    current: bool  # the request this report answers

    @property
    def completed(self) -> datetime | None:
        return self.completed_at if self.status == "completed" else None

    @property
    def refused(self) -> datetime | None:
        return self.completed_at if self.status == "refused" else None


@dataclass(frozen=True)
class OwnRecords:
    """What personvern keeps about one address."""

    suppression: SuppressionEntry | None
    requests: tuple[RequestEntry, ...]

    def beyond(self, request_id: str) -> bool:
        """Whether anything is kept besides the request ``request_id`` itself."""
        return self.suppression is not None or any(r.id != request_id for r in self.requests)


def own_records(
    runtime: Runtime,
    email: str,
    *,
    current: str | None = None,
    as_of: datetime | None = None,
) -> OwnRecords:
    """What the store holds about ``email``, oldest request first.

    ``current`` is the id of the request being answered (marked as such). With ``as_of``
    only what existed by then is included, so a report written again later shows the
    same entries (its statuses are read as they are now).
    """
    key = keyed_hash(runtime.secret, email, kind="email")
    query = (
        select(DataRequest)
        .where(DataRequest.email_key == key)
        .order_by(DataRequest.received_at, DataRequest.id)
    )
    if as_of is not None:
        query = query.where(DataRequest.received_at <= as_of)
    with runtime.sessions() as db:
        requests = tuple(
            RequestEntry(
                id=r.id,
                kind=r.kind,
                status=r.status,
                received_at=r.received_at,
                completed_at=r.completed_at,
                current=r.id == current,
            )
            for r in db.scalars(query)
        )
    row = suppression_of(runtime, email)
    suppression = None
    if row is not None and (as_of is None or row.created_at <= as_of):
        suppression = SuppressionEntry(
            address=row.address,
            list_key=row.list_key,
            source=row.source,
            since=row.created_at,
            sync_status=row.sync_status,
            synced_at=row.synced_at,
        )
    return OwnRecords(suppression=suppression, requests=requests)
