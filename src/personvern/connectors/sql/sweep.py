"""The SQL connector's retention sweep: expired rows anonymized or deleted, set-based, in batches.

The retention engine (issue 7) hands over a :class:`~personvern.connectors.base.SweepRule`:
rows of ``collection`` whose ``date_field`` is before ``cutoff`` and that match ``where``
have outlived the rule (GDPR Art. 5(1)(e), storage limitation). How it runs:

- **Bounded memory, set-based.** The table is walked by primary key, ``WHERE key > last
  ORDER BY key LIMIT batch_size``; no list of all matching keys is ever held. Each batch
  is one transaction: one ``UPDATE … WHERE key IN (…)`` when every mask is a constant
  (``null_rewrite``, ``string_rewrite``), else one ``executemany`` of the changed values;
  for ``delete``, the children first, then one ``DELETE``.
- **Resumable.** An anonymized row no longer matches: the query asks for rows where some
  field to mask is not yet masked (``IS NOT NULL``, ``<> 'MASKED'``), and each strategy's
  own ``is_masked`` decides the rest (``hmac``, random rewrites). A deleted row is gone. A
  batch that fails rolls back alone; the next run picks up what is left.
- **Holds.** Fields other rules keep (``rule.holds``) are never changed; a delete on a
  collection with held fields becomes an anonymize of the rest. People under a legal hold
  (``rule.exclude``) are found by the dataset's identities, like an access request
  (:mod:`.finding`), and their rows are counted as held and left alone.
- **Children of deleted rows** are treated the way erasure treats them (:mod:`.erasure`):
  a reference that may be NULL and is not held is set to NULL (the child row stays, under
  its own rule); a child that cannot lose its parent is deleted with it, unless the child
  is held or belongs to a held person, in which case the parent is kept.
- **Dry run.** Counts, a few samples with every value masked, and the oldest date kept;
  nothing is written.

Date columns without a time zone are read as Europe/Oslo wall-clock time (the shop's own).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Date,
    DateTime,
    Engine,
    and_,
    bindparam,
    false,
    func,
    select,
    update,
)

from personvern.connectors.base import Fatal, Hold, SweepResult, SweepRule
from personvern.connectors.masking import (
    MaskingContext,
    MaskingStrategy,
)
from personvern.connectors.sql import sweep_delete, sweep_masks
from personvern.connectors.sql.finding import find
from personvern.connectors.sql.schema import BoundCollection, BoundDataset

OSLO = ZoneInfo("Europe/Oslo")
SAMPLES = 3
REDACTED = "•••"

Key = tuple[Any, ...]


@dataclass(frozen=True)
class Limits:
    """From the connector's settings."""

    batch_size: int
    max_rows: int  # per person, when a held person's rows are looked up
    identity_types: frozenset[str]


@dataclass(frozen=True)
class _Span:
    """One batch: the condition it was selected by and its first and last key."""

    pending: ColumnElement[bool]
    first: Any
    last: Any
    held: int  # rows of the batch held back (then the key range cannot be used alone)


@dataclass
class _Tally:
    matched: int = 0
    deleted: int = 0
    anonymized: int = 0
    held: int = 0
    kept: int = 0  # rows past their time that held rows refer to
    unlinked: dict[str, int] = field(default_factory=dict)  # child → references set to NULL
    children: dict[str, int] = field(default_factory=dict)  # child → rows deleted with parents
    oldest_held: Any = None
    samples: list[Mapping[str, str]] = field(default_factory=list)

    def note_held(self, value: Any) -> None:
        if value is not None and (self.oldest_held is None or value < self.oldest_held):
            self.oldest_held = value


