"""Cross-references inside an inventory: keys that must be unique and names that must exist.

An activity names the systems that hold its data (its recipients, GDPR Art. 13(1)(e)), the
systems it gets data from (Art. 14(2)(f)) and the retention rule that applies (Art. 13(2)(a));
a cookie names the system that sets it; processing on behalf of a customer (Art. 30(2)) names
the systems it uses. Each such name must be the ``key`` of something
defined, and each key must be defined once, or the notices and the DSR plan built from the
inventory would silently miss or double something.

The checks run on the raw data, but only on the parts schema validation accepted: a field
that already has a schema problem is skipped, so one mistake is reported once. Every defined
key counts as defined even when its item has other problems, so a typo in a system's
country does not make every activity that names the system "dangling" as well; and when a
whole section cannot be read (``systems`` missing, or misspelt ``system:``), nothing is said
about references into it.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from personvern.inventory.schema import SUBJECT_SOURCE
from personvern.inventory.source import DocPath, Document, Finding

Validated = Callable[[DocPath], bool]
"""Whether the schema accepted everything at, above and under a path."""


@dataclass(frozen=True)
class _Section:
    name: str  # the top-level list, e.g. "systems"
    noun: str  # one of its items, for messages: "system"


SYSTEMS = _Section("systems", "system")
ACTIVITIES = _Section("activities", "activity")
RETENTION = _Section("retention", "retention rule")
ON_BEHALF = _Section("on_behalf", "processing-on-behalf")


def _items(data: Any, section: str) -> Iterator[tuple[int, Mapping[str, Any]]]:
    items = data.get(section) if isinstance(data, Mapping) else None
    if isinstance(items, list):
        for index, item in enumerate(items):
            if isinstance(item, Mapping):
                yield index, item


def defined_keys(data: Any, section: str) -> list[str] | None:
    """The ``key`` of every item of ``section``, valid or not, in order.

    ``None`` when an item has no key (or is not a mapping): what is defined is then unknown.
    """
    items = data.get(section) if isinstance(data, Mapping) else None
    if not isinstance(items, list):
        return []
    keys = [item.get("key") if isinstance(item, Mapping) else None for item in items]
    return (
        [k for k in keys if isinstance(k, str)] if all(isinstance(k, str) for k in keys) else None
    )


def closest(name: str, candidates: list[str]) -> str | None:
    matches = difflib.get_close_matches(name, sorted(set(candidates)), n=1, cutoff=0.6)
    return matches[0] if matches else None


def _missing_hint(name: str, candidates: list[str], section: _Section) -> str:
    suggestion = closest(name, candidates)
    if suggestion is not None:
        return f"did you mean {suggestion!r}?"
    if candidates:
        listed = ", ".join(sorted(set(candidates)))
        return f"use one of the keys under '{section.name}' ({listed}), or add {name!r} there"
    return f"add a {section.noun} with key {name!r} under '{section.name}'"


def _duplicates(doc: Document, validated: Validated, section: _Section) -> Iterator[Finding]:
    first: dict[str, DocPath] = {}
    for index, item in _items(doc.data, section.name):
        path: DocPath = (section.name, index, "key")
        key = item.get("key")
        if not isinstance(key, str) or not validated(path):
            continue
        if key in first:
            yield Finding(
                path,
                f"the {section.noun} key {key!r} is defined twice",
                f"keys must be unique: rename or remove this one "
                f"(the first is at line {doc.line(first[key])})",
            )
        else:
            first[key] = path


def _cookie_duplicates(doc: Document, validated: Validated) -> Iterator[Finding]:
    # The same name may be declared for another kind of storage or another domain: `_ga` as
    # a cookie on the shop's domain and as local storage are two entries in a declaration.
    first: dict[tuple[str, str, Any, Any], DocPath] = {}
    for index, item in _items(doc.data, "cookies"):
        for field in ("name", "pattern"):
            label = item.get(field)
            path: DocPath = ("cookies", index, field)
            if not isinstance(label, str) or not validated(path):
                continue
            ident = (field, label, item.get("kind", "cookie"), item.get("domain"))
            if ident in first:
                yield Finding(
                    path,
                    f"the cookie {label!r} is declared twice",
                    "remove one of them or merge what they say "
                    f"(the first is at line {doc.line(first[ident])})",
                )
            else:
                first[ident] = path


def _owner(noun: str, item: Mapping[str, Any], index: int) -> str:
    key = item.get("key")
    return f"{noun} {key!r}" if isinstance(key, str) else f"{noun} {index + 1}"


def _system_lists(doc: Document, validated: Validated, systems: list[str]) -> Iterator[Finding]:
    """Lists of system keys: an activity's recipients and sources, on-behalf processing."""
    lists = (
        ("activities", "activity", "systems", "as a recipient", ()),
        ("activities", "activity", "sources", "as a source", (SUBJECT_SOURCE,)),
        ("on_behalf", "processing on behalf", "systems", "", ()),
    )
    for section, noun, field, role, allowed in lists:
        for index, item in _items(doc.data, section):
            path: DocPath = (section, index, field)
            names = item.get(field)
            if not isinstance(names, list) or not validated(path):
                continue
            for position, name in enumerate(names):
                if name in systems or name in allowed:
                    continue
                yield Finding(
                    (*path, position),
                    f"{_owner(noun, item, index)} names system {name!r}"
                    f"{' ' + role if role else ''}, but no system has that key",
                    _missing_hint(name, [*systems, *allowed], SYSTEMS),
                )


