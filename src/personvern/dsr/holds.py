"""Retention holds: what an erasure must keep, on which legal ground, and until when.

The right to erasure does not apply where keeping the data is needed "for compliance with a
legal obligation which requires processing by Union or Member State law" (GDPR Art.
17(3)(b)). The inventory already says where that is the case: a processing activity with
legal basis Art. 6(1)(c) on a system, with a retention rule. For a web shop the main one is
bokføringsloven § 13: sales documents (orders, invoices: primary documentation) are kept
five years after the end of the accounting year (§ 13(2)), so an order placed on 1 March
2026 is kept until 31 December 2031, and everything else about the person is erased.

**Which data.** The inventory names the *categories* an activity holds; which *fields* they
are in a system is the system's business, so the mapping is data in the system's connector
settings, under the key ``holds`` (read by the planner, never passed to the connector)::

    connector:
      type: sql
      settings:
        holds:
          - "bookkeeping_primary: orders(order_number, created_at, billing_name, total)"
          - "bookkeeping_primary: order_lines(order_id, product, quantity, price)"
          - "bookkeeping_secondary: none"       # nothing in this system falls under it

One entry per rule and collection: ``RULE: COLLECTION(FIELD, …)``, or ``RULE: none``. A rule
that holds data in a system but is not mapped there makes the whole system's step a *keep*:
nothing is erased by the connector, and the plan says which mapping is missing. Erasing
bookkeeping records would break the law; keeping too much for a while is what the plan
shows and an admin can fix. ``erasure: delete|anonymize`` in the same settings chooses what
happens to the rest (by default: anonymize where something is held, so rows keep their held
fields; delete elsewhere).

**Until when.** Computed from the request date (``today``), not per record: every record the
person has is from today or earlier, so its own time runs out no later than the date given
here. Older records run out sooner and are erased by the retention sweep. With
``end_of_accounting_year`` the accounting year is the calendar year (bokføringsloven § 2 and
regnskapsloven § 1-7: the default for small enterprises); for a rule counted from an event
(an order completed, a case closed), the request is taken as that event.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, Literal

from personvern.connectors.base import Hold
from personvern.inventory.schema import Activity, ConnectorRef, Inventory, RetentionRule, System

HOLDS_SETTING = "holds"
ERASURE_SETTING = "erasure"
# ``erase_before: [woocommerce]``: this system's erasure runs before those systems'
# (its connector looks the person up there first, e.g. GA's user id in the shop).
ERASE_BEFORE_SETTING = "erase_before"
# Settings the planner and the executor read and the connector never sees.
PLANNER_SETTINGS = frozenset({HOLDS_SETTING, ERASURE_SETTING, ERASE_BEFORE_SETTING})

_ENTRY = re.compile(
    r"^\s*(?P<rule>[a-z][a-z0-9_]*)\s*:\s*"
    r"(?:(?P<none>none)|(?P<collection>[A-Za-z_][\w.]*)\s*\((?P<fields>[^()]*)\))\s*$"
)
_FIELD = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$")


class HoldsError(ValueError):
    """The ``holds`` setting of a system cannot be used; the message says how to fix it."""


def connector_settings(ref: ConnectorRef) -> dict[str, Any]:
    """A system's connector settings as the connector gets them: the planner's keys left out."""
    return {k: v for k, v in ref.settings.items() if k not in PLANNER_SETTINGS}


@dataclass(frozen=True)
class RuleHold:
    """One retention rule that keeps some of a system's data despite an erasure request."""

    rule: str
    ground: str  # the law, cited the same way in both languages
    until: date | None  # None: the rule has no period ("until the event")
    activities: tuple[str, ...]
    categories: tuple[str, ...]


def hold_until(rule: RetentionRule, today: date) -> date | None:
    """The last day data under ``rule`` may be kept, for a request made on ``today``.

    ``end_of_accounting_year``: 31 December of today's year plus the period, so P5Y gives
    31 December five years on (bokføringsloven § 13(2)); P3Y6M gives 30 June.
    """
    if rule.period is None:
        return None
    start = date(today.year, 12, 31) if rule.counted_from == "end_of_accounting_year" else today
    return rule.period.after(datetime.combine(start, time())).date()


def _ground(activities: Iterable[Activity]) -> str:
    laws: list[str] = []
    for activity in activities:
        for law in activity.legal_basis.national:
            if law not in laws:
                laws.append(law)
    cited = ", ".join(laws) if laws else "GDPR Art. 6(1)(c)"
    return f"{cited} (GDPR Art. 17(3)(b))"


def is_hold(activity: Activity) -> bool:
    """An activity whose data must be kept by law: legal basis Art. 6(1)(c)."""
    return activity.legal_basis.article_6_1 == "c"


def rule_holds(
    inventory: Inventory, system: System, activities: Iterable[Activity], today: date
) -> list[RuleHold]:
    """The retention holds on ``system`` among ``activities``, one per rule, in rule order."""
    by_rule: dict[str, list[Activity]] = {}
    for activity in activities:
        if system.key in activity.systems and is_hold(activity):
            by_rule.setdefault(activity.retention, []).append(activity)
    holds = []
    for key, group in by_rule.items():
        categories: list[str] = []
        for activity in group:
            categories.extend(c for c in activity.data_categories if c not in categories)
        holds.append(
            RuleHold(
                rule=key,
                ground=_ground(group),
                until=hold_until(inventory.rule(key), today),
                activities=tuple(a.key for a in group),
                categories=tuple(categories),
            )
        )
    return holds


