"""Checks of retention rules that need more than the schema: what the targets point at.

The schema (:class:`personvern.inventory.schema.RetentionRule`) checks each rule alone. Here
the rules are held against the rest of the inventory and the systems' datasets, so that
``personvern check`` rejects, with file, line and fix, a rule that

- applies to a system that does not exist, has no connector, or whose connector cannot
  sweep (its class does not declare the ``sweep`` capability);
- names a collection or field the system's SQL dataset (fideslang, read with
  :mod:`personvern.connectors.datasets`) does not have, or masks a field the dataset marks
  ``read_only`` or as the primary key;
- would erase what another rule keeps: a ``delete`` on a collection where another rule
  holds fields, or an ``anonymize`` that masks a held field. Holds are the system's
  ``holds`` connector setting (:mod:`personvern.dsr.holds`, GDPR Art. 17(3)(b), e.g.
  bokføringsloven § 13). A holding rule that ends no later than this one (same starting
  event, a period no longer) is no conflict: by the time this rule fires, the hold is over.

Only an inventory the schema accepted is checked (so one mistake is reported once).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from pathlib import Path

from personvern.connectors.datasets import CollectionSpec, DatasetError, DatasetSpec, load_dataset
from personvern.connectors.registry import ENTRY_POINT_GROUP
from personvern.dsr.holds import HoldsError, parse_holds
from personvern.inventory.schema import Inventory, RetentionRule, RetentionTarget, System
from personvern.inventory.source import DocPath, Finding

Capabilities = Callable[[str], frozenset[str] | None]
"""Connector type → its capabilities; ``None`` when the type is not installed or unknown."""

SWEEP = "sweep"


def installed_capabilities(name: str) -> frozenset[str] | None:
    """The capabilities of the installed connector ``name`` (one entry point loaded)."""
    for point in entry_points(group=ENTRY_POINT_GROUP, name=name):
        try:
            cls = point.load()
        except Exception:
            return None  # when the registry builds it; here it only means "cannot tell"
        capabilities = getattr(cls, "capabilities", None)
        return frozenset(capabilities) if capabilities is not None else None
    return None


def check_retention(
    inventory: Inventory,
    base_dir: Path | None,
    *,
    capabilities: Capabilities = installed_capabilities,
) -> list[Finding]:
    """Every problem with the retention rules' targets; ``base_dir`` resolves dataset paths."""
    datasets: dict[str, DatasetSpec | str | None] = {}  # system key → dataset, or why not
    findings: list[Finding] = []
    for ri, rule in enumerate(inventory.retention):
        for ti, target in enumerate(rule.targets):
            path: DocPath = ("retention", ri, "targets", ti)
            findings.extend(
                _target(inventory, rule, target, path, base_dir, capabilities, datasets)
            )
    return findings


def _target(
    inventory: Inventory,
    rule: RetentionRule,
    target: RetentionTarget,
    path: DocPath,
    base_dir: Path | None,
    capabilities: Capabilities,
    datasets: dict[str, DatasetSpec | str | None],
) -> Iterator[Finding]:
    keys = [s.key for s in inventory.systems]
    if target.system not in keys:
        close = difflib.get_close_matches(target.system, keys, n=1, cutoff=0.6)
        yield Finding(
            (*path, "system"),
            f"retention rule {rule.key!r} applies to system {target.system!r}, "
            "but no system has that key",
            f"did you mean {close[0]!r}?" if close else f"use one of: {', '.join(keys)}",
        )
        return
    system = inventory.system(target.system)
    if system.connector is None:
        yield Finding(
            (*path, "system"),
            f"retention rule {rule.key!r} applies to system {system.key!r}, which has no "
            "connector, so nothing can apply the rule there",
            "give the system a connector that can sweep (such as sql), or remove the target "
            "and describe the routine in the rule's 'note'",
        )
        return
    kind = system.connector.type
    found = capabilities(kind)
    if found is not None and SWEEP not in found:
        yield Finding(
            (*path, "system"),
            f"the {kind} connector of system {system.key!r} cannot apply retention rules",
            "remove the target and describe how the rule is applied in its 'note', or reach "
            "the system with a connector that can sweep",
        )
        return
    if kind == "sql":
        spec = _dataset(system, base_dir, datasets)
        if spec is None:
            pass  # the dataset file is not here; the connector says so when it is used
        elif isinstance(spec, str):
            yield Finding((*path, "system"), spec, "fix the dataset; see docs/connectors.md")
        else:
            yield from _against_dataset(rule, target, path, spec)
    yield from _hold_conflicts(inventory, system, rule, target, path)


