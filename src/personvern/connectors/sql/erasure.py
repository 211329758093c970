"""Erasing a person's rows: masking field by field, deleting rows, keeping what is held.

For each collection where the person was found:

- rows are **deleted** when the plan says ``delete`` or the collection carries fideslang's
  collection-level ``masking_strategy_override: {strategy: delete}`` (as Fides does);
- otherwise every personal field (a ``user.*`` data category) that is not a primary key,
  ``read_only`` or held is **masked** with its ``masking_strategy_override``, else with the
  default for ``anonymize``: ``null_rewrite`` where the column allows NULL, ``string_rewrite``
  where it does not (:mod:`personvern.connectors.masking`);
- a :class:`~personvern.connectors.base.Hold` (GDPR Art. 17(3)(b), e.g. bokføringsloven
  § 13) keeps its fields untouched and turns a delete of its rows into masking the rest; it
  is reported back as kept, with its ground and end date.

Foreign keys hold throughout: masks are written first, then deletes run children before
parents (the database's foreign keys, the dataset's references to primary keys, and
``erase_after``); a kept row that points at a parent being deleted gets that reference set
to NULL first, or — when it cannot be NULL or is held — the parent is masked instead of
deleted. Only values that change are written and counted, so a second run changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, tuple_, update

from personvern.connectors.base import ErasurePlan, ErasureResult, Fatal, Hold
from personvern.connectors.masking import (
    MaskingContext,
    MaskingError,
    MaskingStrategy,
    load_json,
    mask_inside,
)
from personvern.connectors.sql.finding import Found, Row
from personvern.connectors.sql.schema import BoundCollection, BoundDataset


@dataclass
class _Plan:
    coll: BoundCollection
    delete: bool
    held: frozenset[str]  # field names kept; "*" for the whole row
    masks: dict[str, MaskingStrategy] = field(default_factory=dict)
    null_columns: set[str] = field(default_factory=set)


def erase(
    conn: Connection,
    bound: BoundDataset,
    found: Found,
    plan: ErasurePlan,
    context: MaskingContext,
    *,
    batch_size: int,
) -> ErasureResult:
    bound.masking_ok()
    notes = list(found.notes)
    holds = _holds(bound, plan.holds, notes)
    plans: dict[str, _Plan] = {}
    for name in found.rows:
        coll = bound.collections[name]
        if not coll.key:
            raise Fatal(
                f"{name} has no primary key, so its rows cannot be changed one by one; mark "
                "the key field with fides_meta.primary_key: true"
            )
        held = frozenset(f for h in holds.get(name, ()) for f in (h.fields or ("*",)))
        wants_delete = plan.action == "delete" or coll.spec.delete_rows
        p = _Plan(coll, wants_delete and not held, held)
        if wants_delete and held:
            notes.append(
                f"{name}: rows kept because of a hold; the fields it does not hold were masked"
            )
        if not p.delete:
            p.masks = _masks(p)
        plans[name] = p
    _keep_references(bound, found, plans, notes)

    anonymized: dict[str, int] = {}
    for name, p in plans.items():
        if not p.delete:
            changed = _mask(conn, p, found.rows[name], context, batch_size)
            if changed:
                anonymized[name] = changed
    deleted: dict[str, int] = {}
    for name in _delete_order(bound, [n for n, p in plans.items() if p.delete]):
        gone = _delete(conn, plans[name].coll, list(found.rows[name]), batch_size)
        if gone:
            deleted[name] = gone
    kept = tuple(h for name in plans for h in holds.get(name, ()))
    return ErasureResult(deleted=deleted, anonymized=anonymized, kept=kept, notes=tuple(notes))


def erase_columns(bound: BoundDataset) -> dict[str, tuple[str, ...]]:
    """Columns erasure needs besides the dataset's: both ends of every foreign key."""
    extra: dict[str, list[str]] = {}
    for fk in bound.foreign_keys:
        extra.setdefault(fk.child, []).append(fk.column)
        extra.setdefault(fk.parent, []).append(fk.parent_column)
    return {k: tuple(dict.fromkeys(v)) for k, v in extra.items()}


def _holds(bound: BoundDataset, holds: Sequence[Hold], notes: list[str]) -> dict[str, list[Hold]]:
    """Holds by collection, each narrowed to the fields this dataset has."""
    out: dict[str, list[Hold]] = {}
    for hold in holds:
        coll = bound.collections.get(hold.collection)
        if coll is None:
            notes.append(f"a hold names {hold.collection}, which is not a collection here")
            continue
        unknown = [f for f in hold.fields if coll.spec.field(f) is None]
        if unknown:
            notes.append(f"a hold names {', '.join(unknown)} in {hold.collection}, which it lacks")
        fields = tuple(f for f in hold.fields if coll.spec.field(f) is not None)
        if hold.fields and not fields:
            continue
        out.setdefault(hold.collection, []).append(
            Hold(hold.collection, fields, hold.ground, hold.until)
        )
    return out


def _masks(p: _Plan) -> dict[str, MaskingStrategy]:
    if "*" in p.held:
        return {}
    return {
        f.name: p.coll.strategy_for(f)
        for f in p.coll.spec.fields
        if f.personal
        and not f.primary_key
        and not f.read_only
        and f.column not in p.coll.key
        and f.name not in p.held
    }


