"""The audit log: the chain holds, and any change, deletion or reordering is named."""

from __future__ import annotations

import itertools
import json
import threading

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from personvern.audit.log import GENESIS
from personvern.runtime import Runtime


def _fill(runtime: Runtime, n: int = 5) -> None:
    for i in range(n):
        runtime.audit.record(
            actor="system",
            action="request.created",
            subject=f"person{i}@example.no",
            object_type="request",
            object_id=str(i),
            details={"step": i, "note": "æøå"},
        )


def _drop_guards(runtime: Runtime) -> None:
    """What someone with write access to the database would do first."""
    with runtime.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_entries DISABLE TRIGGER USER"))
        else:
            conn.execute(text("DROP TRIGGER audit_entries_no_update"))
            conn.execute(text("DROP TRIGGER audit_entries_no_delete"))


def test_empty_log_is_intact(runtime: Runtime) -> None:
    result = runtime.audit.verify()
    assert result.ok
    assert result.entries == 0
    assert result.head == GENESIS


def test_chain_links_each_entry_to_the_one_before(runtime: Runtime) -> None:
    _fill(runtime)
    entries = runtime.audit.entries()
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0].prev_hash == GENESIS
    for before, after in itertools.pairwise(entries):
        assert after.prev_hash == before.entry_hash
    result = runtime.audit.verify()
    assert result.ok, result.describe()
    assert result.entries == 5
    assert runtime.audit.head() == (5, entries[-1].entry_hash)


def test_people_are_stored_as_keyed_hashes_only(runtime: Runtime) -> None:
    _fill(runtime, 2)
    with runtime.engine.connect() as conn:
        dump = json.dumps(
            [list(map(str, r)) for r in conn.execute(text("SELECT * FROM audit_entries"))]
        )
    assert "person0@example.no" not in dump
    found = runtime.audit.entries(subject="  Person0@Example.NO ")
    assert [e.object_id for e in found] == ["0"]


def test_the_database_refuses_update_and_delete(runtime: Runtime) -> None:
    _fill(runtime, 2)
    for statement in (
        "UPDATE audit_entries SET actor = 'mallory' WHERE seq = 1",
        "DELETE FROM audit_entries WHERE seq = 2",
    ):
        with pytest.raises(DBAPIError, match="append-only"), runtime.engine.begin() as conn:
            conn.execute(text(statement))
    assert runtime.audit.verify().ok


@pytest.mark.parametrize(
    ("tamper", "first_bad", "reason"),
    [
        ("UPDATE audit_entries SET actor = 'mallory' WHERE seq = 3", 3, "changed"),
        ("UPDATE audit_entries SET details = '{\"step\": 9}' WHERE seq = 2", 2, "changed"),
        ("UPDATE audit_entries SET at = at + interval '1 second' WHERE seq = 4", 4, "changed"),
        ("DELETE FROM audit_entries WHERE seq = 2", 2, "deleted"),
        ("DELETE FROM audit_entries WHERE seq = 1", 1, "deleted"),
        ("DELETE FROM audit_entries WHERE seq >= 4", 4, "deleted"),
        # Reordering: entries 2 and 3 swap places (their numbers are exchanged).
        (
            "UPDATE audit_entries SET seq = CASE seq WHEN 2 THEN 3 WHEN 3 THEN 2 END "
            "WHERE seq IN (2, 3)",
            2,
            "reordered",
        ),
    ],
)
def test_tampering_is_detected_and_named(
    runtime: Runtime, backend: str, tamper: str, first_bad: int, reason: str
) -> None:
    _fill(runtime)
    _drop_guards(runtime)
    if backend == "sqlite":
        tamper = tamper.replace("at + interval '1 second'", "datetime(at, '+1 second')")
    with runtime.engine.begin() as conn:
        if "CASE seq" in tamper:
            # The primary key is checked per row; go through a free number.
            conn.execute(text("UPDATE audit_entries SET seq = 1000 WHERE seq = 2"))
            conn.execute(text("UPDATE audit_entries SET seq = 2 WHERE seq = 3"))
            conn.execute(text("UPDATE audit_entries SET seq = 3 WHERE seq = 1000"))
        else:
            conn.execute(text(tamper))
    result = runtime.audit.verify()
    assert not result.ok
    assert result.first_bad == first_bad
    assert reason in (result.reason or "")
    assert f"#{first_bad}" in result.describe()


def test_expected_head_catches_a_rewritten_log(runtime: Runtime) -> None:
    _fill(runtime, 3)
    seq, digest = runtime.audit.head()
    assert runtime.audit.verify(expect_head=f"{seq}:{digest}").ok
    _drop_guards(runtime)
    with runtime.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_entries WHERE seq = 3"))
        prev = conn.execute(text("SELECT entry_hash FROM audit_entries WHERE seq = 2")).scalar()
        conn.execute(text("UPDATE audit_head SET seq = 2, entry_hash = :h"), {"h": prev})
    assert runtime.audit.verify().ok  # consistent in itself…
    result = runtime.audit.verify(expect_head=f"{seq}:{digest}")
    assert not result.ok  # …but not the log whose head was taken
    assert "head you gave" in (result.reason or "")


def test_a_rolled_back_transaction_leaves_no_entry(runtime: Runtime) -> None:
    _fill(runtime, 1)

    def failing_work() -> None:
        with runtime.audit.session() as session:
            runtime.audit.append(session, actor="system", action="x")
            raise RuntimeError("the work this entry describes failed")

    with pytest.raises(RuntimeError):
        failing_work()
    assert runtime.audit.head()[0] == 1
    assert runtime.audit.verify().ok


def test_concurrent_appends_never_fork_the_chain(runtime: Runtime) -> None:
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(10):
                runtime.audit.record(actor=f"worker{n}", action="tick", details={"i": i})
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    result = runtime.audit.verify()
    assert result.ok, result.describe()
    assert result.entries == 40
