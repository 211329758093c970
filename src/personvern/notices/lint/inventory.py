"""Checking an inventory against the rules in ``inventory_rules.yaml``.

The notices can only be as complete as the inventory they are made from: an activity
without the Art. 13(2)(e) requirement statement gives a policy without it. The rules are
data (each names the part it checks, the inventory path, and the article); this module
turns each part of the inventory into plain values, adds a few derived fields (whether a
system is outside the EEA, which activities use it, the legal bases behind a cookie), and
evaluates the rules' conditions on them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, cast

import yaml
from pydantic import BaseModel

from personvern.inventory.durations import Period
from personvern.inventory.schema import EEA_COUNTRIES, Inventory
from personvern.notices.lint.checklist import ChecklistError
from personvern.notices.lint.report import Evidence, LintItem, LintReport, Severity
from personvern.notices.vocabulary import LANGS, Lang

PARTS = ("activities", "systems", "cookies", "retention", "inventory")
_TESTS = frozenset({"present", "equals", "in", "not_in", "prefix", "contains", "subset_of"})


def _get(item: Mapping[str, Any], dotted: str) -> Any:
    value: Any = item
    for part in dotted.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _present(value: Any) -> bool:
    return value is not None and value != "" and value != [] and value != {}


def _test(value: Any, test: str, expected: Any) -> bool:
    if test == "present":
        return _present(value) == bool(expected)
    if test == "equals":
        return bool(value == expected)
    if test == "in":
        return value in expected
    if test == "not_in":
        return value not in expected
    if test == "prefix":
        prefixes = [expected] if isinstance(expected, str) else list(expected)
        return isinstance(value, str) and any(value.startswith(p) for p in prefixes)
    if test == "contains":
        return isinstance(value, list) and any(str(v).startswith(expected) for v in value)
    if test == "subset_of":
        return isinstance(value, list) and set(value) <= set(expected)
    raise ChecklistError(f"unknown test {test!r}; use one of {', '.join(sorted(_TESTS))}")


def holds(item: Mapping[str, Any], condition: Mapping[str, Any]) -> bool:
    """Whether ``item`` meets ``condition`` (all fields, or ``any`` of the alternatives)."""
    if "any" in condition:
        return any(holds(item, alternative) for alternative in condition["any"])
    return all(
        _test(_get(item, field), test, expected)
        for field, tests in condition.items()
        for test, expected in tests.items()
    )


def values(value: Any) -> Any:
    """A model as plain values, field by field. Unlike ``model_dump`` this also works on a
    model built without validation, whose fields may hold ``None`` where a type says not."""
    if isinstance(value, BaseModel):
        return {name: values(getattr(value, name)) for name in type(value).model_fields}
    if isinstance(value, list | tuple):
        return [values(v) for v in value]
    if isinstance(value, Period):
        return value.iso()
    return value


def parts(inventory: Inventory, lang: Lang) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """Each checked part as ``(label, plain values with derived fields)`` per item."""
    using: dict[str, list[str]] = {}
    bases: dict[str, set[str]] = {}
    for activity in inventory.activities:
        for key in activity.systems:
            using.setdefault(key, []).append(activity.key)
            bases.setdefault(key, set()).add(activity.legal_basis.article_6_1)

    systems = []
    for system in inventory.systems:
        item = values(system)
        entity_country = system.legal_entity.country if system.legal_entity else system.country
        item["outside_eea"] = (
            system.country not in EEA_COUNTRIES or entity_country not in EEA_COUNTRIES
        )
        item["activities"] = using.get(system.key, [])
        systems.append((system.name, item))

    cookies = []
    for cookie in inventory.cookies:
        item = values(cookie)
        item["activity_bases"] = sorted(bases.get(cookie.system or "", set()))
        cookies.append((cookie.label, item))

    return {
        "activities": [(a.name.get(lang), values(a)) for a in inventory.activities],
        "systems": systems,
        "cookies": cookies,
        "retention": [(r.name.get(lang), values(r)) for r in inventory.retention],
        # The inventory as a whole, for rules on its top-level lists.
        "inventory": [(inventory.controller.name, values(inventory))],
    }


@dataclass(frozen=True)
class InventoryRule:
    id: str
    title: Mapping[str, str]
    source: str
    severity: Severity
    over: str
    path: str
    where: Mapping[str, Any] | None
    require: Mapping[str, Any]
    message: Mapping[str, str]
    advice: Mapping[str, str]

    def check(self, items: Sequence[tuple[str, dict[str, Any]]], lang: Lang) -> LintItem:
        selected = [
            (index, label, values)
            for index, (label, values) in enumerate(items)
            if self.where is None or holds(values, self.where)
        ]
        failures = tuple(
            Evidence(
                self.message[lang].format(label=label),
                path=self.path.replace("[]", f"[{index}]", 1),
            )
            for index, label, values in selected
            if not holds(values, self.require)
        )
        if not selected:
            status = "not_applicable"
        elif failures:
            status = self.severity
        else:
            status = "covered" if self.severity == "missing" else "clear"
        return LintItem(
            id=self.id,
            title=self.title,
            source=self.source,
            severity=self.severity,
            status=status,  # type: ignore[arg-type]  # one of the Status literals above
            evidence=failures,
            advice=self.advice,
        )


def _languages(where: str, value: Any) -> Mapping[str, str]:
    if not isinstance(value, Mapping) or set(value) != set(LANGS):
        raise ChecklistError(f"{where} needs exactly the languages {', '.join(LANGS)}")
    return value


def _condition(where: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ChecklistError(f"{where} is a mapping of fields to tests")
    if "any" in value:
        for index, alternative in enumerate(value["any"]):
            _condition(f"{where}.any[{index}]", alternative)
        return value
    for field, tests in value.items():
        if not isinstance(tests, Mapping) or not set(tests) <= _TESTS:
            raise ChecklistError(f"{where}.{field}: use the tests {', '.join(sorted(_TESTS))}")
    return value


def parse_inventory_rules(data: Any) -> tuple[InventoryRule, ...]:
    """Validate the parsed rules document."""
    if not isinstance(data, Mapping) or not isinstance(data.get("rules"), list):
        raise ChecklistError("inventory rules are a mapping with a list under 'rules'")
    needed = {"id", "title", "source", "severity", "over", "path", "require", "message", "advice"}
    rules = []
    for index, raw in enumerate(data["rules"]):
        where = f"rules[{index}]"
        if not isinstance(raw, Mapping) or not needed <= set(raw):
            raise ChecklistError(f"{where} needs {', '.join(sorted(needed))}")
        where = f"rule {raw['id']!r}"
        if raw["over"] not in PARTS:
            raise ChecklistError(f"{where}: 'over' is one of {', '.join(PARTS)}")
        if raw["severity"] not in ("missing", "wrong"):
            raise ChecklistError(f"{where}: severity is 'missing' or 'wrong'")
        rules.append(
            InventoryRule(
                id=str(raw["id"]),
                title=_languages(f"{where}.title", raw["title"]),
                source=str(raw["source"]),
                severity=cast(Severity, raw["severity"]),
                over=str(raw["over"]),
                path=str(raw["path"]),
                where=_condition(f"{where}.where", raw["where"]) if "where" in raw else None,
                require=_condition(f"{where}.require", raw["require"]),
                message=_languages(f"{where}.message", raw["message"]),
                advice=_languages(f"{where}.advice", raw["advice"]),
            )
        )
    return tuple(rules)


@cache
def load_inventory_rules() -> tuple[InventoryRule, ...]:
    """The rules shipped with personvern (``lint/inventory_rules.yaml``)."""
    source = resources.files("personvern.notices.lint").joinpath("inventory_rules.yaml")
    return parse_inventory_rules(yaml.safe_load(source.read_text("utf-8")))


def lint_inventory(
    inventory: Inventory, lang: Lang = "nb", name: str = "privacy.yaml"
) -> LintReport:
    """Check ``inventory`` against every inventory rule; findings name the inventory path."""
    checked = parts(inventory, lang)
    items = [rule.check(checked[rule.over], lang) for rule in load_inventory_rules()]
    return LintReport(
        name=name, lang=lang, subject="inventory", source_format="inventory", items=items
    )
