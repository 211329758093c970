"""The plan: which systems, which action, who does it, what an erasure keeps and until when.

Table-driven over the Assemble inventory, with connectors stood in by small real classes
registered in a registry of the test's own (as a third-party connector would register).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml
from pydantic import BaseModel, ConfigDict

from personvern.connectors.base import Capability, Connector, Hold
from personvern.connectors.manual import ManualConnector
from personvern.connectors.registry import ConnectorRegistry
from personvern.dsr.holds import check_holds, connector_settings, hold_until
from personvern.dsr.plan import PlanError, PlannedStep, make_plan, store_plan
from personvern.i18n import translator
from personvern.inventory.schema import Inventory, RetentionRule
from personvern.runtime import Runtime
from personvern.store.requests import DataRequest, RequestStep

ASSEMBLE = Path(__file__).resolve().parents[2] / "examples" / "assemble" / "privacy.yaml"
TODAY = date(2026, 3, 1)
RECEIVED = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
DUE = datetime(2026, 4, 1, 9, 30, tzinfo=UTC)
PRIMARY = "bokføringsloven § 13, bokføringsforskriften § 5-1-1 (GDPR Art. 17(3)(b))"


class _AnySettings(BaseModel):
    model_config = ConfigDict(extra="allow")


def _connector(name: str, *caps: Capability) -> type[Connector]:
    """A stand-in for a connector type the Assemble inventory names."""
    return type(
        f"{name.title()}Connector",
        (Connector,),
        {
            "name": name,
            "capabilities": frozenset(caps),
            "Settings": _AnySettings,
            "__annotations__": {"name": ClassVar[str]},
        },
    )


def _inventory(**connector_settings_of: dict[str, Any]) -> Inventory:
    data = yaml.safe_load(ASSEMBLE.read_text())
    for system in data["systems"]:
        if system["key"] == "woocommerce":
            # These tests register their own "woocommerce" connector, and give the holds
            # mapping themselves (the example reaches the shop through the sql connector).
            system["connector"] = {"type": "woocommerce", "settings": {}}
        if system["key"] in connector_settings_of:
            system["connector"]["settings"].update(connector_settings_of[system["key"]])
    return Inventory.from_dict(data)


def _request(kind: str = "erase", changes: dict[str, Any] | None = None) -> DataRequest:
    return DataRequest(
        id="00000000-0000-4000-8000-000000000001",
        kind=kind,
        status="verified",
        email="kari.nordmann@example.no",
        email_key="k",
        name="Kari Nordmann",
        phone=None,
        lang="nb",
        channel="form",
        received_at=RECEIVED,
        due_at=DUE,
        changes=json.dumps(changes or {}),
    )


def _by_system(steps: list[PlannedStep]) -> dict[str, PlannedStep]:
    return {s.system_key: s for s in steps}


SHOP_HOLDS = [
    "bookkeeping_primary: orders(order_number, created_at, billing_name, billing_email, total)",
    "bookkeeping_primary: order_lines(order_id, product, quantity, price)",
    "bookkeeping_secondary: none",
]


# --- end dates of retention holds -----------------------------------------------------------


def _rule(period: str | None, counted_from: str) -> RetentionRule:
    return RetentionRule.from_dict(
        {
            "key": "r",
            "name": {"nb": "r", "en": "r"},
            "period": period,
            "counted_from": counted_from,
            "action": "delete",
            "legal_ground": {"nb": "x", "en": "x"},
        }
    )


@pytest.mark.parametrize(
    ("period", "counted_from", "today", "until"),
    [
        # bokføringsloven § 13(2): five years after the end of the accounting year.
        ("P5Y", "end_of_accounting_year", date(2026, 3, 1), date(2031, 12, 31)),
        ("P5Y", "end_of_accounting_year", date(2026, 1, 1), date(2031, 12, 31)),
        ("P5Y", "end_of_accounting_year", date(2026, 12, 31), date(2031, 12, 31)),
        ("P5Y", "end_of_accounting_year", date(2027, 1, 1), date(2032, 12, 31)),
        # Secondary documentation: 3.5 years; 31 December + 6 months is 30 June.
        ("P3Y6M", "end_of_accounting_year", date(2026, 3, 1), date(2030, 6, 30)),
        ("P90D", "created", date(2026, 3, 1), date(2026, 5, 30)),
        ("P1Y", "order_completed", date(2028, 2, 29), date(2029, 2, 28)),
        (None, "case_closed", date(2026, 3, 1), None),
    ],
)
def test_hold_end_dates(period: str | None, counted_from: str, today: date, until: date) -> None:
    assert hold_until(_rule(period, counted_from), today) == until


# --- erasure with holds ----------------------------------------------------------------------


def test_an_order_of_1_march_2026_is_held_until_31_december_2031() -> None:
    inventory = _inventory(woocommerce={"holds": SHOP_HOLDS})
    registry = ConnectorRegistry([_connector("woocommerce", "access", "erase")])
    steps = _by_system(make_plan(inventory, _request(), registry, today=TODAY))
    shop = steps["woocommerce"]
    assert shop.disposition == "run"
    assert shop.connector == "woocommerce"
    assert shop.erasure is not None
    # Rows with held fields must survive, so the rest of them is anonymized.
    assert shop.erasure.action == "anonymize"
    assert shop.erasure.holds == (
        Hold(
            "orders",
            ("order_number", "created_at", "billing_name", "billing_email", "total"),
            PRIMARY,
            date(2031, 12, 31),
        ),
        Hold(
            "order_lines", ("order_id", "product", "quantity", "price"), PRIMARY, date(2031, 12, 31)
        ),
    )
    assert {h.rule: h.until for h in shop.holds} == {
        "bookkeeping_primary": date(2031, 12, 31),
        "bookkeeping_secondary": date(2030, 6, 30),
    }


def test_a_system_without_holds_is_deleted_in_full() -> None:
    inventory = _inventory()
    registry = ConnectorRegistry([_connector("wordpress", "erase")])
    step = _by_system(make_plan(inventory, _request(), registry, today=TODAY))["wordpress"]
    assert step.disposition == "run"
    assert step.erasure is not None
    assert (step.erasure.action, step.erasure.holds) == ("delete", ())


def test_held_data_without_a_field_mapping_keeps_the_whole_system() -> None:
    # Only the primary rule is mapped; secondary documentation also lies in the shop.
    inventory = _inventory(woocommerce={"holds": SHOP_HOLDS[:2]})
    registry = ConnectorRegistry([_connector("woocommerce", "erase")])
    step = _by_system(make_plan(inventory, _request(), registry, today=TODAY))["woocommerce"]
    assert step.disposition == "keep"
    assert step.erasure is None
    assert "bookkeeping_secondary" in step.notes[0]["en"]
    assert "holds" in step.notes[0]["nb"]


def test_the_planner_settings_never_reach_the_connector() -> None:
    inventory = _inventory(woocommerce={"holds": SHOP_HOLDS, "erasure": "delete"})
    ref = inventory.system("woocommerce").connector
    assert ref is not None
    assert "holds" not in connector_settings(ref)
    assert "erasure" not in connector_settings(ref)
    registry = ConnectorRegistry([_connector("woocommerce", "erase")])
    step = _by_system(make_plan(inventory, _request(), registry, today=TODAY))["woocommerce"]
    assert step.erasure is not None
    assert step.erasure.action == "delete"


@pytest.mark.parametrize(
    ("holds", "message"),
    [
        (["bookkeeping_primary orders(total)"], "is not 'RULE: COLLECTION(FIELD, …)'"),
        (["bookkeeping_primary: orders()"], "needs the names of the fields"),
        (["customer_accounts: users(email)"], "no activity with legal basis Art. 6(1)(c)"),
        (["no_such_rule: orders(total)"], "no activity with legal basis Art. 6(1)(c)"),
    ],
)
def test_a_bad_holds_setting_is_an_error_that_names_the_fix(holds: list[str], message: str) -> None:
    inventory = _inventory(woocommerce={"holds": holds})
    assert any(message in p for p in check_holds(inventory))
    registry = ConnectorRegistry([_connector("woocommerce", "erase")])
    with pytest.raises(PlanError, match="systems › woocommerce › connector › settings › holds"):
        make_plan(inventory, _request(), registry, today=TODAY)


# --- manual tasks ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("system", "entity", "reason", "role_words"),
    [
        ("klarna", "Klarna Bank AB (publ)", "unknown_connector", "independent controller"),
        ("vipps", "Vipps MobilePay AS", "unknown_connector", "independent controller"),
        (
            "facebook_pixel",
            "Meta Platforms Ireland Limited",
            "manual_connector",
            "joint controllers",
        ),
    ],
)
def test_independent_and_joint_controllers_get_a_drafted_email(
    system: str, entity: str, reason: str, role_words: str
) -> None:
    registry = ConnectorRegistry([ManualConnector])
    step = _by_system(make_plan(_inventory(), _request(), registry, today=TODAY))[system]
    assert step.disposition == "manual"
    assert step.connector is None
    task = step.manual
    assert task is not None
    assert task.email is not None
    assert task.reason == reason
    en, nb = task.email["en"], task.email["nb"]
    assert en.subject == "Erasure request (GDPR Art. 17) – Assemble Prosjekt AS"
    assert (
        nb.subject == "Krav om sletting (personvernforordningen artikkel 17) – Assemble Prosjekt AS"
    )
    for draft, lang in ((en, "en"), (nb, "nb")):
        tr = translator(lang)
        assert entity in draft.body
        assert "kari.nordmann@example.no" in draft.body
        assert tr.format_date(date(2026, 3, 1)) in draft.body  # received
        assert tr.format_date(date(2026, 4, 1)) in draft.body  # deadline, Art. 12(3)
        assert "999 999 999" in draft.body  # the controller's organisation number
    assert role_words in en.body
    assert "Art. 19" in en.body
    assert "artikkel 19" in nb.body
    assert "felles behandlingsansvarlige" in nb.body or "selvstendig" in nb.body
    assert entity in task.instructions["en"]
    assert entity in task.instructions["nb"]


def test_an_internal_system_without_api_gets_instructions_and_no_email() -> None:
    registry = ConnectorRegistry([ManualConnector])
    step = _by_system(make_plan(_inventory(), _request(), registry, today=TODAY))["email"]
    task = step.manual
    assert task is not None
    assert task.email is None
    assert task.reason == "manual_connector"
    assert "kari.nordmann@example.no" in task.instructions["en"]
    # The mailbox holds secondary bookkeeping material and privacy-request records: kept.
    assert "Secondary accounting documentation" in task.instructions["en"]
    assert "Sekundærdokumentasjon i regnskapet" in task.instructions["nb"]
    assert translator("nb").format_date(date(2030, 6, 30)) in task.instructions["nb"]


@pytest.mark.parametrize(
    ("registry_classes", "reason", "words"),
    [
        ([], "unknown_connector", "No connector named woocommerce is installed"),
        ([("woocommerce", ("access",))], "lacks_capability", "cannot erase the person's data"),
    ],
)
def test_why_a_step_is_manual(
    registry_classes: list[tuple[str, tuple[Capability, ...]]], reason: str, words: str
) -> None:
    registry = ConnectorRegistry([_connector(n, *caps) for n, caps in registry_classes])
    step = _by_system(make_plan(_inventory(), _request(), registry, today=TODAY))["woocommerce"]
    assert step.manual is not None
    assert step.manual.reason == reason
    assert words in step.manual.reason_text["en"]


def test_a_system_with_no_connector_is_a_manual_task() -> None:
    step = _by_system(make_plan(_inventory(), _request(), ConnectorRegistry(), today=TODAY))["chat"]
    assert step.manual is not None
    assert step.manual.reason == "no_connector"


# --- which systems, for which kind ------------------------------------------------------------

EVERY_SYSTEM = {
    "woocommerce", "wordpress", "email", "one_com", "chat", "mailchimp", "google_analytics",
    "visma_eaccounting", "vipps", "klarna", "google_ads", "facebook_pixel", "facebook_page",
}  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "changes", "action", "systems"),
    [
        ("access", None, "access", EVERY_SYSTEM),  # personvern itself is left out
        ("erase", None, "erase", EVERY_SYSTEM),
        (
            "object",
            None,
            "unsubscribe",
            {"woocommerce", "mailchimp", "google_ads", "facebook_pixel"},
        ),
        (
            "restrict",
            None,
            "restrict",
            {
                "woocommerce",
                "mailchimp",
                "google_analytics",
                "google_ads",
                "facebook_pixel",
                "facebook_page",
            },
        ),
        (
            "rectify",
            {"phone": "+47 912 34 567"},
            "rectify",
            {"woocommerce", "email", "one_com", "visma_eaccounting", "vipps", "klarna"},
        ),
    ],
)
def test_systems_and_actions_per_kind(
    kind: str, changes: dict[str, Any] | None, action: str, systems: set[str]
) -> None:
    steps = make_plan(_inventory(), _request(kind, changes), ConnectorRegistry(), today=TODAY)
    assert {s.system_key for s in steps} == systems
    assert {s.action for s in steps} == {action}
    if kind == "rectify":
        assert all(s.changes == changes for s in steps)


def test_rectification_without_corrections_cannot_be_planned() -> None:
    with pytest.raises(PlanError, match="needs the corrections"):
        make_plan(_inventory(), _request("rectify"), ConnectorRegistry(), today=TODAY)


# --- storing ------------------------------------------------------------------------------------


def test_a_plan_round_trips_through_json() -> None:
    inventory = _inventory(woocommerce={"holds": SHOP_HOLDS})
    registry = ConnectorRegistry([_connector("woocommerce", "erase"), ManualConnector])
    for step in make_plan(inventory, _request(), registry, today=TODAY):
        data = json.loads(json.dumps(step.to_json()))
        assert PlannedStep.from_json(step.system_key, step.action, step.connector, data) == step


def test_storing_a_plan_twice_stores_it_once(runtime: Runtime) -> None:
    from executor_support import make_request

    request_id = make_request(runtime)
    registry = ConnectorRegistry([ManualConnector])
    with runtime.sessions() as session, session.begin():
        request = session.get(DataRequest, request_id)
        assert request is not None
        steps = make_plan(runtime.inventory(), request, registry, today=TODAY)
        first = store_plan(session, request, steps)
        second = store_plan(session, request, steps)
        assert [s.id for s in first] == [s.id for s in second]
        assert len(first) == len(steps)
    with runtime.sessions() as session:
        rows = session.query(RequestStep).filter_by(request_id=request_id).all()
        assert {r.status for r in rows} == {"pending"}
        assert all(r.connector is None for r in rows)  # all manual with this registry
