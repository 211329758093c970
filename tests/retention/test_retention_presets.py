"""The Norwegian retention presets, and rules that name them."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from personvern.dsr.holds import hold_until
from personvern.inventory.loader import require_inventory
from personvern.inventory.schema import RetentionRule
from personvern.retention.presets import PresetCatalog, UnknownPreset

ASSEMBLE = Path(__file__).resolve().parents[2] / "src" / "personvern" / "demo" / "assemble"


@pytest.mark.parametrize(
    ("key", "period", "counted_from", "assumption", "cites", "source"),
    [
        ("bookkeeping_primary", "P5Y", "end_of_accounting_year", False, "§ 13", "2004-11-19-73"),
        (
            "bookkeeping_secondary",
            "P3Y6M",
            "end_of_accounting_year",
            False,
            "§ 13",
            "2004-11-19-73",
        ),
        (
            "consent_records",
            "P3Y",
            "consent_withdrawn",
            True,
            "foreldelsesloven § 2",
            "1979-05-18-18",
        ),
        ("newsletter", None, "unsubscribed", False, "markedsføringsloven § 15", "2009-01-09-2"),
        (
            "inactive_customer_accounts",
            "P3Y",
            "last_activity",
            True,
            "artikkel 5",
            "datatilsynet.no",
        ),
        (
            "support_correspondence",
            "P3Y",
            "case_closed",
            True,
            "foreldelsesloven § 2",
            "1979-05-18-18",
        ),
    ],
)
def test_each_preset_cites_its_source(
    key: str, period: str | None, counted_from: str, assumption: bool, cites: str, source: str
) -> None:
    preset = PresetCatalog().get(key)
    assert (preset.period.iso() if preset.period else None) == period
    assert preset.counted_from == counted_from
    assert preset.assumption is assumption
    assert cites in preset.legal_ground.nb
    assert source in preset.source
    assert all(s.startswith("https://") for s in preset.sources)
    if assumption:
        assert (
            "Ingen lov fastsetter" in preset.legal_ground.nb
            or "Ingen lov" in preset.legal_ground.nb
        )


def test_an_unknown_preset_names_the_closest() -> None:
    with pytest.raises(UnknownPreset, match="did you mean 'newsletter'"):
        PresetCatalog().get("newsleter")


def _rule(**extra: object) -> RetentionRule:
    return RetentionRule.from_dict({"key": "orders", "action": "anonymize", **extra})


def test_a_preset_fills_what_the_rule_leaves_out() -> None:
    rule = _rule(preset="bookkeeping_primary")
    preset = PresetCatalog().get("bookkeeping_primary")
    assert rule.period == preset.period
    assert rule.counted_from == "end_of_accounting_year"
    assert rule.legal_ground.nb == preset.legal_ground.nb
    assert rule.name.en == preset.name.en
    assert rule.deviations() == ()
    # An order placed 1 March 2026 is kept until 31 December 2031 (bokføringsloven § 13(2)).
    assert hold_until(rule, date(2026, 3, 1)) == date(2031, 12, 31)


def test_what_the_rule_says_itself_wins_and_is_recorded() -> None:
    rule = _rule(preset="support_correspondence", period="P1Y", assumption=True)
    assert str(rule.period) == "P1Y"
    assert rule.deviations() == ("period",)
    assert _rule(preset="newsletter", period=None).deviations() == ()
    assert _rule(preset="bookkeeping_primary", period=None).deviations() == ("period",)


@pytest.mark.parametrize(
    "data",
    [
        {"preset": "bookkeeping_primary"},
        {"preset": "support_correspondence", "period": "P1Y"},
        {"preset": "bookkeeping_primary", "period": None},
        {
            "preset": "newsletter",
            "exceptions": {"nb": "Sperrelisten", "en": "The suppression list"},
        },
        {
            "preset": "bookkeeping_primary",
            "targets": [
                {
                    "system": "shop",
                    "collection": "orders",
                    "date_field": "created_at",
                    "where": {"status": "completed"},
                    "fields": {"billing_email": "null_rewrite"},
                }
            ],
        },
    ],
)
def test_round_trip_leaves_out_what_the_preset_gives(data: dict[str, object]) -> None:
    rule = _rule(**data)
    dumped = rule.to_dict()
    assert RetentionRule.from_dict(dumped) == rule
    assert "legal_ground" not in dumped
    assert ("period" in dumped) is ("period" in data)


def test_fields_to_mask_are_for_anonymize_only() -> None:
    target = {
        "system": "shop",
        "collection": "t",
        "date_field": "d",
        "fields": {"x": "null_rewrite"},
    }
    with pytest.raises(ValueError, match="lists fields to mask"):
        _rule(preset="newsletter", action="delete", targets=[target])


def test_the_assemble_inventory_uses_the_presets() -> None:
    inventory = require_inventory(ASSEMBLE / "privacy.yaml")
    used = {r.preset for r in inventory.retention if r.preset}
    assert used == set(PresetCatalog().keys())
    orders = inventory.rule("order_records")
    assert [(t.system, t.collection, orders.action_for(t)) for t in orders.targets] == [
        ("woocommerce", "orders", "anonymize")
    ]
    assert inventory.rule("support_cases").deviations() == ("period", "legal_ground")
