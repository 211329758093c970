"""Manual tasks the shop does itself in a processor's tool, and those it sends to a vendor.

Google Analytics is a processor with no per-person export (GA4): access becomes a manual
task, and the shop looks the person up in its own property's User explorer. With
``instructions`` or a ``checklist`` and no ``contact_email``/``contact_url`` in the
connector's settings, the task says the shop does it itself and drafts no e-mail. Everything
else stays: vendors with a contact get the drafted request, and independent or joint
controllers are always written to (GDPR Art. 19).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from personvern.connectors.google_analytics import GoogleAnalyticsConnector
from personvern.connectors.manual import CHECKLISTS, ManualConnector
from personvern.connectors.registry import ConnectorRegistry
from personvern.dsr.drafts import ManualTask, RequestFacts, is_internal, manual_task
from personvern.dsr.plan import make_plan
from personvern.dsr.status import StepAction
from personvern.i18n import LANGUAGES
from personvern.inventory.schema import Inventory
from personvern.store.requests import DataRequest

ASSEMBLE = Path(__file__).resolve().parents[2] / "examples" / "assemble" / "privacy.yaml"
GA_SECRETS = {
    "property_id_env": "GA4_PROPERTY_ID",
    "credentials_file_env": "GOOGLE_APPLICATION_CREDENTIALS",
}
OWN_STEPS = "Look the person up in the property and export what you find."
SELF = {
    "en": "You do this yourself, in the shop's own Google Analytics account",
    "nb": "Dette gjør du selv, i butikkens egen Google Analytics-konto",
}
FACTS = RequestFacts(
    kind="access",
    email="kari.nordmann@example.no",
    name="Kari Nordmann",
    phone=None,
    received=date(2026, 3, 1),
    due=date(2026, 4, 1),
    changes={},
)


def inventory(system: str, settings: dict[str, Any]) -> Inventory:
    """The Assemble inventory with one system's connector settings replaced."""
    data = yaml.safe_load(ASSEMBLE.read_text())
    for entry in data["systems"]:
        if entry["key"] == system:
            entry["connector"]["settings"] = settings
    return Inventory.from_dict(data)


def task(system: str, settings: dict[str, Any], action: StepAction = "access") -> ManualTask:
    inv = inventory(system, settings)
    kind = {"access": "access", "erase": "erase", "restrict": "restrict"}[action]
    facts = RequestFacts(**{**FACTS.__dict__, "kind": kind})
    return manual_task(inv, inv.system(system), facts, action, "lacks_capability")


# (system, connector settings, action, done by the shop itself)
CASES: list[tuple[str, dict[str, Any], StepAction, bool]] = [
    ("google_analytics", {**GA_SECRETS, "checklist": "google_analytics"}, "access", True),
    ("google_analytics", {**GA_SECRETS, "instructions": OWN_STEPS}, "access", True),
    (
        "google_analytics",
        {**GA_SECRETS, "instructions": OWN_STEPS, "checklist": ["google_analytics"]},
        "erase",
        True,
    ),
    # A contact means the vendor is asked, checklist or not.
    (
        "google_analytics",
        {**GA_SECRETS, "checklist": "google_analytics", "contact_url": "https://g.co/p"},
        "access",
        False,
    ),
    (
        "google_analytics",
        {**GA_SECRETS, "instructions": OWN_STEPS, "contact_email": "dpo@vendor.example"},
        "access",
        False,
    ),
    # Nothing said: the request goes to the vendor, as before.
    ("google_analytics", dict(GA_SECRETS), "access", False),
    # Controllers of their own data are written to even with steps of our own (Art. 19).
    ("klarna", {"instructions": OWN_STEPS}, "erase", False),
    ("facebook_pixel", {"checklist": "meta"}, "erase", False),
    ("facebook_pixel", {"checklist": "meta"}, "restrict", False),
]