def _keep_references(
    bound: BoundDataset, found: Found, plans: dict[str, _Plan], notes: list[str]
) -> None:
    """Rows that stay must not point at rows that go: null the reference, or keep the parent."""
    changed = True
    while changed:
        changed = False
        for fk in bound.foreign_keys:
            parent, child = plans.get(fk.parent), plans.get(fk.child)
            if parent is None or not parent.delete or child is None or child.delete:
                continue
            going = {r[fk.parent_column] for r in found.rows[fk.parent].values()}
            if not any(r.get(fk.column) in going for r in found.rows[fk.child].values()):
                continue
            spec = child.coll.spec.field(fk.column)
            held = "*" in child.held or (spec is not None and spec.name in child.held)
            if child.coll.column(fk.column).nullable and not held:
                child.null_columns.add(fk.column)
                continue
            parent.delete = False
            parent.masks = _masks(parent)
            notes.append(
                f"{fk.parent}: rows masked instead of deleted, because kept rows of "
                f"{fk.child} refer to them through {fk.column}"
            )
            changed = True


def _mask(
    conn: Connection,
    p: _Plan,
    rows: Mapping[tuple[Any, ...], Row],
    context: MaskingContext,
    batch_size: int,
) -> int:
    groups: dict[tuple[str, ...], list[tuple[tuple[Any, ...], dict[str, Any]]]] = {}
    for key, row in rows.items():
        new = _masked_row(p, row, context)
        if new:
            groups.setdefault(tuple(sorted(new)), []).append((key, new))
    table = p.coll.table
    count = 0
    for columns, items in groups.items():
        statement = (
            update(table)
            .where(and_(*(table.c[k] == bindparam(f"k{i}") for i, k in enumerate(p.coll.key))))
            .values({c: bindparam(f"v{i}") for i, c in enumerate(columns)})
        )
        params = [
            {
                **{f"k{i}": key[i] for i in range(len(p.coll.key))},
                **{f"v{i}": new[c] for i, c in enumerate(columns)},
            }
            for key, new in items
        ]
        for chunk in _chunks(params, batch_size):
            conn.execute(statement, chunk)
        count += len(items)
    return count


def _masked_row(p: _Plan, row: Row, context: MaskingContext) -> dict[str, Any]:
    """The columns of ``row`` that change, with their new values."""
    new: dict[str, Any] = {}
    documents: dict[str, Any] = {}
    for name, strategy in p.masks.items():
        spec = p.coll.spec.field(name)
        assert spec is not None
        try:
            if len(spec.path) == 1:
                old = row[spec.column]
                if not strategy.is_masked(old):
                    new[spec.column] = strategy.mask(old, context)
                continue
            if spec.column not in documents:
                documents[spec.column] = load_json(row[spec.column])
            mask_inside(documents[spec.column], spec.path[1:], strategy, context)
        except MaskingError as exc:
            raise Fatal(f"cannot mask {p.coll.name}.{name}: {exc}") from None
    for column, document in documents.items():
        old = row[column]
        value = json.dumps(document, ensure_ascii=False) if isinstance(old, str) else document
        if document is not None and load_json(old) != document:
            new[column] = value
    for column in p.null_columns:
        if row.get(column) is not None:
            new[column] = None
    return {c: v for c, v in new.items() if v != row.get(c) or (v is None) != (row.get(c) is None)}


def _delete(
    conn: Connection, coll: BoundCollection, keys: list[tuple[Any, ...]], batch_size: int
) -> int:
    table = coll.table
    count = 0
    for chunk in _chunks(keys, batch_size):
        if len(coll.key) == 1:
            condition = table.c[coll.key[0]].in_([k[0] for k in chunk])
        else:
            condition = tuple_(*(table.c[k] for k in coll.key)).in_(chunk)
        count += conn.execute(delete(table).where(condition)).rowcount
    return count


def _delete_order(bound: BoundDataset, names: list[str]) -> list[str]:
    """Children before parents, and ``erase_after`` honoured; a cycle is an error."""
    wanted = set(names)
    before: dict[str, set[str]] = {n: set() for n in names}  # n → what must go first
    for fk in bound.foreign_keys:
        if fk.child in wanted and fk.parent in wanted:
            before[fk.parent].add(fk.child)
    for edge in bound.spec.graph.edges:
        if edge.src not in wanted or edge.dst not in wanted:
            continue
        if edge.src_field in bound.collections[edge.src].key:
            before[edge.src].add(edge.dst)  # dst refers to src's key: dst is the child
        elif edge.dst_field in bound.collections[edge.dst].key:
            before[edge.dst].add(edge.src)
    for name in names:
        before[name] |= set(bound.spec.graph.erase_after.get(name, ())) & wanted
    order: list[str] = []
    while before:
        ready = sorted(n for n, deps in before.items() if not deps - set(order))
        if not ready:
            raise Fatal(
                f"cannot order the deletes of {', '.join(sorted(before))}: they refer to each "
                "other; delete fewer of them (anonymize) or break the cycle with erase_after"
            )
        order.append(ready[0])
        del before[ready[0]]
    return order


def _chunks(items: Sequence[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])
