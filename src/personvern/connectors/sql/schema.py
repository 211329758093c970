"""A dataset bound to the database: each collection with its reflected table.

Tables are reflected (``Table(name, metadata, autoload_with=connection)``) rather than
declared, so the database itself says which columns exist, which are nullable, how long
text may be and which foreign keys hold; the dataset only annotates them. A collection or
field the database lacks is a :class:`Fatal` error that names the closest existing one.

Values are turned into plain JSON-friendly data on the way out (``Decimal`` as text, dates
in ISO 8601) because records travel to reports and the executor's step state, and into the
column's own Python type on the way in (a ``customer_id`` identity is text, the column an
integer; PostgreSQL would refuse to compare the two).
"""

from __future__ import annotations

import base64
import difflib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import Column, Connection, MetaData, String, Table, Text, inspect

from personvern.connectors.base import Fatal
from personvern.connectors.datasets import CollectionSpec, DatasetSpec, FieldSpec
from personvern.connectors.masking import MaskingStrategy, default_strategy

NO_MATCH = object()  # a value that cannot be in the column (so need not be asked for)


@dataclass(frozen=True)
class ForeignKey:
    """``child.column`` refers to ``parent.parent_column`` (reflected from the database)."""

    child: str
    column: str
    parent: str
    parent_column: str


@dataclass
class BoundCollection:
    spec: CollectionSpec
    table: Table
    key: tuple[str, ...]  # primary-key columns: the dataset's, else the table's

    @property
    def name(self) -> str:
        return self.spec.name

    def column(self, name: str) -> Column[Any]:
        return self.table.c[name]

    def selected(self, extra: tuple[str, ...] = ()) -> list[Column[Any]]:
        """The columns to read: the key, the dataset's columns, and ``extra``."""
        names = dict.fromkeys((*self.key, *self.spec.columns, *extra))
        return [self.table.c[n] for n in names]

    def coerce(self, column: str, value: Any) -> Any:
        """``value`` as the column's Python type, or :data:`NO_MATCH` if it cannot be one."""
        try:
            kind = self.table.c[column].type.python_type
        except NotImplementedError:
            return value
        if isinstance(value, kind) or value is None:
            return value
        try:
            if kind is int and isinstance(value, str):
                return int(value.strip())
            if kind is str:
                return str(value)
            if kind is Decimal:
                return Decimal(str(value))
        except (ValueError, ArithmeticError):
            return NO_MATCH
        return value

    def key_of(self, row: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(row[k] for k in self.key)

    def key_text(self, row: Mapping[str, Any]) -> str | None:
        if not self.key:
            return None
        return "/".join(str(plain(row[k])) for k in self.key)

    def is_text(self, column: str) -> bool:
        return isinstance(self.table.c[column].type, String | Text)

    def strategy_for(self, spec: FieldSpec) -> MaskingStrategy:
        """The field's override, else null where the column allows it, else a fixed text."""
        if spec.masking is not None:
            return spec.masking
        nested = len(spec.path) > 1
        return default_strategy(nested or bool(self.table.c[spec.column].nullable))


@dataclass
class BoundDataset:
    spec: DatasetSpec
    collections: dict[str, BoundCollection]
    foreign_keys: tuple[ForeignKey, ...] = ()
    masking_problems: tuple[str, ...] = field(default=())

    def masking_ok(self) -> None:
        if self.masking_problems:
            raise Fatal(
                "the dataset's masking does not fit the database: "
                + "; ".join(self.masking_problems)
            )


def bind(conn: Connection, spec: DatasetSpec, schema: str | None) -> BoundDataset:
    """Reflect the dataset's tables and check every field against them."""
    existing = inspect(conn).get_table_names(schema=schema)
    problems: list[str] = []
    metadata = MetaData(schema=schema)
    wanted = [n for n, c in spec.collections.items() if not c.skip]
    # One reflection for all tables: SQLAlchemy asks the catalog once per kind of thing
    # rather than once per table (on PostgreSQL about five times faster).
    metadata.reflect(conn, only=[n for n in wanted if n in existing], resolve_fks=False)
    collections: dict[str, BoundCollection] = {}
    for name in wanted:
        coll = spec.collections[name]
        if name not in existing:
            problems.append(f"there is no table {name!r}{_hint(name, existing)}")
            continue
        table = metadata.tables[f"{schema}.{name}" if schema else name]
        missing = [c for c in coll.columns if c not in table.c]
        for column in missing:
            problems.append(
                f"table {name} has no column {column!r}{_hint(column, list(table.c.keys()))}"
            )
        if missing:
            continue
        key = coll.primary_key or tuple(c.name for c in table.primary_key.columns)
        collections[name] = BoundCollection(coll, table, key)
    if problems:
        raise Fatal(
            f"the dataset {spec.source} does not match the database: "
            + "; ".join(problems)
            + ". Fix the dataset (names as the database spells them) or the url setting"
        )
    bound = BoundDataset(spec, collections, _foreign_keys(collections))
    bound.masking_problems = tuple(_masking_problems(bound))
    return bound


def _foreign_keys(collections: Mapping[str, BoundCollection]) -> tuple[ForeignKey, ...]:
    out: list[ForeignKey] = []
    for child in collections.values():
        for constraint in child.table.foreign_key_constraints:
            parent = constraint.referred_table.name
            if parent not in collections or len(constraint.elements) != 1:
                continue  # composite keys are not followed (nor found in shop databases)
            element = constraint.elements[0]
            out.append(ForeignKey(child.name, element.parent.name, parent, element.column.name))
    return tuple(out)


def _masking_problems(bound: BoundDataset) -> list[str]:
    """Strategies that the columns cannot take, found before anything is written."""
    problems: list[str] = []
    for coll in bound.collections.values():
        if coll.spec.delete_rows:
            continue
        for spec in coll.spec.fields:
            if not spec.personal or spec.primary_key or spec.read_only or spec.column in coll.key:
                continue
            strategy = coll.strategy_for(spec)
            label = f"{coll.name}.{spec.name}"
            if len(spec.path) > 1:
                continue  # inside a JSON document any value fits
            column = coll.column(spec.column)
            if strategy.text_only and not coll.is_text(spec.column):
                how = "a NOT NULL column" if spec.masking is None else "its override"
                problems.append(
                    f"{label} is {column.type} and {how} would write text ({strategy.name}); "
                    "allow NULL in the column, give the field a masking_strategy_override "
                    "that fits, or mark it read_only"
                )
                continue
            length = getattr(column.type, "length", None)
            written = strategy.output_length()
            if length and written and written > length:
                problems.append(
                    f"{label} holds {length} characters but {strategy.name} writes {written}; "
                    "choose a shorter rewrite_value or length"
                )
    return problems


def plain(value: Any) -> Any:
    """A JSON-friendly copy of a database value (exact decimals as text)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return str(value)


def nested_value(document: Any, path: tuple[str, ...]) -> Any:
    """The value at ``path`` inside a JSON column (a dict, or text holding JSON)."""
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return None
    for part in path:
        if not isinstance(document, Mapping):
            return None
        document = document.get(part)
    return document


def _hint(name: str, options: list[str]) -> str:
    close = difflib.get_close_matches(name, options, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