@pytest.mark.parametrize(("system", "settings", "action", "itself"), CASES)
def test_who_does_the_task(
    system: str, settings: dict[str, Any], action: StepAction, itself: bool
) -> None:
    inv = inventory(system, settings)
    assert is_internal(inv.system(system)) is itself
    made = task(system, settings, action)
    entity = inv.system(system).legal_entity
    assert entity is not None
    for lang in LANGUAGES:
        text = made.instructions[lang]
        if itself:
            assert text.startswith(SELF[lang]), text
            assert entity.name in text.splitlines()[0]  # named as the one not asked
            assert "policies.google.com" not in text
        else:
            assert not text.startswith(SELF[lang])
    if itself:
        assert made.email is None
        assert made.to is None
        assert made.contact_url is None
    else:
        assert made.email is not None
        assert set(made.email) == set(LANGUAGES)
        assert made.to is not None or made.contact_url is not None
        assert entity.name in made.email["en"].body


def test_the_ga_task_has_the_user_explorer_checklist_in_both_languages() -> None:
    made = task("google_analytics", {**GA_SECRETS, "checklist": "google_analytics"})
    for lang in LANGUAGES:
        lines = made.instructions[lang].splitlines()
        ticks = [line.removeprefix("☐ ") for line in lines if line.startswith("☐ ")]
        assert ticks == [item.text(lang) for item in CHECKLISTS["google_analytics"]]
        assert lines[1].startswith(("Search Google Analytics", "Søk gjennom Google Analytics"))
        assert lines[-1].startswith(("Deadline", "Frist"))
    english = made.instructions["en"]
    assert "User explorer" in english
    assert "_ga" in english
    assert "customer number" in english
    assert "Export" in english
    assert "Brukerutforsker" in made.instructions["nb"]


def test_own_instructions_come_after_the_first_lines() -> None:
    made = task("google_analytics", {**GA_SECRETS, "instructions": OWN_STEPS})
    lines = made.instructions["en"].splitlines()
    assert lines[0].startswith(SELF["en"])
    assert OWN_STEPS in lines
    assert "☐" not in made.instructions["en"]


def test_an_independent_controller_still_gets_the_letter_and_the_art_19_line() -> None:
    made = task("klarna", {"instructions": OWN_STEPS}, "erase")
    assert made.email is not None
    assert "GDPR Art. 19" in made.email["en"].body
    assert "passed the request on to Klarna" in made.instructions["en"]
    assert OWN_STEPS in made.instructions["en"]


def test_our_own_systems_are_unchanged() -> None:
    """An internal system was always done by the shop: no "yourself" line, its contact kept."""
    made = task("email", {"contact_email": "tor@assemble.no", "instructions": OWN_STEPS})
    assert made.email is None
    assert made.to == "tor@assemble.no"
    assert made.instructions["en"].startswith("Search ")
    assert OWN_STEPS in made.instructions["en"]


def test_the_planner_makes_the_ga_access_step_a_task_for_the_shop() -> None:
    """With the real GA connector installed: it cannot access, so the step is manual."""
    inv = inventory("google_analytics", {**GA_SECRETS, "checklist": "google_analytics"})
    registry = ConnectorRegistry([GoogleAnalyticsConnector, ManualConnector])
    request = DataRequest(
        id="00000000-0000-4000-8000-000000000009",
        kind="access",
        status="verified",
        email=FACTS.email,
        email_key="k",
        name=FACTS.name,
        phone=None,
        lang="nb",
        channel="form",
        received_at=datetime(2026, 3, 1, 9, 30, tzinfo=UTC),
        due_at=datetime(2026, 4, 1, 9, 30, tzinfo=UTC),
        changes=json.dumps({}),
    )
    steps = make_plan(inv, request, registry, today=date(2026, 3, 1))
    step = next(s for s in steps if s.system_key == "google_analytics")
    assert step.disposition == "manual"
    assert step.manual is not None
    assert step.manual.reason == "lacks_capability"
    assert step.manual.email is None
    assert step.manual.instructions["nb"].startswith(SELF["nb"])
    # The task survives the trip through the store's JSON.
    assert ManualTask.from_json(step.manual.to_json()) == step.manual