def sweep(
    engine: Engine,
    bound: BoundDataset,
    rule: SweepRule,
    context: MaskingContext,
    limits: Limits,
    *,
    dry_run: bool,
) -> SweepResult:
    """Apply ``rule`` to its collection; see the module's docstring for how."""
    bound.masking_ok()
    coll = _collection(bound, rule)
    key = coll.column(coll.key[0])
    date_column = _column(coll, rule.date_field, "date_field")
    notes: list[str] = []
    held_fields = _held_fields(coll, rule.holds)
    action = rule.action
    if action == "delete" and held_fields:
        action = "anonymize"
        notes.append(
            f"{coll.name}: rows kept because another rule holds {', '.join(sorted(held_fields))}; "
            "the other fields were masked instead"
        )
    masks = sweep_masks.masks(coll, rule, held_fields, notes) if action == "anonymize" else {}
    cutoff = _cutoff_for(date_column, rule.cutoff)
    scope = and_(date_column < cutoff, *_where(coll, rule.where))
    pending = and_(scope, sweep_masks.unmasked(coll, masks)) if action == "anonymize" else scope
    tally = _Tally()
    with engine.connect() as conn:
        excluded = _excluded(conn, bound, rule, limits)
        total = conn.execute(select(func.count()).select_from(coll.table)).scalar_one()
        oldest = conn.execute(
            select(func.min(date_column)).where(
                and_(date_column >= cutoff, *_where(coll, rule.where))
            )
        ).scalar_one()
    if action == "anonymize" and not masks:
        notes.append(f"{coll.name}: nothing to mask (every personal field is held or read-only)")
        pending = false()
    constant = sweep_masks.constant_values(coll, masks, context) if masks else None
    # With constant masks the query alone says which rows change: the masked columns need
    # not travel, except to show which ones a dry run would mask.
    shown = sweep_masks.mask_columns(coll, masks) if dry_run or constant is None else []
    columns = [key, date_column, *(coll.column(c) for c in shown)]
    deleting = sweep_delete.Context(bound, _holds_by_collection(rule.holds), excluded)
    last: Any = None
    while True:
        batch = select(*dict.fromkeys(columns)).where(pending).order_by(key)
        if last is not None:
            batch = batch.where(key > last)
        batch = batch.limit(limits.batch_size)
        with engine.connect() if dry_run else engine.begin() as conn:
            rows = [dict(r) for r in conn.execute(batch).mappings()]
            if not rows:
                break
            last = rows[-1][key.name]
            todo = _hold_back(rows, key.name, date_column.name, excluded.get(coll.name), tally)
            if action == "anonymize":
                span = _Span(pending, rows[0][key.name], last, len(rows) - len(todo))
                done = _anonymize(conn, coll, todo, masks, constant, span, context, tally, dry_run)
            else:
                done = _delete(conn, coll, todo, deleting, date_column.name, tally, dry_run)
            if len(tally.samples) < SAMPLES and done:
                # Read before the change is committed (for a dry run: nothing changes).
                tally.samples.extend(_samples(rows, key.name, done, SAMPLES - len(tally.samples)))
        if len(rows) < limits.batch_size:
            break
    notes.extend(_tally_notes(coll, tally))
    return SweepResult(
        rule=rule.rule,
        collection=coll.name,
        matched=tally.matched,
        deleted=tally.deleted,
        anonymized=tally.anonymized,
        held=tally.held,
        total=int(total),
        oldest_kept=_earliest(oldest, tally.oldest_held),
        samples=tuple(tally.samples),
        notes=tuple(notes),
    )


# --- what the rule means here ---------------------------------------------------------------


def _collection(bound: BoundDataset, rule: SweepRule) -> BoundCollection:
    coll = bound.collections.get(rule.collection)
    if coll is None:
        raise Fatal(
            f"the retention rule {rule.rule} names collection {rule.collection!r}, which the "
            f"dataset does not have ({', '.join(sorted(bound.collections))}); fix the target"
        )
    if len(coll.key) != 1:
        raise Fatal(
            f"{coll.name} needs a single-column primary key to be swept in batches; mark it "
            "with fides_meta.primary_key: true"
        )
    return coll


def _column(coll: BoundCollection, name: str, what: str) -> Column[Any]:
    if name not in coll.table.c:
        raise Fatal(
            f"{coll.name} has no column {name!r} (the rule's {what}); fix the retention target"
        )
    return coll.column(name)


def _cutoff_for(column: Column[Any], cutoff: datetime) -> Any:
    """The cutoff as the column holds dates: naive Oslo time, or a date."""
    kind = column.type
    if isinstance(kind, DateTime) and not kind.timezone and cutoff.tzinfo is not None:
        return cutoff.astimezone(OSLO).replace(tzinfo=None)
    if isinstance(kind, Date) and not isinstance(kind, DateTime):
        return (cutoff.astimezone(OSLO) if cutoff.tzinfo else cutoff).date()
    return cutoff


def _where(coll: BoundCollection, where: Mapping[str, Sequence[str]]) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = []
    for name, values in where.items():
        column = _column(coll, name, "where")
        out.append(column.in_([coll.coerce(name, v) for v in values]))
    return out


def _holds_by_collection(holds: Iterable[Hold]) -> dict[str, frozenset[str]]:
    out: dict[str, set[str]] = {}
    for hold in holds:
        out.setdefault(hold.collection, set()).update(hold.fields or ("*",))
    return {name: frozenset(fields) for name, fields in out.items()}


def _held_fields(coll: BoundCollection, holds: Iterable[Hold]) -> frozenset[str]:
    held: set[str] = set()
    for hold in holds:
        if hold.collection == coll.name:
            held.update(hold.fields or ("*",))
    return frozenset(held)


def _excluded(
    conn: Connection, bound: BoundDataset, rule: SweepRule, limits: Limits
) -> dict[str, set[Key]]:
    """The keys of every row that belongs to a person under a legal hold, per collection."""
    out: dict[str, set[Key]] = {}
    for identity in rule.exclude:
        values = {k: v for k, v in identity.values().items() if k in limits.identity_types}
        if not values:
            continue
        plan = bound.spec.graph.plan(values)
        found = find(
            conn, bound, plan, values, batch_size=limits.batch_size, max_rows=limits.max_rows
        )
        for name, rows in found.rows.items():
            out.setdefault(name, set()).update(rows)
    return out


