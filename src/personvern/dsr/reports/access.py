"""The copy of the data in an access report (GDPR Art. 15(1) and 15(3)), system by system.

Art. 15(3) entitles the person to a copy of the personal data itself, and the EDPB
(Guidelines 01/2022, section 5.2.1) reads that as a complete copy, not a summary. So every
record a connector found is shown, every field of it, as found: a table per collection,
each column headed by the field's name and its data category in words (fideslang
``user.contact.email`` → "e-postadresse"), since a field name alone means little to
the person. Narrow collections are one table with a row per record; wide ones (an order
has twenty fields) a table per record, field by field, so that they fit a printed page.

Systems that were searched and held nothing are named too, and manual tasks say what the
person who did them wrote, so the report shows where the shop looked, not only what it found.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from personvern.dsr.reports.gather import Answer, FoundRecord, Outcome
from personvern.dsr.reports.processing import capfirst
from personvern.i18n import N_, Translator
from personvern.i18n.catalogs import DISPLAY_TIMEZONE
from personvern.inventory.schema import Inventory
from personvern.notices.vocabulary import Words

# More columns than this do not fit across an A4 page; such records are shown one by one.
WIDE_MAX: Final = 6
# personvern's own system: it holds the request itself, which is data about the person too.
OWN_SYSTEM: Final = "personvern"


@dataclass(frozen=True)
class Column:
    name: str
    category: str  # the field's data category in words; empty when not known


@dataclass(frozen=True)
class Table:
    """One collection of one system: its columns and a row of text per record."""

    collection: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[str, ...], ...]

    @property
    def wide(self) -> bool:
        return len(self.columns) > WIDE_MAX


@dataclass(frozen=True)
class SystemData:
    """Where the person was found: the system, its role, and the records as tables."""

    key: str
    name: str
    role: str
    categories: tuple[str, ...]
    tables: tuple[Table, ...]
    count: int


@dataclass(frozen=True)
class ByHand:
    """A manual task's outcome: what the person who did it wrote, or that it is open."""

    system: str
    done: bool
    note: str
    finished: str


@dataclass(frozen=True)
class AccessContent:
    systems: tuple[SystemData, ...]
    nothing_in: tuple[str, ...]  # searched, nothing found
    by_hand: tuple[ByHand, ...]
    unfinished: tuple[str, ...]  # could not be searched (yet)
    request: Table  # the request itself, as personvern holds it
    found: frozenset[str]  # system keys whose processing the report describes

    @property
    def anything(self) -> bool:
        return bool(self.systems) or any(b.done for b in self.by_hand)


def text_of(value: Any, tr: Translator) -> str:
    """A stored value as text: as found, except that structure is shown as JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return tr.gettext(N_("Yes")) if value else tr.gettext(N_("No"))
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def system_name(inventory: Inventory, key: str) -> str:
    try:
        return inventory.system(key).name
    except KeyError:
        return key  # a system removed from the inventory since the request ran


def tables_of(records: Sequence[FoundRecord], words: Words, tr: Translator) -> tuple[Table, ...]:
    """The records grouped by collection (in the order found), one table each."""
    grouped: dict[str, list[FoundRecord]] = {}
    for record in records:
        grouped.setdefault(record.collection, []).append(record)
    tables = []
    for collection, group in grouped.items():
        names: list[str] = []
        categories: dict[str, str] = {}
        for record in group:
            for name in record.fields:
                if name not in names:
                    names.append(name)
            for name, category in record.categories.items():
                categories.setdefault(name, category)
        columns = tuple(
            Column(n, capfirst(words.data_category(categories[n])) if n in categories else "")
            for n in names
        )
        rows = tuple(tuple(text_of(r.fields.get(n), tr) for n in names) for r in group)
        tables.append(Table(collection, columns, rows))
    return tuple(tables)


def _finished(outcome: Outcome, words: Words) -> str:
    if outcome.finished_at is None:
        return ""
    return words.date(outcome.finished_at.astimezone(DISPLAY_TIMEZONE).date())


def request_table(answer: Answer, tr: Translator) -> Table:
    """The request as personvern holds it (GDPR Art. 5(2): the proof it was answered)."""
    fields = [
        (tr.gettext(N_("E-mail address")), answer.email),
        (tr.gettext(N_("Name")), answer.name),
        (tr.gettext(N_("Phone number")), answer.phone),
        (tr.gettext(N_("Received")), tr.format_datetime(answer.received_at)),
    ]
    # The column names are words already; a category under each would repeat them.
    columns = tuple(Column(name, "") for name, _ in fields)
    caption = tr.gettext(N_("This request, as we keep it"))
    return Table(caption, columns, (tuple(value or "" for _, value in fields),))


def access_content(answer: Answer, inventory: Inventory, tr: Translator) -> AccessContent:
    """The data part of an access report, from the access steps of ``answer``."""
    from personvern.i18n.terms import ROLE, label

    words = Words("en" if tr.lang == "en" else "nb")
    systems: list[SystemData] = []
    nothing: list[str] = []
    by_hand: list[ByHand] = []
    unfinished: list[str] = []
    found: set[str] = set()
    for outcome in answer.outcomes:
        if outcome.action != "access":
            continue
        name = system_name(inventory, outcome.system_key)
        if outcome.manual:
            by_hand.append(
                ByHand(name, outcome.done, outcome.note or "", _finished(outcome, words))
            )
            if outcome.done:
                found.add(outcome.system_key)
            continue
        if not outcome.done:
            unfinished.append(name)
            continue
        if not outcome.records:
            nothing.append(name)
            continue
        found.add(outcome.system_key)
        try:
            system = inventory.system(outcome.system_key)
        except KeyError:
            system = None
        # A vendor's role says who decides about the data there; our own systems need none.
        role = label(tr, ROLE, system.role) if system and system.kind == "vendor" else ""
        keys = [c for r in outcome.records for c in r.categories.values()]
        systems.append(
            SystemData(
                key=outcome.system_key,
                name=name,
                role=role,
                categories=tuple(dict.fromkeys(words.data_category(k) for k in keys)),
                tables=tables_of(outcome.records, words, tr),
                count=len(outcome.records),
            )
        )
    if any(s.key == OWN_SYSTEM for s in inventory.systems):
        found.add(OWN_SYSTEM)
    return AccessContent(
        systems=tuple(systems),
        nothing_in=tuple(nothing),
        by_hand=tuple(by_hand),
        unfinished=tuple(unfinished),
        request=request_table(answer, tr),
        found=frozenset(found),
    )
