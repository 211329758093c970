"""What the Klarna and Vipps connector tests share: the shop, the sandboxes, the planner check.

Both connectors reach the provider through the shop's WooCommerce orders, so each test
module serves the WooCommerce sandbox and the provider's from one :class:`SandboxServer`
over one demo shop. The erasure side is the same for both: no API, so the planner must
make the step a manual forward task with a drafted letter (GDPR Art. 17(2), Art. 19).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml

from personvern.connectors.base import Connector
from personvern.connectors.manual import ManualConnector
from personvern.connectors.registry import ConnectorRegistry
from personvern.dsr.plan import PlannedStep, make_plan
from personvern.i18n import translator
from personvern.inventory.schema import Inventory
from personvern.sandbox.people import Person
from personvern.sandbox.server import SandboxServer
from personvern.store.requests import DataRequest

ASSEMBLE = Path(__file__).resolve().parents[2] / "examples" / "assemble" / "privacy.yaml"
SHOP_SIZE = 40
TODAY = date(2026, 3, 1)


def woo_settings(server: SandboxServer) -> dict[str, Any]:
    """The WooCommerce part of a payment connector's settings, against the sandbox."""
    creds = server.app("woocommerce").credentials
    return {
        "woocommerce_url": server.vendor_url("woocommerce"),
        "woocommerce_consumer_key": creds["consumer_key"],
        "woocommerce_consumer_secret": creds["consumer_secret"],
    }


def people(server: SandboxServer) -> list[Person]:
    return server.sandbox.context.people


def request(kind: str, email: str = "kari.nordmann@example.no") -> DataRequest:
    return DataRequest(
        id="00000000-0000-4000-8000-000000000005",
        kind=kind,
        status="verified",
        email=email,
        email_key="k",
        name="Kari Nordmann",
        phone=None,
        lang="nb",
        channel="form",
        received_at=datetime(2026, 3, 1, 9, 30, tzinfo=UTC),
        due_at=datetime(2026, 4, 1, 9, 30, tzinfo=UTC),
        changes=json.dumps({"address": "Storgata 1, 0155 Oslo"} if kind == "rectify" else {}),
    )


def assemble(**settings_of: dict[str, Any]) -> Inventory:
    """The Assemble inventory, with some systems' connector settings changed."""
    data = yaml.safe_load(ASSEMBLE.read_text())
    for system in data["systems"]:
        if system["key"] in settings_of:
            system["connector"]["settings"] = settings_of[system["key"]]
    return Inventory.from_dict(data)


def planned(cls: type[Connector], system: str, kind: str) -> PlannedStep:
    """The step the planner makes for ``system`` with the real connector class installed."""
    registry = ConnectorRegistry([cls, ManualConnector])
    steps = make_plan(assemble(), request(kind), registry, today=TODAY)
    return next(s for s in steps if s.system_key == system)


def assert_forward_task(cls: type[Connector], system: str, entity: str) -> None:
    """Erasure in ``system`` is a manual task forwarding the request, in both languages.

    The letter says the vendor is an independent controller and that the request is passed
    on because of Art. 19; the shop's instructions say to tell the person so.
    """
    for kind in ("erase", "rectify"):
        step = planned(cls, system, kind)
        assert step.disposition == "manual"
        assert step.connector is None
        task = step.manual
        assert task is not None
        assert task.reason == "lacks_capability"
        assert task.email is not None
        en, nb = task.email["en"].body, task.email["nb"].body
        assert entity in en
        assert entity in nb
        assert "independent controller" in en
        assert "we forward it to you" in en
        assert "Art. 19" in en
        assert "selvstendig behandlingsansvarlig" in nb
        assert "artikkel 19" in nb
        for lang in ("en", "nb"):
            forwarded = translator(lang).gettext(
                "%(entity)s is a controller of the data it holds and decides for itself what "
                "it must keep. Tell the person that you have passed the request on to "
                "%(entity)s, and that they can also contact %(entity)s directly (GDPR Art. 19)."
            ) % {"entity": entity}
            assert forwarded in task.instructions[lang]
    # Access is the connector's own step: it runs, no task.
    step = planned(cls, system, "access")
    assert step.disposition == "run"
    assert step.connector == cls.name
