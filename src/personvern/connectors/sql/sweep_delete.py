"""Deleting one batch of expired rows, and what refers to them, the way erasure does.

For the rows a retention sweep deletes (:mod:`.sweep`), every collection that refers to
them — by a foreign key in the database, or a dataset reference to their primary key — is
handled first, as :mod:`.erasure` handles a person's rows:

- a reference that may be NULL and that no rule holds is set to NULL: the child row stays,
  to be swept under its own rule (an order outlives the customer account it came from);
- a child row that cannot lose its parent is deleted with it (an address with its
  account), and its own children are handled the same way;
- a child row that is held (another rule keeps fields of its collection, or it belongs to
  a person under a legal hold) keeps its parent: that parent is not deleted.

Everything runs in the caller's transaction, so a batch goes entirely or not at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, delete, select, update

from personvern.connectors.base import Fatal
from personvern.connectors.sql.schema import BoundCollection, BoundDataset, ForeignKey

Key = tuple[Any, ...]
_MAX_DEPTH = 16  # deeper chains of required children are a cycle in practice


@dataclass(frozen=True)
class Context:
    bound: BoundDataset
    held: Mapping[str, frozenset[str]]  # collection → fields other rules keep ("*": all)
    excluded: Mapping[str, set[Key]]  # collection → keys of rows of people under a hold


@dataclass
class Outcome:
    """What happened (or, in a dry run, would happen) to one batch."""

    deleted: list[Any] = field(default_factory=list)  # keys of the batch's rows that go
    kept: set[Any] = field(default_factory=set)  # keys kept because held rows refer to them
    unlinked: dict[str, int] = field(default_factory=dict)  # child → references set to NULL
    children: dict[str, int] = field(default_factory=dict)  # child → rows deleted with parents


@dataclass
class _Step:
    fk: ForeignKey
    child: BoundCollection
    plan: _Plan | None  # None: set the reference to NULL


@dataclass
class _Plan:
    coll: BoundCollection
    keys: list[Any]
    steps: list[_Step]


def delete_batch(
    conn: Connection, context: Context, coll: BoundCollection, keys: list[Any], *, dry_run: bool
) -> Outcome:
    """Delete the rows of ``coll`` with these (single-column) keys, children first."""
    plan, kept = _plan(conn, context, coll, keys, 0)
    outcome = Outcome(deleted=list(plan.keys), kept=kept)
    if not dry_run:
        gone = _run(conn, plan, outcome)
        if gone != len(plan.keys):
            # Someone else deleted some of them meanwhile; report what this run did.
            outcome.deleted = outcome.deleted[:gone]
    return outcome


def references_to(bound: BoundDataset, coll: BoundCollection) -> list[ForeignKey]:
    """Who refers to ``coll``'s rows: database foreign keys and dataset references to its key."""
    out = [fk for fk in bound.foreign_keys if fk.parent == coll.name and fk.child != coll.name]
    for edge in bound.spec.graph.edges:
        ends = (
            (edge.src, edge.src_field, edge.dst, edge.dst_field),
            (edge.dst, edge.dst_field, edge.src, edge.src_field),
        )
        for parent, parent_field, child, child_field in ends:
            other = bound.collections.get(child)
            if parent != coll.name or other is None or child == parent:
                continue
            if parent_field in coll.key and child_field not in other.key:
                fk = ForeignKey(child, child_field, parent, parent_field)
                if fk not in out:
                    out.append(fk)
    return out


def _plan(
    conn: Connection, context: Context, coll: BoundCollection, keys: list[Any], depth: int
) -> tuple[_Plan, set[Any]]:
    if depth > _MAX_DEPTH:
        raise Fatal(
            f"the rows that must go with {coll.name} refer to each other in a cycle; "
            "anonymize instead of deleting, or break the cycle with erase_after"
        )
    candidates = list(keys)
    kept: set[Any] = set()
    while candidates:
        steps: list[_Step] = []
        keep: set[Any] = set()
        for fk in references_to(context.bound, coll):
            step = _step(conn, context, coll, fk, candidates, keep, depth)
            if step is not None:
                steps.append(step)
        if not keep:
            return _Plan(coll, candidates, steps), kept
        kept |= keep
        candidates = [k for k in candidates if k not in keep]
    return _Plan(coll, [], []), kept


def _step(
    conn: Connection,
    context: Context,
    coll: BoundCollection,
    fk: ForeignKey,
    candidates: list[Any],
    keep: set[Any],
    depth: int,
) -> _Step | None:
    child = context.bound.collections[fk.child]
    if fk.parent_column != coll.key[0]:
        raise Fatal(
            f"{fk.child}.{fk.column} refers to {coll.name}.{fk.parent_column}, which is not its "
            "primary key; a sweep can only delete rows referred to by their key"
        )
    held = context.held.get(child.name, frozenset())
    column = child.column(fk.column)
    if column.nullable and fk.column not in held and "*" not in held:
        return _Step(fk, child, None)
    if len(child.key) != 1:
        raise Fatal(f"{child.name} needs a single-column primary key to be swept")
    child_key = child.column(child.key[0])
    rows = conn.execute(select(child_key, column).where(column.in_(candidates))).all()
    if not rows:
        return None
    if held:
        keep.update(parent for _, parent in rows)  # a kept child keeps its parent
        return None
    excluded = context.excluded.get(child.name, set())
    keep.update(parent for key, parent in rows if (key,) in excluded)
    going = [(key, parent) for key, parent in rows if parent not in keep]
    plan, child_kept = _plan(conn, context, child, [key for key, _ in going], depth + 1)
    keep.update(parent for key, parent in going if key in child_kept)
    return _Step(fk, child, plan)


def _run(conn: Connection, plan: _Plan, outcome: Outcome) -> int:
    if not plan.keys:
        return 0
    for step in plan.steps:
        child = step.fk.child
        if step.plan is None:
            column = step.child.table.c[step.fk.column]
            changed = conn.execute(
                update(step.child.table).where(column.in_(plan.keys)).values({column.name: None})
            ).rowcount
            if changed:
                outcome.unlinked[child] = outcome.unlinked.get(child, 0) + changed
        else:
            gone = _run(conn, step.plan, outcome)
            if gone:
                outcome.children[child] = outcome.children.get(child, 0) + gone
    key = plan.coll.column(plan.coll.key[0])
    return int(conn.execute(delete(plan.coll.table).where(key.in_(plan.keys))).rowcount)
