"""Manual checklists: One.com, Google Ads and Meta tasks list what to go through.

The checklist is data on the ``manual`` connector (:data:`CHECKLISTS`); the planner's
manual task (:func:`personvern.dsr.drafts.manual_task`) adds the items that apply to its
instructions, in bokmål and English. The inventory blocks here are the ones proposed for
the Assemble inventory, so they are also checked against the inventory's own rules.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from payments_support import ASSEMBLE, TODAY, assemble, request

from personvern.connectors.manual import (
    CHECKLISTS,
    ChecklistItem,
    ManualConnector,
    ManualSettings,
    checklist,
)
from personvern.connectors.registry import ConnectorRegistry
from personvern.dsr.plan import make_plan
from personvern.inventory.schema import Inventory
from personvern.inventory.secrets import check_secrets

# The connector blocks proposed for src/personvern/demo/assemble/privacy.yaml.
BLOCKS: dict[str, dict[str, Any]] = {
    "one_com": {"contact_email": "privacy@one.com", "checklist": "one_com"},
    "google_ads": {
        "contact_url": "https://policies.google.com/privacy",
        "checklist": "google_ads",
        "customer_lists": False,
    },
    "facebook_pixel": {
        "contact_url": "https://www.facebook.com/privacy/policy",
        "checklist": "meta",
        "customer_lists": False,
    },
}
NAMES = {"one_com": "one_com", "google_ads": "google_ads", "facebook_pixel": "meta"}


def _instructions(system: str, kind: str = "erase", **settings: Any) -> dict[str, str]:
    inventory = assemble(**{system: {**BLOCKS[system], **settings}})
    registry = ConnectorRegistry([ManualConnector])
    steps = make_plan(inventory, request(kind), registry, today=TODAY)
    step = next(s for s in steps if s.system_key == system)
    assert step.disposition == "manual"
    assert step.manual is not None
    return dict(step.manual.instructions)


@pytest.mark.parametrize("system", sorted(BLOCKS))
@pytest.mark.parametrize("kind", ["access", "erase"])
def test_the_checklist_is_in_the_task_in_both_languages(system: str, kind: str) -> None:
    instructions = _instructions(system, kind)
    for item in CHECKLISTS[NAMES[system]]:
        if item.when is not None:
            continue
        assert f"☐ {item.nb}" in instructions["nb"]
        assert f"☐ {item.en}" in instructions["en"]
        assert item.en not in instructions["nb"]


@pytest.mark.parametrize(
    ("system", "words_en", "words_nb"),
    [
        ("google_ads", "Customer Match", "Customer Match"),
        ("facebook_pixel", "Custom Audiences", "Egendefinerte målgrupper"),
    ],
)
@pytest.mark.parametrize("uses_lists", [False, True])
def test_audience_removal_only_when_customer_lists_are_used(
    system: str, words_en: str, words_nb: str, uses_lists: bool
) -> None:
    instructions = _instructions(system, customer_lists=uses_lists)
    assert (words_en in instructions["en"]) is uses_lists
    assert (words_nb in instructions["nb"]) is uses_lists
    # The referral to the vendor's own tools is there either way.
    referral = {"google_ads": "My Ad Center", "facebook_pixel": "off Meta technologies"}
    assert referral[system] in instructions["en"]


def test_one_com_covers_mailboxes_backups_and_logs() -> None:
    en = _instructions("one_com")["en"]
    for words in ("mailboxes", "Backups", "rotate out", "access logs", "IP addresses"):
        assert words in en


def test_a_system_without_a_checklist_has_no_boxes() -> None:
    inventory = assemble()
    steps = make_plan(
        inventory, request("erase"), ConnectorRegistry([ManualConnector]), today=TODAY
    )
    chat = next(s for s in steps if s.system_key == "chat")
    assert chat.manual is not None
    assert "☐" not in chat.manual.instructions["en"]


def test_an_unknown_checklist_names_the_ones_there_are() -> None:
    with pytest.raises(ValueError, match="google_ads, google_analytics, meta, one_com"):
        checklist({"checklist": "one.com"})
    with pytest.raises(ValueError, match="customer_lists as true or false"):
        checklist({"checklist": ["meta"], "customer_lists": "sometimes"})


def test_items_of_ones_own_and_named_lists_combine_in_order() -> None:
    own = ChecklistItem(nb="Slett kundekortet i kassasystemet.", en="Delete the POS card.")
    settings = ManualSettings(checklist=["one_com", own])
    items = settings.checklist_items()
    assert items[: len(CHECKLISTS["one_com"])] == list(CHECKLISTS["one_com"])
    assert items[-1] == own
    assert own.text("nb") == "Slett kundekortet i kassasystemet."
    assert own.text("en") == "Delete the POS card."


def test_every_item_is_written_in_both_languages() -> None:
    for name, items in CHECKLISTS.items():
        assert items, name
        for item in items:
            assert item.nb.strip()
            assert item.en.strip()
            assert item.nb != item.en


def test_the_proposed_blocks_pass_the_inventory_checks() -> None:
    data = yaml.safe_load(ASSEMBLE.read_text())
    for system in data["systems"]:
        if system["key"] in BLOCKS:
            system["connector"] = {"type": "manual", "settings": BLOCKS[system["key"]]}
    Inventory.from_dict(data)
    assert check_secrets(data) == []
    for settings in BLOCKS.values():
        ManualSettings.model_validate(settings)
