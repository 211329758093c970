"""Finding a person's rows: the traversal plan run as batched, indexed ``IN`` queries.

Each step of the plan (:mod:`personvern.connectors.traversal`) queries one table by each of
its inputs — the identity value, or the values found upstream (``orders.id`` for
``order_lines.order_id``) — in chunks of ``batch_size`` bound parameters. Rows found by
any input belong to the person (Fides joins a collection's inputs with OR too). No query
runs without such a condition, so no table is ever read whole, and the columns asked for
should be indexed (the demo shop's are; ``check`` cannot know your database's plans).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from personvern.connectors.base import Fatal, Record
from personvern.connectors.sql.schema import NO_MATCH, BoundDataset, nested_value, plain
from personvern.connectors.traversal import TraversalPlan

Row = dict[str, Any]


@dataclass
class Found:
    """The person's rows per collection, keyed by primary key (or the whole row)."""

    rows: dict[str, dict[tuple[Any, ...], Row]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def count(self) -> int:
        return sum(len(r) for r in self.rows.values())


def find(
    conn: Connection,
    bound: BoundDataset,
    plan: TraversalPlan,
    identities: Mapping[str, str],
    *,
    batch_size: int,
    max_rows: int,
    extra_columns: Mapping[str, tuple[str, ...]] | None = None,
) -> Found:
    """Run ``plan`` for these identity values; ``extra_columns`` adds columns per table."""
    found = Found()
    for name in plan.unreached:
        found.notes.append(
            f"{name} was not searched: no identity of this request leads to it "
            f"(it is found by {_seeds_of(bound, name)})"
        )
    for step in plan.steps:
        coll = bound.collections.get(step.collection)
        if coll is None:
            continue
        columns = coll.selected((extra_columns or {}).get(step.collection, ()))
        rows: dict[tuple[Any, ...], Row] = {}
        for inp in step.inputs:
            if inp.identity is not None:
                raw: Iterable[Any] = [identities[inp.identity]]
            else:
                assert inp.source is not None
                assert inp.source_field is not None
                raw = (r[inp.source_field] for r in found.rows.get(inp.source, {}).values())
            values = _distinct(coll.coerce(inp.field, v) for v in raw)
            target = coll.column(inp.field)
            for chunk in _chunks(values, batch_size):
                query = select(*columns).where(target.in_(chunk))
                for row in conn.execute(query).mappings():
                    data = dict(row)
                    key = coll.key_of(data) if coll.key else tuple(data.values())
                    rows[key] = data
            if len(rows) > max_rows:
                raise Fatal(
                    f"more than {max_rows} rows of {coll.name} match this person, which is "
                    "more than one person has; check the dataset's identities and "
                    "references (or raise max_rows if this is right)"
                )
        if rows:
            found.rows[coll.name] = rows
    return found


def records(bound: BoundDataset, found: Found) -> list[Record]:
    """The rows as records: every field the dataset names, with its data category."""
    out: list[Record] = []
    for name, rows in found.rows.items():
        coll = bound.collections[name]
        categories = {
            f.name: c for f in coll.spec.fields if (c := coll.spec.category_of(f)) is not None
        }
        for row in rows.values():
            values = {
                f.name: plain(
                    row[f.column] if len(f.path) == 1 else nested_value(row[f.column], f.path[1:])
                )
                for f in coll.spec.fields
            }
            out.append(Record(name, values, categories, coll.key_text(row)))
    return out


def _seeds_of(bound: BoundDataset, name: str) -> str:
    """The identity types that would lead to collection ``name``."""
    graph = bound.spec.graph
    kinds = [
        kind
        for kind in sorted(graph.identity_types)
        if any(s.collection == name for s in graph.plan([kind]).steps)
    ]
    return " or ".join(kinds) or "no identity"


def _distinct(values: Iterable[Any]) -> list[Any]:
    return list(dict.fromkeys(v for v in values if v is not None and v is not NO_MATCH))


def _chunks(values: Sequence[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(values), size):
        yield list(values[start : start + size])