def _references(
    doc: Document,
    validated: Validated,
    systems: list[str] | None,
    rules: list[str] | None,
) -> Iterator[Finding]:
    if systems is not None:
        yield from _system_lists(doc, validated, systems)
        for index, cookie in _items(doc.data, "cookies"):
            path: DocPath = ("cookies", index, "system")
            system = cookie.get("system")
            if isinstance(system, str) and validated(path) and system not in systems:
                label = cookie.get("name") or cookie.get("pattern") or index + 1
                yield Finding(
                    path,
                    f"cookie {label!r} names system {system!r}, but no system has that key",
                    _missing_hint(system, systems, SYSTEMS),
                )
    if rules is not None:
        for index, activity in _items(doc.data, "activities"):
            path = ("activities", index, "retention")
            rule = activity.get("retention")
            if isinstance(rule, str) and validated(path) and rule not in rules:
                yield Finding(
                    path,
                    f"{_owner('activity', activity, index)} uses retention rule {rule!r}, "
                    "but no retention rule has that key",
                    _missing_hint(rule, rules, RETENTION),
                )


def check_references(doc: Document, errors: Collection[DocPath]) -> list[Finding]:
    """Duplicate keys and cookie names, and references to systems or rules not defined.

    ``errors`` are the paths schema validation complained about (a missing field's path
    included); nothing at, above or below them is checked.
    """
    broken: set[DocPath] = set()
    for loc in errors:
        broken.update(loc[:end] for end in range(len(loc) + 1))

    def validated(path: DocPath) -> bool:
        return path not in broken

    def readable(section: str) -> bool:
        present = doc.data.get(section) if isinstance(doc.data, Mapping) else None
        return (section,) not in errors and (present is None or isinstance(present, list))

    # A reference into a section that cannot be read, or that has an item without a key, is
    # neither right nor wrong (it may name that item): say nothing about it.
    systems = defined_keys(doc.data, "systems") if readable("systems") else None
    rules = defined_keys(doc.data, "retention") if readable("retention") else None
    findings: list[Finding] = []
    for section in (SYSTEMS, ACTIVITIES, RETENTION, ON_BEHALF):
        findings.extend(_duplicates(doc, validated, section))
    findings.extend(_cookie_duplicates(doc, validated))
    findings.extend(_references(doc, validated, systems, rules))
    return findings
