"""Dataset annotations in the fideslang Dataset format, loaded and checked.

A dataset (fideslang ``Dataset``, the ``dataset:`` list of a Fides manifest, see
``fideslang/models.py`` and Fides' ``postgres_example_test_dataset.yml``) describes one
database: its ``collections`` (tables) and their ``fields`` (columns, nested ``fields`` for
JSON documents), each with ``data_categories`` from the fideslang taxonomy, and
``fides_meta`` that tells a DSR engine how to find a person:

- ``identity: email`` (or ``phone_number``, ``customer_id``…) seeds the search;
- ``references: [{dataset, field: collection.field, direction: from|to}]`` carries values
  onward — ``from`` takes values of the referenced field into this one (``orders.customer_id``
  references ``customers.id``), ``to`` sends this field's values to the referenced one,
  no direction lets values flow whichever way is reached first;
- ``primary_key``, ``read_only``, ``masking_strategy_override`` per field, and per collection
  ``masking_strategy_override: {strategy: delete}``, ``after``, ``erase_after``,
  ``skip_processing``.

The file is validated with fideslang's own ``Dataset`` model, so a Fides user's datasets load
unchanged; then this module checks what fideslang does not (unknown referenced fields,
taxonomy keys, masking configurations, identifiers safe to put in SQL) and builds the
traversal graph (:mod:`personvern.connectors.traversal`), which rejects collections that
cannot be reached and orderings that cannot hold. Every problem is reported at once, each
with the file, the line and what to do.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fideslang.models import Dataset, DatasetCollection, DatasetField
from pydantic import ValidationError

from personvern.connectors.masking import MaskingError, MaskingRegistry, MaskingStrategy
from personvern.connectors.traversal import (
    Reference,
    TraversalError,
    TraversalGraph,
    build_graph,
)
from personvern.inventory import taxonomy
from personvern.inventory.source import START, DocPath, Document, read_document

# Names end up as SQL identifiers (quoted by SQLAlchemy, but still): letters, digits, _ and $.
_IDENTIFIER = re.compile(r"[^\W\d]\w{0,62}")

# Fides' identity names → personvern's identity types (base.Identity); others are kept as
# seeds that never get a value, so a Fides dataset still loads.
IDENTITY_ALIASES: Mapping[str, str] = {
    "email": "email",
    "phone_number": "phone",
    "phone": "phone",
    "customer_id": "customer_id",
    "external_id": "customer_id",
}


class DatasetError(ValueError):
    """A dataset that cannot be used; ``problems`` lists every one, each ready to print."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        head = "the dataset has 1 problem" if count == 1 else f"the dataset has {count} problems"
        super().__init__(head + ":\n" + "\n".join(f"  {p}" for p in self.problems))


@dataclass(frozen=True)
class FieldSpec:
    """One field of a collection; ``path`` has more than one part inside a JSON column."""

    path: tuple[str, ...]
    categories: tuple[str, ...] = ()
    uses: tuple[str, ...] = ()
    identity: str | None = None  # personvern's identity type (email, phone, customer_id)
    primary_key: bool = False
    read_only: bool = False
    masking: MaskingStrategy | None = None
    length: int | None = None

    @property
    def name(self) -> str:
        return ".".join(self.path)

    @property
    def column(self) -> str:
        return self.path[0]

    @property
    def personal(self) -> bool:
        """Data about the person (a ``user.*`` category): what erasure masks."""
        return any(c == "user" or c.startswith("user.") for c in self.categories)


@dataclass(frozen=True)
class CollectionSpec:
    name: str
    fields: tuple[FieldSpec, ...]
    categories: tuple[str, ...] = ()
    delete_rows: bool = False  # collection-level masking_strategy_override: {strategy: delete}
    skip: bool = False
    after: tuple[str, ...] = ()
    erase_after: tuple[str, ...] = ()

    def field(self, name: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.name == name), None)

    @property
    def primary_key(self) -> tuple[str, ...]:
        return tuple(f.column for f in self.fields if f.primary_key)

    @property
    def columns(self) -> tuple[str, ...]:
        """The table columns the dataset names, in order, each once."""
        return tuple(dict.fromkeys(f.column for f in self.fields))

    def category_of(self, spec: FieldSpec) -> str | None:
        """The field's first data category, else the collection's."""
        chosen = spec.categories or self.categories
        return chosen[0] if chosen else None


