"""Retention targets held against the inventory and the systems' datasets (``personvern check``).

Each case adds one rule to the Assemble inventory and expects one problem, at the line of
the offending value, naming what is wrong and how to fix it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from personvern.inventory.loader import load_inventory_text
from personvern.inventory.schema import RetentionRule
from personvern.retention.rules import ends_no_later

ASSEMBLE = Path(__file__).resolve().parents[2] / "src" / "personvern" / "demo" / "assemble"
SOURCE = ASSEMBLE / "privacy.yaml"
MARK = "\n# --- sites"


def with_rule(rule: str) -> str:
    text = SOURCE.read_text(encoding="utf-8")
    assert MARK in text
    return text.replace(MARK, "\n" + rule.rstrip() + "\n" + MARK, 1)


def rule(target: str, *, action: str = "anonymize", preset: str = "support_correspondence") -> str:
    return f"""
  - key: test_rule
    preset: {preset}
    action: {action}
    targets:
      - {target.strip()}
"""


ORDERS = "system: woocommerce\n        collection: orders\n        date_field: created_at"


@pytest.mark.parametrize(
    ("target", "action", "offending", "message", "hint"),
    [
        (
            "system: woocomerce\n        collection: orders\n        date_field: created_at",
            "anonymize",
            "system: woocomerce",
            "applies to system 'woocomerce', but no system has that key",
            "did you mean 'woocommerce'?",
        ),
        (
            "system: email\n        collection: inbox\n        date_field: received",
            "delete",
            "system: email",
            "the manual connector of system 'email' cannot apply retention rules",
            "connector that can sweep",
        ),
        (
            "system: woocommerce\n        collection: order\n        date_field: created_at",
            "anonymize",
            "collection: order",
            "names collection 'order', which the dataset of system 'woocommerce' does not have",
            "did you mean 'orders'?",
        ),
        (
            "system: woocommerce\n        collection: orders\n        date_field: created",
            "anonymize",
            "date_field: created",
            "names field 'created', which orders does not have in the dataset",
            "did you mean 'created_at'?",
        ),
        (
            ORDERS + "\n        fields: {billing_mail: null_rewrite}",
            "anonymize",
            "billing_mail",
            "names field 'billing_mail'",
            "did you mean 'billing_email'?",
        ),
        (
            ORDERS + "\n        where: {state: [completed]}",
            "anonymize",
            "state",
            "names field 'state'",
            "did you mean 'status'?",
        ),
        (
            ORDERS + "\n        fields: {customer_ip: nul_rewrite}",
            "anonymize",
            "nul_rewrite",
            "'nul_rewrite' is not a masking strategy",
            "did you mean 'null_rewrite'?",
        ),
        (
            ORDERS + "\n        fields: {customer_ip: delete}",
            "anonymize",
            "customer_ip: delete",
            "'delete' removes whole records",
            "set 'action: delete'",
        ),
        (
            ORDERS + "\n        fields: {id: null_rewrite}",
            "anonymize",
            "id: null_rewrite",
            "masks orders.id, which is the primary key",
            "leave it out",
        ),
        (
            ORDERS,
            "delete",
            "collection: orders",
            "retention rule 'test_rule' deletes records of woocommerce.orders, but rule "
            "'bookkeeping_primary' keeps order_number",
            "anonymize instead",
        ),
        (
            ORDERS + "\n        fields: {billing_name: null_rewrite, customer_ip: null_rewrite}",
            "anonymize",
            "billing_name",
            "retention rule 'test_rule' masks orders.billing_name, but rule "
            "'bookkeeping_primary' keeps it for longer",
            "leave 'billing_name' out",
        ),
    ],
    ids=[
        "unknown-system",
        "cannot-sweep",
        "unknown-collection",
        "unknown-date-field",
        "unknown-field",
        "unknown-where-field",
        "unknown-strategy",
        "delete-as-strategy",
        "key-field",
        "delete-where-held",
        "mask-held-field",
    ],
)
def test_a_bad_target_is_one_problem_at_its_line(
    target: str, action: str, offending: str, message: str, hint: str
) -> None:
    text = with_rule(rule(target, action=action))
    result = load_inventory_text(text, str(SOURCE))
    assert result.inventory is None
    assert len(result.problems) == 1, [p.format() for p in result.problems]
    problem = result.problems[0]
    assert message in problem.message
    assert problem.hint is not None
    assert hint in problem.hint
    lines = text.splitlines()
    assert offending in lines[problem.line - 1]


def test_a_hold_that_ends_first_is_no_conflict() -> None:
    # The bookkeeping hold (five years after the accounting year) is over when a rule with
    # the same start and period fires: the Assemble order rule masks billing_name then.
    target = ORDERS + "\n        fields: {billing_name: null_rewrite}"
    text = with_rule(rule(target, preset="bookkeeping_primary"))
    result = load_inventory_text(text, str(SOURCE))
    assert result.problems == []


def test_an_unknown_preset_names_the_closest() -> None:
    text = with_rule("  - key: test_rule\n    preset: bookkeeping\n    action: delete\n")
    result = load_inventory_text(text, str(SOURCE))
    messages = [p.format() for p in result.problems]
    assert len(messages) == 1
    assert "there is no retention preset 'bookkeeping'" in messages[0]
    assert "did you mean 'bookkeeping_primary'?" in messages[0]


def test_a_rule_without_preset_still_needs_its_fields() -> None:
    text = with_rule("  - key: test_rule\n    action: delete\n    name: {nb: a, en: b}\n")
    result = load_inventory_text(text, str(SOURCE))
    missing = sorted(p.message for p in result.problems)
    assert missing == [
        "missing required field 'counted_from' in retention[13]",
        "missing required field 'legal_ground' in retention[13]",
    ]


def _rule(period: str | None, counted_from: str) -> RetentionRule:
    data = {
        "key": "r",
        "name": {"nb": "r", "en": "r"},
        "counted_from": counted_from,
        "action": "delete",
        "legal_ground": {"nb": "g", "en": "g"},
    }
    if period is not None:
        data["period"] = period
    return RetentionRule.from_dict(data)


@pytest.mark.parametrize(
    ("holder", "rule", "no_later"),
    [
        (("P5Y", "end_of_accounting_year"), ("P5Y", "end_of_accounting_year"), True),
        (("P3Y6M", "end_of_accounting_year"), ("P5Y", "end_of_accounting_year"), True),
        (("P5Y", "end_of_accounting_year"), ("P3Y", "end_of_accounting_year"), False),
        (("P1Y", "created"), ("P5Y", "end_of_accounting_year"), False),
        ((None, "unsubscribed"), ("P5Y", "unsubscribed"), False),
    ],
)
def test_ends_no_later(
    holder: tuple[str | None, str], rule: tuple[str | None, str], no_later: bool
) -> None:
    assert ends_no_later(_rule(*holder), _rule(*rule)) is no_later


def test_a_copy_without_its_dataset_still_loads(tmp_path: Path) -> None:
    """The dataset belongs to the installation that reaches the shop's database; a copy of
    the inventory that serves only the banner and the notices has none, and must load."""
    from personvern.inventory.loader import load_inventory

    copy = tmp_path / "privacy.yaml"
    copy.write_text((ASSEMBLE / "privacy.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    result = load_inventory(copy)
    assert result.problems == []