def _dataset(
    system: System, base_dir: Path | None, cache: dict[str, DatasetSpec | str | None]
) -> DatasetSpec | str | None:
    """The system's dataset, why it cannot be read, or None when its file is not here.

    A missing file is not a fault of the inventory: the dataset belongs to the installation
    that reaches the database (a copy of the inventory serving only the banner and the
    notices has none), and the sql connector's check names it when it is needed.
    """
    if system.key in cache:
        return cache[system.key]
    assert system.connector is not None
    settings = system.connector.settings
    name = settings.get("dataset")
    result: DatasetSpec | str | None
    if not isinstance(name, str):
        result = f"system {system.key!r} has no dataset setting, so its targets cannot be checked"
    else:
        file = Path(name)
        if not file.is_absolute() and base_dir is not None:
            file = base_dir / file
        key = settings.get("dataset_key")
        if not file.exists():
            cache[system.key] = None
            return None
        try:
            result = load_dataset(file, key=key if isinstance(key, str) else None)
        except DatasetError as exc:
            result = (
                f"the dataset of system {system.key!r} cannot be read, so its retention "
                f"targets cannot be checked: {exc.problems[0]}"
            )
    cache[system.key] = result
    return result


def _against_dataset(
    rule: RetentionRule, target: RetentionTarget, path: DocPath, spec: DatasetSpec
) -> Iterator[Finding]:
    coll = spec.collections.get(target.collection)
    if coll is None:
        yield Finding(
            (*path, "collection"),
            f"retention rule {rule.key!r} names collection {target.collection!r}, which the "
            f"dataset of system {target.system!r} does not have",
            _closest(target.collection, list(spec.collections)),
        )
        return
    named: list[tuple[DocPath, str, str]] = [((*path, "date_field"), target.date_field, "value")]
    named += [((*path, "where", f), f, "key") for f in target.where]
    named += [((*path, "fields", f), f, "key") for f in target.fields]
    for at, name, part in named:
        if coll.field(name) is None:
            yield Finding(
                at,
                f"retention rule {rule.key!r} names field {name!r}, which "
                f"{target.collection} does not have in the dataset",
                _closest(name, [f.name for f in coll.fields]),
                at="key" if part == "key" else "value",
            )
    yield from _unmaskable(rule, target, path, coll)


def _unmaskable(
    rule: RetentionRule, target: RetentionTarget, path: DocPath, coll: CollectionSpec
) -> Iterator[Finding]:
    for name in target.fields:
        spec = coll.field(name)
        if spec is None:
            continue
        if spec.primary_key or spec.read_only:
            why = "the primary key" if spec.primary_key else "read_only in the dataset"
            yield Finding(
                (*path, "fields", name),
                f"retention rule {rule.key!r} masks {target.collection}.{name}, which is {why}",
                "leave it out of 'fields'; a record keeps its key and read-only fields",
                at="key",
            )


def _hold_conflicts(
    inventory: Inventory,
    system: System,
    rule: RetentionRule,
    target: RetentionTarget,
    path: DocPath,
) -> Iterator[Finding]:
    try:
        maps = parse_holds(inventory, system)
    except HoldsError:
        return  # a broken holds setting is reported by the request planner's check
    action = rule.action_for(target)
    for holder_key, field_map in maps.items():
        if holder_key == rule.key:
            continue
        holder = inventory.rule(holder_key)
        if ends_no_later(holder, rule):
            continue
        for collection, fields in field_map.places:
            if collection != target.collection:
                continue
            if action == "delete":
                yield Finding(
                    (*path, "collection"),
                    f"retention rule {rule.key!r} deletes records of {system.key}.{collection}, "
                    f"but rule {holder_key!r} keeps {', '.join(fields)} there for longer",
                    f"anonymize instead, masking fields {holder_key!r} does not keep, or make "
                    f"{rule.key!r} last at least as long as {holder_key!r}",
                )
                continue
            for name in target.fields:
                if name in fields:
                    yield Finding(
                        (*path, "fields", name),
                        f"retention rule {rule.key!r} masks {collection}.{name}, but rule "
                        f"{holder_key!r} keeps it for longer",
                        f"leave {name!r} out of 'fields' (it is kept), or make {rule.key!r} "
                        f"last at least as long as {holder_key!r}",
                        at="key",
                    )


def ends_no_later(holder: RetentionRule, rule: RetentionRule) -> bool:
    """Whether ``holder``'s data has run out whenever ``rule``'s has (so no conflict).

    Only provable for the same starting event; a period-less rule ("until the event") is
    never known to end first.
    """
    if holder.counted_from != rule.counted_from:
        return False
    if holder.period is None or rule.period is None:
        return False
    return holder.period.approx_days() <= rule.period.approx_days()


def _closest(name: str, options: list[str]) -> str:
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]!r}?"
    return f"use one of: {', '.join(options)}"