@dataclass(frozen=True)
class FieldMap:
    """Where a rule's data lies in a system: (collection, fields) pairs; empty for ``none``."""

    rule: str
    places: tuple[tuple[str, tuple[str, ...]], ...]


def parse_holds(inventory: Inventory, system: System) -> dict[str, FieldMap]:
    """The ``holds`` setting of ``system``, checked against the inventory.

    Raises :class:`HoldsError` naming the system, the entry and the fix.
    """
    if system.connector is None or HOLDS_SETTING not in system.connector.settings:
        return {}
    raw = system.connector.settings[HOLDS_SETTING]
    where = f"systems › {system.key} › connector › settings › {HOLDS_SETTING}"
    if not isinstance(raw, list):
        raise HoldsError(
            f"{where} must be a list of 'RULE: COLLECTION(FIELD, …)' entries, one per line"
        )
    held_here = {
        a.retention for a in inventory.activities if system.key in a.systems and is_hold(a)
    }
    maps: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    for entry in raw:
        match = _ENTRY.match(entry)
        if match is None:
            raise HoldsError(
                f"{where}: {entry!r} is not 'RULE: COLLECTION(FIELD, …)' or 'RULE: none'; "
                "write e.g. 'bookkeeping_primary: orders(order_number, total)'"
            )
        rule = match["rule"]
        if rule not in held_here:
            raise HoldsError(
                f"{where}: {entry!r} names the retention rule {rule!r}, but no activity with "
                f"legal basis Art. 6(1)(c) on {system.key} uses it; name one of "
                f"{', '.join(sorted(held_here)) or '(none: remove the setting)'}"
            )
        places = maps.setdefault(rule, [])
        if match["none"]:
            continue
        fields = tuple(f.strip() for f in match["fields"].split(",") if f.strip())
        bad = [f for f in fields if not _FIELD.match(f)]
        if not fields or bad:
            raise HoldsError(
                f"{where}: {entry!r} needs the names of the fields kept between the "
                "brackets, separated by commas, e.g. 'orders(order_number, total)'"
            )
        places.append((match["collection"], fields))
    return {rule: FieldMap(rule, tuple(places)) for rule, places in maps.items()}


def check_holds(inventory: Inventory) -> list[str]:
    """Every problem with the ``holds`` settings of the inventory's systems (none: [])."""
    problems = []
    for system in inventory.systems:
        try:
            parse_holds(inventory, system)
        except HoldsError as exc:
            problems.append(str(exc))
        if system.connector is not None:
            erasure = system.connector.settings.get(ERASURE_SETTING)
            if erasure is not None and erasure not in ("delete", "anonymize"):
                problems.append(
                    f"systems › {system.key} › connector › settings › {ERASURE_SETTING} is "
                    f"{erasure!r}; write delete or anonymize"
                )
    return problems


@dataclass(frozen=True)
class ErasureHolds:
    """What an erasure in one system keeps: field holds for the connector, or everything."""

    holds: tuple[Hold, ...]
    unmapped: tuple[RuleHold, ...]  # held here but with no field mapping: keep the system
    action: Literal["delete", "anonymize"]


def erasure_holds(inventory: Inventory, system: System, holds: Iterable[RuleHold]) -> ErasureHolds:
    """The :class:`Hold` values the connector gets, from the rules and the system's mapping."""
    mapping: Mapping[str, FieldMap] = parse_holds(inventory, system)
    out: list[Hold] = []
    unmapped: list[RuleHold] = []
    for rule_hold in holds:
        field_map = mapping.get(rule_hold.rule)
        if field_map is None:
            unmapped.append(rule_hold)
            continue
        for collection, fields in field_map.places:
            out.append(Hold(collection, fields, rule_hold.ground, rule_hold.until))
    chosen = system.connector.settings.get(ERASURE_SETTING) if system.connector else None
    action: Literal["delete", "anonymize"]
    if chosen in ("delete", "anonymize"):
        action = "delete" if chosen == "delete" else "anonymize"
    else:
        # Rows that keep held fields must survive, so their other fields are anonymized.
        action = "anonymize" if out else "delete"
    return ErasureHolds(tuple(out), tuple(unmapped), action)


def hold_to_json(hold: Hold) -> dict[str, Any]:
    return {
        "collection": hold.collection,
        "fields": list(hold.fields),
        "ground": hold.ground,
        "until": hold.until.isoformat() if hold.until else None,
    }


def hold_from_json(data: Mapping[str, Any]) -> Hold:
    until = data.get("until")
    return Hold(
        collection=str(data["collection"]),
        fields=tuple(str(f) for f in data["fields"]),
        ground=str(data["ground"]),
        until=date.fromisoformat(until) if until else None,
    )


def rule_hold_to_json(hold: RuleHold) -> dict[str, Any]:
    return {
        "rule": hold.rule,
        "ground": hold.ground,
        "until": hold.until.isoformat() if hold.until else None,
        "activities": list(hold.activities),
        "categories": list(hold.categories),
    }