@dataclass(frozen=True)
class DatasetSpec:
    """A checked dataset: the fideslang model, our reading of it, and its graph."""

    key: str
    collections: Mapping[str, CollectionSpec]
    graph: TraversalGraph
    model: Dataset
    source: str
    notes: tuple[str, ...] = ()

    @property
    def schema(self) -> str | None:
        """The database schema from ``fides_meta.namespace.schema``, if given."""
        namespace = self.model.fides_meta.namespace if self.model.fides_meta else None
        value = (namespace or {}).get("schema")
        return value if isinstance(value, str) else None

    def fields_with_use(self, use: str) -> dict[str, tuple[str, ...]]:
        """Collection → fields annotated with ``data_uses`` at or under ``use``.

        E.g. ``essential.legal_obligation`` finds the bookkeeping fields a retention hold
        keeps (bokføringsloven § 13).
        """
        out: dict[str, tuple[str, ...]] = {}
        for coll in self.collections.values():
            hits = tuple(
                f.name
                for f in coll.fields
                if any(u == use or u.startswith(use + ".") for u in f.uses)
            )
            if hits:
                out[coll.name] = hits
        return out

    def to_dict(self) -> dict[str, Any]:
        """The dataset in fideslang's form, to write back as YAML."""
        return self.model.model_dump(mode="json", exclude_none=True)

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        *,
        source: str = "<dataset>",
        masking: MaskingRegistry | None = None,
    ) -> DatasetSpec:
        """A dataset from plain data: one fideslang Dataset, or a manifest with one."""
        return _read(Document(data=dict(data)), source, None, masking or MaskingRegistry())


