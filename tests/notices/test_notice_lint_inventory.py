"""The inventory linter: each rule names the inventory path and the article it rests on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from personvern.inventory.schema import Inventory, LegalBasis
from personvern.notices import lint_inventory
from personvern.notices.lint.checklist import ChecklistError
from personvern.notices.lint.inventory import load_inventory_rules, parse_inventory_rules


def _with(inventory: Inventory, part: str, index: int, **changes: Any) -> Inventory:
    """``inventory`` with one item of ``part`` changed, without re-validation (as a hand-made
    or older inventory might be)."""
    items = list(getattr(inventory, part))
    items[index] = items[index].model_copy(update=changes)
    return inventory.model_copy(update={part: items})


def _index(inventory: Inventory, part: str, key: str) -> int:
    for index, item in enumerate(getattr(inventory, part)):
        if getattr(item, "key", None) == key or getattr(item, "name", None) == key:
            return index
    raise KeyError(key)


@pytest.mark.parametrize("lang", ["nb", "en"])
def test_the_fixture_inventory_is_clean(assemble: Inventory, lang: str) -> None:
    report = lint_inventory(assemble, lang)  # type: ignore[arg-type]
    assert report.ok, report.format()
    assert [i.id for i in report.items] == [r.id for r in load_inventory_rules()]


def test_every_rule_names_a_path_and_a_legal_source() -> None:
    for rule in load_inventory_rules():
        assert rule.path.split("[", 1)[0] in Inventory.model_fields, rule.id
        assert any(law in rule.source for law in ("GDPR", "ekomloven", "markedsføringsloven"))


Breaker = Callable[[Inventory], Inventory]


def _no_requirement(inv: Inventory) -> Inventory:
    return _with(inv, "activities", _index(inv, "activities", "orders"), requirement=None)


def _no_transfer(inv: Inventory) -> Inventory:
    return _with(inv, "systems", _index(inv, "systems", "mailchimp"), transfer=None)


def _no_dpa(inv: Inventory) -> Inventory:
    return _with(inv, "systems", _index(inv, "systems", "visma"), dpa=None)


def _marketing_without_consent(inv: Inventory) -> Inventory:
    basis = LegalBasis.model_construct(article_6_1="f", national=[], legitimate_interest=None)
    return _with(inv, "activities", _index(inv, "activities", "newsletter"), legal_basis=basis)


def _analytics_on_legitimate_interest(inv: Inventory) -> Inventory:
    basis = LegalBasis.model_construct(article_6_1="f", national=[], legitimate_interest=None)
    return _with(inv, "activities", _index(inv, "activities", "analytics"), legal_basis=basis)


def _profiling_undescribed(inv: Inventory) -> Inventory:
    return _with(
        inv, "activities", _index(inv, "activities", "advertising"), automated_decision=None
    )


def _unused_system(inv: Inventory) -> Inventory:
    index = _index(inv, "activities", "bookkeeping")
    return _with(inv, "activities", index, systems=["shop"])


def _no_lifetime(inv: Inventory) -> Inventory:
    return _with(inv, "cookies", 0, lifetime=None)


def _retention_without_end(inv: Inventory) -> Inventory:
    return _with(inv, "retention", _index(inv, "retention", "newsletter"), counted_from="created")


def _third_party_cookie_without_system(inv: Inventory) -> Inventory:
    index = next(i for i, c in enumerate(inv.cookies) if c.party == "third")
    return _with(inv, "cookies", index, system=None)


def _no_security_measures(inv: Inventory) -> Inventory:
    return inv.model_copy(update={"security_measures": []})


@pytest.mark.parametrize(
    ("breaker", "rule", "status", "path"),
    [
        (_no_security_measures, "security_measures", "missing", "security_measures"),
        (_no_requirement, "requirement_stated", "missing", "activities[0].requirement"),
        (_no_transfer, "transfer_mechanism", "missing", "systems[4].transfer"),
        (_no_dpa, "processor_agreement", "missing", "systems[8].dpa"),
        (_marketing_without_consent, "email_marketing_basis", "wrong", "activities[4].legal_basis"),
        (_marketing_without_consent, "legitimate_interest", "missing", None),
        (
            _analytics_on_legitimate_interest,
            "tracking_cookies_consent",
            "wrong",
            "cookies[4].system",
        ),
        (
            _profiling_undescribed,
            "profiling_described",
            "missing",
            "activities[7].automated_decision",
        ),
        (_unused_system, "system_has_purpose", "missing", "systems[8].key"),
        (_no_lifetime, "cookie_lifetime", "missing", "cookies[0].lifetime"),
        (_retention_without_end, "retention_criterion", "missing", "retention[4].period"),
        (_third_party_cookie_without_system, "third_party_cookie_system", "missing", None),
    ],
)
def test_a_broken_inventory_is_reported_with_path_and_message(
    assemble: Inventory, breaker: Breaker, rule: str, status: str, path: str | None
) -> None:
    report = lint_inventory(breaker(assemble), "nb")
    item = report.item(rule)
    assert item.status == status, report.format()
    assert not report.ok
    assert item.evidence
    assert all(e.path for e in item.evidence)
    if path is not None:
        assert item.evidence[0].path == path
    assert item.advice["nb"]
    assert item.advice["en"]
    assert f"{item.evidence[0].path}: " in report.format("nb")


def test_rules_without_items_to_check_are_not_applicable(assemble: Inventory) -> None:
    report = lint_inventory(assemble.model_copy(update={"cookies": []}), "en")
    assert report.item("cookie_lifetime").status == "not_applicable"
    assert report.ok


def test_inventory_report_json(assemble: Inventory) -> None:
    data = lint_inventory(_no_dpa(assemble), "en").to_json()
    assert data["subject"] == "inventory"
    assert data["ok"] is False
    item = next(i for i in data["items"] if i["id"] == "processor_agreement")
    assert item["evidence"] == [
        {
            "text": "The processor Visma eAccounting has no processing agreement recorded.",
            "path": "systems[8].dpa",
        }
    ]


def test_the_example_inventory_reports_item_by_item(example: Inventory) -> None:
    report = lint_inventory(example, "nb")
    assert {i.id for i in report.items} == {r.id for r in load_inventory_rules()}
    assert report.item("activity_legal_basis").status == "covered"
    assert report.item("transfer_mechanism").status == "covered"


def test_malformed_inventory_rules_are_refused() -> None:
    rule = {
        "id": "x",
        "title": {"nb": "a", "en": "a"},
        "source": "GDPR",
        "severity": "missing",
        "over": "activities",
        "path": "activities[]",
        "require": {"requirement": {"exists": True}},
        "message": {"nb": "a", "en": "a"},
        "advice": {"nb": "a", "en": "a"},
    }
    with pytest.raises(ChecklistError, match="use the tests"):
        parse_inventory_rules({"rules": [rule]})
    with pytest.raises(ChecklistError, match="'over' is one of"):
        parse_inventory_rules({"rules": [{**rule, "over": "sites"}]})
