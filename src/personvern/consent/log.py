"""The consent log: every choice made in a banner, written durably before it is confirmed.

GDPR Art. 7(1) puts the burden of proof on the controller, so a choice the API has
confirmed must survive a crash or a power cut: a record is acknowledged only once its
transaction is durable.

- **SQLite**: the writer's connection runs with ``PRAGMA synchronous=FULL``. In WAL mode that
  syncs the WAL at every commit; the store's default, NORMAL, syncs only at checkpoints, so
  the last transactions before a power loss may roll back (sqlite.org/pragma.html#pragma_
  synchronous), which is acceptable for a cache but not for proof.
- **PostgreSQL**: each batch runs with ``SET LOCAL synchronous_commit = on``, so the commit
  waits for the WAL flush even where the server is configured otherwise.

A sync per choice would cap writes at the disk's sync rate, so choices are written by
**group commit**: one writer thread takes every choice waiting in its queue, writes them in
one transaction, syncs once and then answers them all. Under load, batches grow by
themselves; alone, a choice waits for nothing but its own commit.

Repeating the same request (same consent id, same content) is idempotent: it gets the same
receipt and entry number and adds no row. A different choice under the same consent id is
the next entry in that receipt's history. Entries are chained by SHA-256 within their
receipt (``prev_hash`` → ``entry_hash``), so an edited or removed entry shows.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import queue
import secrets
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, insert, select, update
from sqlalchemy.exc import DBAPIError

from personvern.consent.choice import Choice
from personvern.consent.config import canonical_json
from personvern.runtime import Runtime
from personvern.store.consents import ConsentEntry, ConsentReceipt

log = logging.getLogger(__name__)

GENESIS = "0" * 64
RECEIPTS = cast(Table, ConsentReceipt.__table__)
ENTRIES = cast(Table, ConsentEntry.__table__)
MAX_BATCH = 500


def request_hash(choice: Choice) -> str:
    """SHA-256 of the choice as sent: equal for a repeated request, different otherwise."""
    return hashlib.sha256(canonical_json(choice.model_dump(mode="json"))).hexdigest()


def timestamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_hash(
    *,
    consent_id: str,
    seq: int,
    at: datetime,
    request: str,
    ip_prefix: str,
    ua_family: str,
    prev_hash: str,
) -> str:
    """The hash that chains an entry to the one before it in its receipt."""
    content = {
        "consent_id": consent_id,
        "seq": seq,
        "at": timestamp(at),
        "request_hash": request,
        "ip_prefix": ip_prefix,
        "ua_family": ua_family,
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(canonical_json(content)).hexdigest()


@dataclass(frozen=True)
class Pending:
    """A choice and what the server adds to it, waiting to be written."""

    choice: Choice
    at: datetime
    ip_prefix: str
    ua_family: str

    @property
    def request_hash(self) -> str:
        return request_hash(self.choice)


@dataclass(frozen=True)
class Written:
    """The answer to one choice: its receipt and entry, and whether it was new."""

    consent_id: str
    receipt_id: str
    seq: int
    recorded_at: datetime
    created: bool


@dataclass
class _State:
    receipt_id: str
    entries: int
    request_hash: str
    entry_hash: str
    recorded_at: datetime
    new: bool = False
    changed: bool = False


_Item = tuple[
    Pending, asyncio.AbstractEventLoop | None, "asyncio.Future[Written] | Future[Written]"
]


def _settle(waiter: Any, result: Written | BaseException) -> None:
    if waiter.done():
        return  # the request was cancelled (client gone); the choice is stored all the same
    if isinstance(result, Written):
        waiter.set_result(result)
    else:
        waiter.set_exception(result)


def _settle_all(settled: list[tuple[Any, Written | BaseException]]) -> None:
    for waiter, result in settled:
        _settle(waiter, result)


class ConsentLog:
    """The group-commit writer of one app (see the module docstring).

    :meth:`record` (async) and :meth:`record_now` (blocking) return only once the choice is
    durable. :meth:`close` writes what is queued and stops the thread.
    """

    def __init__(self, runtime: Runtime, *, max_batch: int = MAX_BATCH) -> None:
        self._runtime = runtime
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False

    async def record(self, pending: Pending) -> Written:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Written] = loop.create_future()
        self._submit((pending, loop, waiter))
        return await waiter

    def record_now(self, pending: Pending) -> Written:
        future: Future[Written] = Future()
        self._submit((pending, None, future))
        return future.result(timeout=60)

    def _submit(self, item: _Item) -> None:
        with self._lock:
            if self._closed:
                raise RuntimeError("the consent log is closed")
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="personvern-consent-log", daemon=True
                )
                self._thread.start()
            self._queue.put(item)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            thread = self._thread
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout=30)

    def _run(self) -> None:
        stop = False
        while not stop:
            item = self._queue.get()
            if item is None:
                break
            batch = [item]
            while len(batch) < self._max_batch:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.append(more)
            results = self._write([pending for pending, _, _ in batch])
            # One wake-up per event loop for the whole batch, not one per choice: each
            # wake-up is a write to the loop's self-pipe and a round trip of the GIL.
            by_loop: dict[asyncio.AbstractEventLoop, list[tuple[Any, Written | BaseException]]]
            by_loop = {}
            for (_, loop, waiter), result in zip(batch, results, strict=True):
                if loop is None:
                    _settle(waiter, result)
                else:
                    by_loop.setdefault(loop, []).append((waiter, result))
            for loop, settled in by_loop.items():
                with suppress(RuntimeError):  # the loop has closed: nobody is waiting
                    loop.call_soon_threadsafe(_settle_all, settled)

    def _write(self, batch: Sequence[Pending]) -> list[Written | BaseException]:
        try:
            return list(self._write_batch(batch))
        except Exception as exc:
            if len(batch) == 1:
                # The type only: a driver's message can quote the values written.
                log.error("a consent could not be written (%s)", type(exc).__name__)
                return [exc]
        # One at a time, so that one bad choice (or a lost race) fails alone.
        return [result for pending in batch for result in self._write([pending])]

    def _write_batch(self, batch: Sequence[Pending]) -> list[Written]:
        engine = self._runtime.engine
        sqlite = engine.dialect.name == "sqlite"
        with engine.connect() as conn:
            if sqlite:
                # Per connection, and only outside a transaction; see the module docstring.
                # dbapi_connection is typed optional; on a checked-out connection it is always set.
                conn.connection.dbapi_connection.execute(  # type: ignore[union-attr]
                    "PRAGMA synchronous=FULL"
                )
            conn = conn.execution_options(sqlite_immediate=True)
            try:
                with conn.begin():
                    if not sqlite:
                        conn.exec_driver_sql("SET LOCAL synchronous_commit = on")
                    return self._apply(conn, batch)
            except DBAPIError as exc:
                if exc.connection_invalidated:
                    log.warning("consent log: the store connection was lost; retrying once")
                    with engine.connect() as again, again.begin():
                        return self._apply(again, batch)
                raise

    def _apply(self, conn: Connection, batch: Sequence[Pending]) -> list[Written]:
        ids = sorted({p.choice.consent_id for p in batch})
        states: dict[str, _State] = {}
        for row in conn.execute(
            select(
                ConsentReceipt.consent_id,
                ConsentReceipt.receipt_id,
                ConsentReceipt.entries,
                ConsentReceipt.request_hash,
                ConsentReceipt.entry_hash,
                ConsentReceipt.updated_at,
            ).where(ConsentReceipt.consent_id.in_(ids))
        ):
            states[row.consent_id] = _State(
                row.receipt_id, row.entries, row.request_hash, row.entry_hash, row.updated_at
            )
        entries: list[dict[str, Any]] = []
        receipts: dict[str, dict[str, Any]] = {}
        answers: list[Written] = []
        for pending in batch:
            choice = pending.choice
            digest = pending.request_hash
            state = states.get(choice.consent_id)
            if state is not None and state.request_hash == digest:
                answers.append(
                    Written(
                        choice.consent_id, state.receipt_id, state.entries, state.recorded_at, False
                    )
                )
                continue
            if state is None:
                state = _State(secrets.token_urlsafe(16), 0, "", GENESIS, pending.at, new=True)
                states[choice.consent_id] = state
            seq = state.entries + 1
            chained = entry_hash(
                consent_id=choice.consent_id,
                seq=seq,
                at=pending.at,
                request=digest,
                ip_prefix=pending.ip_prefix,
                ua_family=pending.ua_family,
                prev_hash=state.entry_hash,
            )
            entries.append(
                {
                    "consent_id": choice.consent_id,
                    "seq": seq,
                    "at": pending.at,
                    "site": choice.site,
                    "policy_version": choice.policy_version,
                    "texts_hash": choice.texts_hash,
                    "method": choice.method,
                    "granted": ",".join(choice.granted),
                    "denied": ",".join(choice.denied),
                    "gpc": choice.gpc,
                    "language": choice.language,
                    "page": choice.page,
                    "ip_prefix": pending.ip_prefix,
                    "ua_family": pending.ua_family,
                    "request_hash": digest,
                    "prev_hash": state.entry_hash,
                    "entry_hash": chained,
                }
            )
            state.entries, state.request_hash, state.entry_hash = seq, digest, chained
            state.recorded_at, state.changed = pending.at, True
            receipts[choice.consent_id] = {
                "cid": choice.consent_id,
                "receipt_id": state.receipt_id,
                "site": choice.site,
                "created_at": pending.at,
                "updated_at": pending.at,
                "entries": seq,
                "request_hash": digest,
                "entry_hash": chained,
            }
            answers.append(Written(choice.consent_id, state.receipt_id, seq, pending.at, True))
        new = [
            {**values, "consent_id": values["cid"]}
            for cid, values in receipts.items()
            if states[cid].new
        ]
        changed = [values for cid, values in receipts.items() if not states[cid].new]
        if new:
            conn.execute(
                insert(RECEIPTS), [{k: v for k, v in row.items() if k != "cid"} for row in new]
            )
        if changed:
            fields = ("updated_at", "entries", "request_hash", "entry_hash")
            conn.execute(
                update(RECEIPTS)
                .where(RECEIPTS.c.consent_id == bindparam("cid"))
                .values({name: bindparam(f"new_{name}") for name in fields}),
                [{"cid": row["cid"], **{f"new_{k}": row[k] for k in fields}} for row in changed],
            )
        if entries:
            conn.execute(insert(ENTRIES), entries)
        return answers
