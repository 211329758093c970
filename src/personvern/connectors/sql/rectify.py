"""Correcting a person's data (GDPR Art. 16) in the rows found for them.

A change names what to correct in one of two ways:

- ``collection.field`` — that field in that table (``customers.phone``);
- a fideslang data category — every field annotated with it (``user.contact.phone_number``
  corrects ``customers.phone``, ``addresses.phone`` and ``orders.billing_phone`` alike),
  which is how a request that knows nothing of the tables says it.

Primary keys, ``read_only`` fields and fields inside JSON documents are not corrected here;
asking for one, or for a key that matches nothing, is a :class:`Fatal` error that lists the
valid keys. Only rows whose value differs are written and counted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, and_, bindparam, update

from personvern.connectors.base import Fatal, RectifyResult
from personvern.connectors.sql.finding import Found
from personvern.connectors.sql.schema import NO_MATCH, BoundDataset


def targets(bound: BoundDataset, changes: Mapping[str, Any]) -> dict[tuple[str, str], Any]:
    """``(collection, column) → new value`` for each change; raises on an unknown key."""
    out: dict[tuple[str, str], Any] = {}
    for key, value in changes.items():
        hits: list[tuple[str, str]] = []
        for coll in bound.collections.values():
            for spec in coll.spec.fields:
                named = key == f"{coll.name}.{spec.name}"
                if named or key in spec.categories:
                    if len(spec.path) > 1 or spec.primary_key or spec.read_only:
                        if named:
                            raise Fatal(
                                f"{key} cannot be corrected: it is a key, read-only or nested"
                            )
                        continue
                    hits.append((coll.name, spec.column))
        if not hits:
            valid = sorted(
                {f"{c.name}.{f.name}" for c in bound.collections.values() for f in c.spec.fields}
                | {
                    cat
                    for c in bound.collections.values()
                    for f in c.spec.fields
                    for cat in f.categories
                }
            )
            raise Fatal(
                f"nothing in this dataset is named {key!r}; use collection.field or a data "
                f"category, one of: {', '.join(valid)}"
            )
        for hit in hits:
            coll = bound.collections[hit[0]]
            coerced = coll.coerce(hit[1], value)
            if coerced is NO_MATCH:
                raise Fatal(
                    f"the new value does not fit {hit[0]}.{hit[1]} ({coll.column(hit[1]).type})"
                )
            out[hit] = coerced
    return out


def rectify(
    conn: Connection,
    bound: BoundDataset,
    found: Found,
    changes: Mapping[tuple[str, str], Any],
    *,
    batch_size: int,
) -> RectifyResult:
    changed: dict[str, int] = {}
    by_collection: dict[str, dict[str, Any]] = {}
    for (name, column), value in changes.items():
        by_collection.setdefault(name, {})[column] = value
    for name, columns in by_collection.items():
        coll = bound.collections[name]
        rows = found.rows.get(name, {})
        if rows and not coll.key:
            raise Fatal(f"{name} has no primary key; mark one with fides_meta.primary_key")
        table = coll.table
        params: list[dict[str, Any]] = []
        statement = (
            update(table)
            .where(and_(*(table.c[k] == bindparam(f"k{i}") for i, k in enumerate(coll.key))))
            .values({c: bindparam(f"v{i}") for i, c in enumerate(columns)})
        )
        for key, row in rows.items():
            if all(row.get(c) == v for c, v in columns.items()):
                continue
            params.append(
                {
                    **{f"k{i}": key[i] for i in range(len(coll.key))},
                    **{f"v{i}": v for i, v in enumerate(columns.values())},
                }
            )
        for start in range(0, len(params), batch_size):
            conn.execute(statement, params[start : start + batch_size])
        if params:
            changed[name] = len(params)
    return RectifyResult(changed=changed, notes=tuple(found.notes))