def _hold_back(
    rows: list[dict[str, Any]],
    key: str,
    date_name: str,
    excluded: set[Key] | None,
    tally: _Tally,
) -> list[dict[str, Any]]:
    if not excluded:
        return rows
    todo = []
    for row in rows:
        if (row[key],) in excluded:
            tally.matched += 1
            tally.held += 1
            tally.note_held(row[date_name])
        else:
            todo.append(row)
    return todo


# --- anonymize ------------------------------------------------------------------------------


def _anonymize(
    conn: Connection,
    coll: BoundCollection,
    rows: list[dict[str, Any]],
    masks: Mapping[str, MaskingStrategy],
    constant: Mapping[str, Any] | None,
    span: _Span,
    context: MaskingContext,
    tally: _Tally,
    dry_run: bool,
) -> list[Key]:
    """Mask the rows that still need it; the keys of those (that would be) changed."""
    key = coll.key[0]
    if constant is not None:  # the query selected exactly the rows that change
        changes: list[tuple[Any, dict[str, Any]]] = [(row[key], {}) for row in rows]
    else:
        changes = [
            (row[key], new)
            for row in rows
            if (new := sweep_masks.masked_row(coll, row, masks, context))
        ]
    tally.matched += len(changes)
    if dry_run or not changes:
        return [(k,) for k, _ in changes]
    table = coll.table
    if constant is not None:
        # Set-based: one statement over the batch's key range, which in this transaction
        # holds exactly the rows selected (no list of keys to send).
        column = table.c[key]
        condition: ColumnElement[bool]
        if span.held:  # the batch has held rows: name the others (a short list, seldom)
            condition = column.in_([k for k, _ in changes])
        else:
            condition = and_(span.pending, column >= span.first, column <= span.last)
        statement = update(table).where(condition).values(dict(constant))
        conn.execute(statement)
    else:
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for k, new in changes:
            names = tuple(sorted(new))
            groups.setdefault(names, []).append(
                {"k": k, **{f"v{i}": new[c] for i, c in enumerate(names)}}
            )
        for names, params in groups.items():
            statement = (
                update(table)
                .where(table.c[key] == bindparam("k"))
                .values({c: bindparam(f"v{i}") for i, c in enumerate(names)})
            )
            conn.execute(statement, params)
    tally.anonymized += len(changes)
    return [(k,) for k, _ in changes]


# --- delete ---------------------------------------------------------------------------------


def _delete(
    conn: Connection,
    coll: BoundCollection,
    rows: list[dict[str, Any]],
    context: sweep_delete.Context,
    date_name: str,
    tally: _Tally,
    dry_run: bool,
) -> list[Key]:
    key = coll.key[0]
    outcome = sweep_delete.delete_batch(
        conn, context, coll, [row[key] for row in rows], dry_run=dry_run
    )
    tally.matched += len(rows)
    tally.deleted += len(outcome.deleted)
    tally.kept += len(outcome.kept)
    for row in rows:
        if row[key] in outcome.kept:
            tally.note_held(row[date_name])
    for name, count in outcome.unlinked.items():
        tally.unlinked[name] = tally.unlinked.get(name, 0) + count
    for name, count in outcome.children.items():
        tally.children[name] = tally.children.get(name, 0) + count
    return [(k,) for k in outcome.deleted]


# --- the report -----------------------------------------------------------------------------


def _samples(rows: list[dict[str, Any]], key: str, done: list[Key], n: int) -> list[dict[str, str]]:
    """A few of the rows changed, every value masked: which columns, never what they held."""
    chosen = {k[0] for k in done[:n]}
    return [
        {name: ("" if value is None else REDACTED) for name, value in row.items()}
        for row in rows
        if row[key] in chosen
    ][:n]


def _tally_notes(coll: BoundCollection, tally: _Tally) -> list[str]:
    notes = []
    if tally.kept:
        notes.append(
            f"{coll.name}: {tally.kept} rows past their time kept, because held rows refer to them"
        )
    for name, count in sorted(tally.children.items()):
        notes.append(f"{name}: {count} rows deleted with the {coll.name} rows they belong to")
    for name, count in sorted(tally.unlinked.items()):
        notes.append(
            f"{name}: {count} rows no longer refer to deleted {coll.name} rows (set to NULL)"
        )
    return notes


def _earliest(*values: Any) -> datetime | None:
    found = [_as_datetime(v) for v in values if v is not None]
    return min(found) if found else None


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=OSLO)
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=OSLO)
    if isinstance(value, str):  # SQLite without a declared type hands back text
        return _as_datetime(datetime.fromisoformat(value))
    raise Fatal(f"the date field holds {type(value).__name__}, not a date; fix date_field")
