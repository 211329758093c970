"""Masking for the retention sweep (:mod:`.sweep`): which fields, with which strategy.

A target's ``fields`` name a strategy per field (:mod:`personvern.connectors.masking`); where
the dataset configures the same strategy for the field (an e-mail suffix, a length), its
configuration is used. Without ``fields`` every personal field the dataset names is masked
as erasure would mask it. ``unmasked`` is the SQL condition that makes a sweep resumable: it
is exact for the constant strategies (``null_rewrite``, ``string_rewrite``) and a superset
for the others, whose own ``is_masked`` then decides row by row.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, and_, case, true

from personvern.connectors.base import Fatal, SweepRule
from personvern.connectors.masking import (
    MaskingContext,
    MaskingError,
    MaskingRegistry,
    MaskingStrategy,
    NullRewrite,
    StringRewrite,
    load_json,
    mask_inside,
)
from personvern.connectors.sql.schema import BoundCollection


def masks(
    coll: BoundCollection, rule: SweepRule, held: frozenset[str], notes: list[str]
) -> dict[str, MaskingStrategy]:
    """Field → strategy: the rule's fields, else every personal field of the dataset."""
    if "*" in held:
        return {}
    registry = MaskingRegistry()
    masks: dict[str, MaskingStrategy] = {}
    named = rule.fields or {f.name: "" for f in coll.spec.fields if f.personal and not f.read_only}
    for name, strategy_name in named.items():
        spec = coll.spec.field(name)
        if spec is None:
            raise Fatal(
                f"the retention rule {rule.rule} masks {coll.name}.{name}, which the dataset "
                "does not name; fix the target's fields"
            )
        if spec.primary_key or spec.column in coll.key or spec.read_only:
            raise Fatal(
                f"the retention rule {rule.rule} masks {coll.name}.{name}, which is a key or "
                "read-only; leave it out of the target's fields"
            )
        if name in held:
            notes.append(f"{coll.name}.{name} is held by another rule and was not masked")
            continue
        masks[name] = _strategy(coll, spec.name, strategy_name, registry)
    return masks


def _strategy(
    coll: BoundCollection, name: str, strategy_name: str, registry: MaskingRegistry
) -> MaskingStrategy:
    spec = coll.spec.field(name)
    assert spec is not None
    if not strategy_name:
        return coll.strategy_for(spec)
    # The dataset's own configuration of the same strategy (an e-mail suffix, a length) wins.
    if spec.masking is not None and spec.masking.name == strategy_name:
        return spec.masking
    try:
        strategy = registry.from_dict({"strategy": strategy_name})
    except MaskingError as exc:
        raise Fatal(f"cannot mask {coll.name}.{name}: {exc}") from None
    if len(spec.path) == 1:
        column = coll.column(spec.column)
        if strategy.text_only and not coll.is_text(spec.column):
            raise Fatal(
                f"{coll.name}.{name} is {column.type}, and {strategy_name} writes text; "
                "choose null_rewrite (if the column allows NULL) or leave the field out"
            )
        if isinstance(strategy, NullRewrite) and not column.nullable:
            raise Fatal(
                f"{coll.name}.{name} cannot be NULL, so null_rewrite cannot mask it; "
                "choose string_rewrite or random_string_rewrite"
            )
    return strategy


def mask_columns(coll: BoundCollection, masks: Mapping[str, MaskingStrategy]) -> list[str]:
    names = [coll.spec.field(n) for n in masks]
    return list(dict.fromkeys(s.column for s in names if s is not None))


def _constant(strategy: MaskingStrategy) -> bool:
    return isinstance(strategy, NullRewrite | StringRewrite)


def unmasked(coll: BoundCollection, masks: Mapping[str, MaskingStrategy]) -> ColumnElement[bool]:
    """Rows where some field may still need masking (exact for constant strategies)."""
    conditions: list[ColumnElement[bool]] = []
    for name, strategy in masks.items():
        spec = coll.spec.field(name)
        assert spec is not None
        column = coll.column(spec.column)
        if len(spec.path) == 1 and isinstance(strategy, StringRewrite):
            masked = strategy.mask("", MaskingContext())
            conditions.append(and_(column.is_not(None), column != masked))
        else:
            conditions.append(column.is_not(None))
    if not conditions:
        return true()
    # One CASE rather than OR: SQLite would answer an OR of indexed columns by scanning each
    # index whole (its OR optimisation) on every batch; a CASE leaves the walk by key alone.
    return case(*((c, 1) for c in conditions), else_=0) == 1


def constant_values(
    coll: BoundCollection, masks: Mapping[str, MaskingStrategy], context: MaskingContext
) -> dict[str, Any] | None:
    """Column → value when every mask writes one value whatever the input; else ``None``."""
    values: dict[str, Any] = {}
    for name, strategy in masks.items():
        spec = coll.spec.field(name)
        if spec is None or len(spec.path) != 1 or not _constant(strategy):
            return None
        values[spec.column] = (
            strategy.mask("", context) if isinstance(strategy, StringRewrite) else None
        )
    return values


def masked_row(
    coll: BoundCollection,
    row: Mapping[str, Any],
    masks: Mapping[str, MaskingStrategy],
    context: MaskingContext,
) -> dict[str, Any]:
    """The columns of ``row`` that change, with their new values (empty: already masked)."""
    new: dict[str, Any] = {}
    documents: dict[str, Any] = {}
    for name, strategy in masks.items():
        spec = coll.spec.field(name)
        assert spec is not None
        try:
            if len(spec.path) == 1:
                if not strategy.is_masked(row[spec.column]):
                    new[spec.column] = strategy.mask(row[spec.column], context)
                continue
            document = documents.setdefault(spec.column, load_json(row[spec.column]))
            mask_inside(document, spec.path[1:], strategy, context)
        except MaskingError as exc:
            raise Fatal(f"cannot mask {coll.name}.{name}: {exc}") from None
    for column, document in documents.items():
        if document is not None and document != load_json(row[column]):
            old = row[column]
            new[column] = (
                json.dumps(document, ensure_ascii=False) if isinstance(old, str) else document
            )
    return new
