"""The consent log: every choice made in a banner, written durably before it is confirmed.

GDPR Art. 7(1) puts the burden of proof on the controller, so a choice the API has
confirmed must survive a crash or a power cut: a record is acknowledged only once its
transaction is durable.

- **SQLite**: the writer's connection runs with ``PRAGMA synchronous=FULL``. In WAL mode that
  syncs the WAL at every commit; the store's default, NORMAL, syncs only at checkpoints, so
  the last transactions before a power loss may roll back (sqlite.org/pragma.html#pragma_
  synchronous), which is acceptable for a cache but not for proof.
- **PostgreSQL**: the writer's connection runs with ``SET synchronous_commit = on``, so each
  commit waits for the WAL flush even where the server is configured otherwise.

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
import json
import logging
import queue
import secrets
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from personvern.consent.chain import GENESIS, Pending, Written, entry_hash
from personvern.consent.statements import (
    ENTRIES,
    ENTRY_COLUMNS,
    FIRST_ENTRIES,
    RECEIPT_COLUMNS,
    RECEIPTS,
    Statements,
    first_entry,
)
from personvern.runtime import Runtime

log = logging.getLogger(__name__)

MAX_BATCH = 500


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
        self._queue: queue.SimpleQueue[list[_Item] | None] = queue.SimpleQueue()
        # Per event loop, the choices made since its writer hand-over was scheduled.
        self._gathered: dict[asyncio.AbstractEventLoop, list[_Item]] = {}
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._conn: Connection | None = None  # the writer thread's own

    async def record(self, pending: Pending) -> Written:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Written] = loop.create_future()
        # Choices made during one turn of the event loop go to the writer together, in one
        # hand-over: waking the writer thread once per choice cost more CPU (GIL hand-offs,
        # futex calls) than writing the choice did.
        gathered = self._gathered.get(loop)
        if gathered is None:
            gathered = self._gathered[loop] = []
            loop.call_soon(self._hand_over, loop)
        gathered.append((pending, loop, waiter))
        return await waiter

    def _hand_over(self, loop: asyncio.AbstractEventLoop) -> None:
        items = self._gathered.pop(loop, [])
        try:
            self._submit(items)
        except RuntimeError as exc:  # closed meanwhile: nothing was recorded
            for _, _, waiter in items:
                _settle(waiter, exc)

    def record_now(self, pending: Pending) -> Written:
        future: Future[Written] = Future()
        self._submit([(pending, None, future)])
        return future.result(timeout=60)

    def _submit(self, items: list[_Item]) -> None:
        with self._lock:
            if self._closed:
                raise RuntimeError("the consent log is closed")
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="personvern-consent-log", daemon=True
                )
                self._thread.start()
            self._queue.put(items)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            thread = self._thread
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout=30)

    def _run(self) -> None:
        try:
            self._serve()
        finally:
            self._drop_connection()

    def _serve(self) -> None:
        stop = False
        while not stop:
            items = self._queue.get()
            if items is None:
                break
            batch = list(items)
            while len(batch) < self._max_batch:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.extend(more)
            for start in range(0, len(batch), self._max_batch):
                self._write_and_answer(batch[start : start + self._max_batch])

    def _write_and_answer(self, batch: list[_Item]) -> None:
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

    def _connection(self) -> Connection:
        """The writer's own connection, held for the thread's life.

        Checking one out per batch cost a pool ping (a round trip on PostgreSQL) and the
        sync setting each time; a held connection pays them once.
        """
        if self._conn is None:
            conn = self._runtime.engine.connect()
            if conn.dialect.name == "sqlite":
                # Only outside a transaction; see the module docstring. dbapi_connection is
                # typed optional; on a checked-out connection it is always set.
                conn.connection.dbapi_connection.execute(  # type: ignore[union-attr]
                    "PRAGMA synchronous=FULL"
                )
            else:
                # For the session, not per transaction; see the module docstring.
                conn.exec_driver_sql("SET synchronous_commit = on")
                conn.commit()
            self._conn = conn.execution_options(sqlite_immediate=True)
        return self._conn

    def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with suppress(Exception):
                conn.close()

    def _write_batch(self, batch: Sequence[Pending]) -> list[Written]:
        for attempt in (1, 2):
            conn = self._connection()
            try:
                if conn.dialect.name == "postgresql":
                    return self._apply_postgresql(conn, batch)
                with conn.begin():
                    return self._apply_each(conn, batch)
            except DBAPIError as exc:
                if exc.connection_invalidated and attempt == 1:
                    log.warning("consent log: the store connection was lost; retrying once")
                    self._drop_connection()
                    continue
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _apply_postgresql(self, conn: Connection, batch: Sequence[Pending]) -> list[Written]:
        """PostgreSQL: the common case, a consent id not seen before, in one statement.

        The statement runs on its own (autocommit: it is atomic by itself, and with
        ``synchronous_commit = on`` it returns once durable), so the common case is one
        round trip, where a transaction around it made three; each round trip is a hand-over
        of the interpreter lock between this thread and the event loop. Ids it finds taken,
        or that come twice in the batch, go the general way after it, in a transaction. Should
        that fail after the statement committed, the writer answers each choice again one by
        one, and the committed ones are then repeats: same receipt, nothing added.
        """
        counts: dict[str, int] = {}
        for pending in batch:
            counts[pending.choice.consent_id] = counts.get(pending.choice.consent_id, 0) + 1
        fresh = [i for i, p in enumerate(batch) if counts[p.choice.consent_id] == 1]
        answers: dict[int, Written] = {}
        if fresh:
            rows, written = [], {}
            for i in fresh:
                row, answer = first_entry(batch[i])
                rows.append(row)
                written[i] = answer
            # dbapi_connection is typed optional; on a checked-out connection it is set.
            raw: Any = conn.connection.dbapi_connection
            raw.autocommit = True
            try:
                with raw.cursor() as cursor:
                    cursor.execute(FIRST_ENTRIES, (json.dumps(rows),))
                    inserted = {row[0] for row in cursor.fetchall()}
            finally:
                raw.autocommit = False
            answers = {i: w for i, w in written.items() if w.consent_id in inserted}
        rest = [i for i in range(len(batch)) if i not in answers]
        if rest:
            with conn.begin():
                done = self._apply_each(conn, [batch[i] for i in rest])
            answers.update(zip(rest, done, strict=True))
        return [answers[i] for i in range(len(batch))]

    def _apply_each(self, conn: Connection, batch: Sequence[Pending]) -> list[Written]:
        # Plain driver calls (``exec_driver_sql`` with tuples goes straight to the DB-API's
        # executemany): the ORM's per-value type processing cost more CPU than the writes
        # themselves, and this thread shares the GIL with the event loop.
        sql = Statements.of(conn)
        ids = sorted({p.choice.consent_id for p in batch})
        states: dict[str, _State] = {}
        for row in conn.exec_driver_sql(sql.select_receipts(len(ids)), tuple(ids)):
            consent_id, receipt_id, entries, request, chained, updated_at = row
            states[consent_id] = _State(
                receipt_id, entries, request, chained, sql.read_time(updated_at)
            )
        entries_rows: list[tuple[Any, ...]] = []
        receipts: dict[str, tuple[str, datetime]] = {}
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
            entries_rows.append(
                (
                    choice.consent_id,
                    seq,
                    sql.time(pending.at),
                    choice.site,
                    choice.policy_version,
                    choice.texts_hash,
                    choice.method,
                    ",".join(choice.granted),
                    ",".join(choice.denied),
                    choice.gpc,
                    choice.language,
                    choice.page,
                    pending.ip_prefix,
                    pending.ua_family,
                    digest,
                    state.entry_hash,
                    chained,
                )
            )
            state.entries, state.request_hash, state.entry_hash = seq, digest, chained
            state.recorded_at, state.changed = pending.at, True
            receipts[choice.consent_id] = (choice.site, pending.at)
            answers.append(Written(choice.consent_id, state.receipt_id, seq, pending.at, True))
        new: list[tuple[Any, ...]] = []
        changed: list[tuple[Any, ...]] = []
        for cid, (site, at) in receipts.items():
            state = states[cid]
            if state.new:
                new.append(
                    (
                        cid,
                        state.receipt_id,
                        site,
                        sql.time(at),
                        sql.time(at),
                        state.entries,
                        state.request_hash,
                        state.entry_hash,
                    )
                )
            else:
                changed.append(
                    (sql.time(at), state.entries, state.request_hash, state.entry_hash, cid)
                )
        if new:
            sql.insert(conn, RECEIPTS.name, RECEIPT_COLUMNS, new)
        if changed:
            conn.exec_driver_sql(sql.update_receipts, changed)
        if entries_rows:
            sql.insert(conn, ENTRIES.name, ENTRY_COLUMNS, entries_rows)
        return answers