def load_dataset(
    path: Path, *, key: str | None = None, masking: MaskingRegistry | None = None
) -> DatasetSpec:
    """Read and check the dataset file at ``path`` (``key`` picks one of several)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DatasetError(
            [f"{path}: cannot read the dataset file ({exc.strerror}); check the path"]
        ) from None
    return load_dataset_text(text, source=str(path), key=key, masking=masking)


def load_dataset_text(
    text: str,
    *,
    source: str = "<dataset>",
    key: str | None = None,
    masking: MaskingRegistry | None = None,
) -> DatasetSpec:
    doc, findings = read_document(text)
    if doc is None or findings:
        raise DatasetError(
            [
                f"{source}:{(f.mark or (doc.locate(f.path) if doc else START)).line}: "
                f"{f.message}" + (f" ({f.hint})" if f.hint else "")
                for f in findings
            ]
        )
    return _read(doc, source, key, masking or MaskingRegistry())


# --- reading ------------------------------------------------------------------------------


def _pick(doc: Document, source: str, key: str | None) -> tuple[Mapping[str, Any], DocPath]:
    data = doc.data
    if isinstance(data, Mapping) and "dataset" in data and "collections" not in data:
        items = data["dataset"]
        if not isinstance(items, list) or not items:
            raise DatasetError([f"{source}:1: 'dataset:' must be a list of datasets"])
        candidates: list[tuple[Mapping[str, Any], DocPath]] = [
            (item, ("dataset", i)) for i, item in enumerate(items) if isinstance(item, Mapping)
        ]
    elif isinstance(data, Mapping):
        candidates = [(data, ())]
    else:
        raise DatasetError(
            [
                f"{source}:1: expected a fideslang dataset "
                "(a mapping with 'dataset:' or 'collections:')"
            ]
        )
    if key is not None:
        chosen = [c for c in candidates if c[0].get("fides_key") == key]
        if not chosen:
            keys = ", ".join(str(c[0].get("fides_key")) for c in candidates)
            raise DatasetError(
                [f"{source}:1: no dataset has fides_key {key!r} (there are: {keys})"]
            )
        return chosen[0]
    if len(candidates) != 1:
        keys = ", ".join(str(c[0].get("fides_key")) for c in candidates)
        raise DatasetError(
            [
                f"{source}:1: the file has {len(candidates)} datasets ({keys}); "
                "choose one with dataset_key"
            ]
        )
    return candidates[0]


def _read(doc: Document, source: str, key: str | None, registry: MaskingRegistry) -> DatasetSpec:
    raw, base = _pick(doc, source, key)

    def at(path: DocPath) -> str:
        return f"{source}:{doc.locate(base + path).line}"

    try:
        model = Dataset.model_validate(dict(raw))
    except ValidationError as exc:
        raise DatasetError(
            [f"{at(_raw_path(raw, e['loc']))}: {_loc(e['loc'])}: {e['msg']}" for e in exc.errors()]
        ) from None

    problems: list[str] = []
    collections: dict[str, CollectionSpec] = {}
    notes: list[str] = []
    for ci, raw_coll in enumerate(raw.get("collections") or []):
        coll = next(c for c in model.collections if c.name == raw_coll.get("name"))
        where = ("collections", ci)
        spec = _collection(coll, raw_coll, where, model.fides_key, registry, at, problems, notes)
        collections[spec.name] = spec
    references = [
        ref
        for ci, raw_coll in enumerate(raw.get("collections") or [])
        for ref in _references(
            model.collections, raw_coll, ("collections", ci), model.fides_key, at, notes
        )
    ]
    if problems:
        raise DatasetError(problems)
    try:
        graph = build_graph(collections, references)
    except TraversalError as exc:
        raise DatasetError(
            [p if p.startswith(f"{source}:") else f"{source}: {p}" for p in exc.problems]
        ) from None
    return DatasetSpec(
        key=model.fides_key,
        collections=collections,
        graph=graph,
        model=model,
        source=source,
        notes=tuple(notes),
    )


def _collection(
    coll: DatasetCollection,
    raw: Mapping[str, Any],
    where: DocPath,
    dataset_key: str,
    registry: MaskingRegistry,
    at: Any,
    problems: list[str],
    notes: list[str],
) -> CollectionSpec:
    if not _IDENTIFIER.fullmatch(coll.name):
        problems.append(
            f"{at((*where, 'name'))}: collection name {coll.name!r} is not a plain identifier "
            "(letters, digits and _); name the table as the database does"
        )
    _check_keys(coll.data_categories, "data_category", at(where), problems)
    meta = coll.fides_meta
    fields: list[FieldSpec] = []
    for walked in _walk_fields(coll.fields, raw.get("fields") or [], where):
        fields.append(_field(coll.name, walked, registry, at, problems))

    def own(names: Sequence[str] | None, attr: str) -> tuple[str, ...]:
        out: list[str] = []
        for item in names or ():
            dataset, _, name = item.partition(".")
            if dataset == dataset_key:
                out.append(name)
            else:
                notes.append(f"{coll.name}: {attr} {item} is in another dataset; ignored here")
        return tuple(out)

    override = meta.masking_strategy_override if meta else None
    return CollectionSpec(
        name=coll.name,
        fields=tuple(fields),
        categories=tuple(coll.data_categories or ()),
        delete_rows=override is not None and override.strategy.value == "delete",
        skip=bool(meta and meta.skip_processing),
        after=own(meta.after if meta else None, "after"),
        erase_after=own(meta.erase_after if meta else None, "erase_after"),
    )


_Walked = tuple[DocPath, tuple[str, ...], DatasetField, tuple[str, ...]]


def _walk_fields(
    models: Sequence[DatasetField],
    raws: Sequence[Any],
    where: DocPath,
    prefix: tuple[str, ...] = (),
    inherited: tuple[str, ...] = (),
) -> Iterator[_Walked]:
    """Each leaf field: its document path, field path, model, and its parent's categories.

    A field with nested ``fields`` is an object (a JSON column in SQL): its leaves are the
    values, and they inherit the object's data categories where they have none.
    """
    by_name = {m.name: m for m in models}
    for i, raw in enumerate(raws):
        if not isinstance(raw, Mapping) or raw.get("name") not in by_name:
            continue
        model = by_name[raw["name"]]
        path = (*prefix, model.name)
        here = (*where, "fields", i)
        categories = tuple(model.data_categories or ()) or inherited
        if model.fields:
            yield from _walk_fields(model.fields, raw.get("fields") or [], here, path, categories)
        else:
            yield here, path, model, categories


def _field(
    collection: str,
    walked: _Walked,
    registry: MaskingRegistry,
    at: Any,
    problems: list[str],
) -> FieldSpec:
    where, path, fld, categories = walked
    name = ".".join(path)
    for part in path:
        if not _IDENTIFIER.fullmatch(part):
            problems.append(
                f"{at((*where, 'name'))}: field name {part!r} in {collection} is not a plain "
                "identifier (letters, digits and _); name the column as the database does"
            )
    _check_keys(fld.data_categories, "data_category", at(where), problems)
    uses = list(getattr(fld, "data_uses", None) or getattr(fld, "data_purposes", None) or [])
    _check_keys(uses, "data_use", at(where), problems)
    meta = fld.fides_meta
    identity: str | None = None
    masking: MaskingStrategy | None = None
    if meta is not None:
        meta_at = at((*where, "fides_meta"))
        if meta.identity:
            identity = IDENTITY_ALIASES.get(meta.identity, meta.identity)
            if len(path) > 1:
                problems.append(
                    f"{meta_at}: identity on nested field {collection}.{name}; put it on a column"
                )
        if meta.primary_key and len(path) > 1:
            problems.append(
                f"{meta_at}: primary_key on nested field {collection}.{name}; put it on a column"
            )
        if meta.masking_strategy_override is not None:
            override = meta.masking_strategy_override
            try:
                masking = registry.from_dict(
                    {"strategy": override.strategy, "configuration": override.configuration or {}}
                )
            except MaskingError as exc:
                problems.append(f"{meta_at}: {collection}.{name}: {exc}")
            else:
                if masking.deletes_row:
                    problems.append(
                        f"{meta_at}: {collection}.{name}: 'delete' removes rows, so it is a "
                        "collection-level override (the collection's "
                        "fides_meta.masking_strategy_override)"
                    )
                    masking = None
    return FieldSpec(
        path=path,
        categories=categories,
        uses=tuple(uses),
        identity=identity,
        primary_key=bool(meta and meta.primary_key),
        read_only=bool(meta and meta.read_only),
        masking=masking,
        length=meta.length if meta else None,
    )


def _references(
    models: Sequence[DatasetCollection],
    raw: Mapping[str, Any],
    where: DocPath,
    dataset_key: str,
    at: Any,
    notes: list[str],
) -> Iterator[Reference]:
    coll = next(c for c in models if c.name == raw.get("name"))
    for fi, path, fld, _ in _walk_fields(coll.fields, raw.get("fields") or [], where):
        meta = fld.fides_meta
        for ri, ref in enumerate((meta.references if meta else None) or []):
            place = at((*fi, "fides_meta", "references", ri))
            if ref.dataset != dataset_key:
                notes.append(
                    f"{coll.name}.{'.'.join(path)} refers to dataset {ref.dataset}, which another "
                    "connector reaches; the reference is not followed here"
                )
                continue
            target, _, target_field = ref.field.partition(".")
            yield Reference(
                collection=coll.name,
                field=".".join(path),
                target=target,
                target_field=target_field,
                direction=ref.direction.value if ref.direction else None,
                where=place,
            )


def _check_keys(
    keys: Sequence[str] | None, kind: taxonomy.TaxonomyKind, where: str, problems: list[str]
) -> None:
    """Taxonomy keys must be fideslang's default ones (a typo gets the closest key)."""
    for key in keys or ():
        try:
            taxonomy.check(kind, key)
        except ValueError as exc:
            problems.append(f"{where}: {exc}")


def _raw_path(raw: Mapping[str, Any], loc: tuple[int | str, ...]) -> DocPath:
    """Pydantic's location in the (name-sorted) model → the path in the file's order."""
    out: list[str | int] = []
    node: Any = raw
    for part in loc:
        if isinstance(part, int) and isinstance(node, list):
            # fideslang sorts collections and fields by name; find the item in file order.
            ordered = sorted(
                (i for i, x in enumerate(node) if isinstance(x, Mapping)),
                key=lambda i: str(node[i].get("name", "")),
            )
            index = ordered[part] if part < len(ordered) else part
            out.append(index)
            node = node[index] if index < len(node) else None
        elif isinstance(node, Mapping) and isinstance(part, str):
            out.append(part)
            node = node.get(part)
        else:
            break
    return tuple(out)


def _loc(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc if not isinstance(p, int)) or "dataset"
