"""The append-only, hash-chained audit log.

Every action on personal data is written here. Each entry stores the SHA-256 of the entry
before it (``prev_hash``) and the SHA-256 of its own canonical content, which includes
``prev_hash`` (``entry_hash``); so changing, deleting or reordering any entry breaks the
chain from that entry on, and :meth:`AuditLog.verify` names the first entry that is wrong.

The newest entry's hash is also kept in ``audit_head``, written in the same transaction as
the entry. Deleting the last entries therefore shows as a head that points past the end of
the chain. Someone who can rewrite the database can also rewrite the head; against that,
take the head out of the database from time to time (``personvern audit head``) and check
against it later (``personvern audit verify --expect-head``).

People are never named in clear: ``subject`` is stored as a keyed hash (HMAC-SHA256 with the
installation's secret key, see :mod:`personvern.keyed`).

Appends are serialised so that the chain never forks: on PostgreSQL by a transaction-level
advisory lock, on SQLite by the database's single writer lock (the caller's transaction
takes it at BEGIN IMMEDIATE when opened with :meth:`AuditLog.session`). Unique constraints
on ``seq`` and ``prev_hash`` make a lost race an error rather than a fork.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from personvern.keyed import keyed_hash
from personvern.store.base import utcnow
from personvern.store.tables import AuditEntry, AuditHead

GENESIS = "0" * 64
# Any fixed number: the key of the PostgreSQL advisory lock that serialises appends.
_PG_LOCK_KEY = 0x70766175  # "pvau"


def canonical(entry: AuditEntry) -> bytes:
    """The bytes an entry's hash is computed over: sorted, compact JSON of every field."""
    content = {
        "seq": entry.seq,
        "at": entry.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "actor": entry.actor,
        "action": entry.action,
        "subject_key": entry.subject_key,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "details": json.loads(entry.details),
        "prev_hash": entry.prev_hash,
    }
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(entry: AuditEntry) -> str:
    return hashlib.sha256(canonical(entry)).hexdigest()


@dataclass(frozen=True)
class Verification:
    ok: bool
    entries: int
    head: str
    first_bad: int | None = None
    reason: str | None = None

    def describe(self) -> str:
        if self.ok:
            return f"audit log intact: {self.entries} entries, head {self.head}"
        return f"audit log broken at entry #{self.first_bad}: {self.reason}"


class AuditLog:
    def __init__(self, sessions: sessionmaker[Session], secret: bytes) -> None:
        self._sessions = sessions
        self._secret = secret

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction that may append: committed on success, rolled back on error.

        On SQLite it takes the write lock at BEGIN, so reading the head and writing the next
        entry cannot be interleaved with another writer.
        """
        with self._sessions() as session:
            session.connection(execution_options={"sqlite_immediate": True})
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def subject_key(self, subject: str, kind: str = "email") -> str:
        return keyed_hash(self._secret, subject, kind=kind)

    def append(
        self,
        session: Session,
        *,
        actor: str,
        action: str,
        subject: str | None = None,
        subject_kind: str = "email",
        object_type: str | None = None,
        object_id: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> AuditEntry:
        """Add an entry in the caller's transaction; it is kept only if that commits.

        ``details`` must not hold personal data in clear; it is stored as canonical JSON.
        """
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
        head = session.get(AuditHead, 1, with_for_update=True)
        entry = AuditEntry(
            seq=(head.seq if head else 0) + 1,
            at=utcnow(),
            actor=actor,
            action=action,
            subject_key=self.subject_key(subject, subject_kind) if subject else None,
            object_type=object_type,
            object_id=None if object_id is None else str(object_id),
            details=json.dumps(details or {}, sort_keys=True, separators=(",", ":")),
            prev_hash=head.entry_hash if head else GENESIS,
        )
        entry.entry_hash = entry_hash(entry)
        session.add(entry)
        if head is None:
            session.add(AuditHead(id=1, seq=entry.seq, entry_hash=entry.entry_hash))
        else:
            head.seq = entry.seq
            head.entry_hash = entry.entry_hash
        session.flush()
        return entry

    def record(self, **fields: Any) -> AuditEntry:
        """Append one entry in a transaction of its own."""
        with self.session() as session:
            return self.append(session, **fields)

    def head(self) -> tuple[int, str]:
        with self._sessions() as session:
            row = session.get(AuditHead, 1)
            return (row.seq, row.entry_hash) if row else (0, GENESIS)

    def entries(self, subject: str | None = None, kind: str = "email") -> list[AuditEntry]:
        """Entries in order, all of them or those about one person."""
        query = select(AuditEntry).order_by(AuditEntry.seq)
        if subject is not None:
            query = query.where(AuditEntry.subject_key == self.subject_key(subject, kind))
        with self._sessions() as session:
            return list(session.scalars(query))

    @staticmethod
    def _stream(session: Session, page: int = 1000) -> Iterator[AuditEntry]:
        # Keyset pages rather than a server-side cursor: nothing is left open when the
        # walk stops early at a broken entry.
        after = 0
        while True:
            rows = list(
                session.scalars(
                    select(AuditEntry)
                    .where(AuditEntry.seq > after)
                    .order_by(AuditEntry.seq)
                    .limit(page)
                )
            )
            yield from rows
            if len(rows) < page:
                return
            after = rows[-1].seq
            session.expunge_all()

    def verify(self, expect_head: str | None = None) -> Verification:
        """Walk the chain from the first entry; stop at the first one that is wrong.

        Reads the entries a page at a time, so memory stays flat however long the log is.
        """
        expected_seq, prev, count = 1, GENESIS, 0
        with self._sessions() as session:
            stored_head = session.get(AuditHead, 1)
            for entry in self._stream(session):
                problem = None
                if entry.seq != expected_seq:
                    problem = (
                        f"expected entry #{expected_seq} here but found #{entry.seq}: "
                        f"entries #{expected_seq}–#{entry.seq - 1} were deleted"
                    )
                    bad = expected_seq
                elif entry.prev_hash != prev:
                    problem = "its link to the previous entry does not match: an entry before "
                    problem += "it was deleted, or entries were reordered"
                    bad = entry.seq
                elif entry_hash(entry) != entry.entry_hash:
                    problem = "its content does not match its hash: the entry was changed"
                    bad = entry.seq
                if problem:
                    return Verification(False, count, prev, bad, problem)
                prev, expected_seq, count = entry.entry_hash, expected_seq + 1, count + 1
        head_seq = stored_head.seq if stored_head else 0
        head_hash = stored_head.entry_hash if stored_head else GENESIS
        if head_seq != count or head_hash != prev:
            return Verification(
                False,
                count,
                prev,
                count + 1,
                f"the log ends at #{count} but its head records #{head_seq}: "
                "entries at the end were deleted",
            )
        if expect_head is not None and expect_head not in (prev, f"{count}:{prev}"):
            return Verification(
                False,
                count,
                prev,
                count,
                "the chain is consistent but does not end at the head you gave: entries "
                "were removed or the log was rewritten since that head was taken",
            )
        return Verification(True, count, prev)
