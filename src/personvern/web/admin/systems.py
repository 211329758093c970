"""One system of the inventory (``/admin/systems/{key}``): what the inventory says, and what
the system's own settings say, read live.

The inventory's facts come from ``runtime.inventory()``: kind, role (GDPR Art. 4(7), 4(8),
26), the legal entity and transfer (Chapter V), the data categories, the activities that use
the system and the retention rules that apply to it (Art. 5(1)(e)), from its activities and
from the rules' sweep targets.

Beside them, the connector's :meth:`~personvern.connectors.base.Connector.describe` is read
live, within :data:`DESCRIBE_TIMEOUT` seconds ("Settings read from the system"): WooCommerce's
personal-data retention settings, a Google Analytics property's data-retention period. Put
side by side, the owner sees at once when the system keeps data longer than the inventory
says. When the facts cannot be read, the page says why and what to do: the environment
variable to set, the system that did not answer or refused, or that the system has no
connector at all. Any signed-in user (admin or viewer) may see it.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from fastapi import Depends
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse

from personvern.connectors.base import Connector, Fact, Fatal, Retriable
from personvern.connectors.registry import (
    ConnectorRegistry,
    ConnectorSettingsError,
    UnknownConnector,
    missing_environment,
)
from personvern.dsr.holds import connector_settings
from personvern.i18n import N_, Translator
from personvern.i18n.terms import COUNTED_FROM, LEGAL_BASIS, RETENTION_ACTION, label, period
from personvern.inventory.loader import InventoryError
from personvern.inventory.schema import Inventory, RetentionRule, System
from personvern.web.admin.dashboard import SystemRow
from personvern.web.admin.dashboard import _system as system_row  # the same words as there
from personvern.web.admin.sessions import SignedIn, require_user
from personvern.web.pages import request_translator
from personvern.web.state import WebState, web_state

DESCRIBE_TIMEOUT: Final = 5.0  # seconds; a page must not hang on a slow vendor

LiveState = Literal[
    "facts",
    "empty",
    "no_connector",
    "manual",
    "unknown",
    "missing_env",
    "invalid",
    "unreachable",
    "refused",
    "timeout",
    "failed",
]

MESSAGE: Mapping[LiveState, str] = {
    "empty": N_("The %(type)s connector reads no settings from this system."),
    "no_connector": N_(
        "The inventory gives this system no connector, so personvern cannot read its "
        "settings. Requests about it become tasks for a person."
    ),
    "manual": N_(
        "This system has no API (the %(type)s connector): a person does the work, and there "
        "are no settings to read."
    ),
    "unknown": N_(
        "The %(type)s connector is not installed, or failed to load, so the settings cannot "
        "be read. Install it, or correct the connector type in the inventory."
    ),
    "missing_env": N_(
        "The settings cannot be read until the environment variable %(variables)s is set "
        "where personvern runs. Set it, and restart personvern."
    ),
    "invalid": N_(
        "The connector's settings in the inventory are invalid. Correct them in "
        "privacy.yaml and run “personvern check”."
    ),
    "unreachable": N_(
        "%(system)s could not be reached just now. Reload the page to try again; if it "
        "keeps failing, check the address in the inventory."
    ),
    "refused": N_(
        "%(system)s refused to show its settings. Check that the credentials in the "
        "environment variables named in the inventory are right and may read settings."
    ),
    "timeout": N_(
        "%(system)s did not answer within %(seconds)d seconds. Reload the page to try again."
    ),
    "failed": N_(
        "The %(type)s connector failed in an unexpected way. Report it to the connector's "
        "authors, with the details below."
    ),
}
MISSING_MANY = N_(
    "The settings cannot be read until the environment variables %(variables)s are set "
    "where personvern runs. Set them, and restart personvern."
)
NOT_FOUND = N_("The inventory has no system with that key.")
NO_INVENTORY = N_(
    "No inventory is loaded. Set PERSONVERN_INVENTORY to the path of your privacy.yaml and "
    "restart personvern."
)


@dataclass(frozen=True)
class LiveFacts:
    """What reading a system's settings gave: facts, or why there are none."""

    state: LiveState
    facts: tuple[Fact, ...] = ()
    variables: tuple[str, ...] = ()  # the missing environment variables
    detail: str = ""  # the connector's own words (for the admin; not translated)
    seconds: float = DESCRIBE_TIMEOUT  # how long it was given

    def message(self, tr: Translator, system: System) -> str:
        """Why there are no facts, and what to do, in the reader's language."""
        if self.state == "facts":
            return ""
        text = MESSAGE[self.state]
        if self.state == "missing_env" and len(self.variables) > 1:
            text = MISSING_MANY
        return tr.gettext(text) % {
            "system": system.name,
            "type": system.connector.type if system.connector else "",
            "variables": ", ".join(self.variables),
            "seconds": self.seconds,
        }


@dataclass(frozen=True)
class RuleRow:
    name: str
    period: str
    counted_from: str
    action: str
    legal_ground: str
    assumption: bool
    swept: tuple[str, ...] = field(default_factory=tuple)  # collections a sweep applies it to


async def read_facts(
    system: System,
    registry: ConnectorRegistry,
    environ: Mapping[str, str],
    *,
    base_dir: Path | None = None,
    timeout: float = DESCRIBE_TIMEOUT,
) -> LiveFacts:
    """The system's settings as its connector reads them, or why they cannot be read.

    Never raises for the connector's failures: the page shows them instead.
    """
    ref = system.connector
    if ref is None:
        return LiveFacts("no_connector")
    try:
        cls = registry.get(ref.type)
    except UnknownConnector as exc:
        return LiveFacts("unknown", detail=str(exc))
    if not cls.capabilities:
        return LiveFacts("manual")
    settings = connector_settings(ref)
    missing = missing_environment(settings, environ)
    if missing:
        return LiveFacts("missing_env", variables=tuple(variable for _, variable in missing))
    try:
        connector = registry.build(ref.type, settings, environ, base_dir=base_dir)
    except ConnectorSettingsError as exc:
        return LiveFacts("invalid", detail=str(exc))
    return await _describe(connector, timeout)


async def _describe(connector: Connector, timeout: float) -> LiveFacts:
    try:
        facts = await asyncio.wait_for(connector.describe(), timeout)
    except TimeoutError:
        return LiveFacts("timeout", seconds=timeout)
    except Retriable as exc:
        return LiveFacts("unreachable", detail=str(exc))
    except Fatal as exc:
        return LiveFacts("refused", detail=str(exc))
    except Exception as exc:  # a connector bug must not take the page down
        return LiveFacts("failed", detail=f"{type(exc).__name__}: {exc}")
    finally:
        await connector.aclose()
    return LiveFacts("facts" if facts else "empty", facts=tuple(facts))


def rules_for(inventory: Inventory, key: str) -> list[RetentionRule]:
    """The retention rules that apply to system ``key``, in the inventory's order.

    A rule applies through an activity that uses the system, or through a sweep target in
    it.
    """
    through_activities = {a.retention for a in inventory.activities if key in a.systems}
    return [
        rule
        for rule in inventory.retention
        if rule.key in through_activities or any(t.system == key for t in rule.targets)
    ]


def _rule_row(rule: RetentionRule, key: str, tr: Translator) -> RuleRow:
    return RuleRow(
        name=rule.name.get(tr.lang),
        period=period(tr, rule.period),
        counted_from=label(tr, COUNTED_FROM, rule.counted_from),
        action=label(tr, RETENTION_ACTION, rule.action),
        legal_ground=rule.legal_ground.get(tr.lang),
        assumption=rule.assumption,
        swept=tuple(t.collection for t in rule.targets if t.system == key),
    )


def _inventory_view(inventory: Inventory, system: System, tr: Translator) -> dict[str, Any]:
    row: SystemRow = system_row(system, tr)
    return {
        "key": system.key,
        "row": row,
        "description": system.description.get(tr.lang),
        "categories": list(system.data_categories),
        "connector": system.connector.type if system.connector else None,
        "dpa": system.dpa,
        "privacy_policy_url": system.privacy_policy_url,
        "note": system.note,
        "activities": [
            {
                "name": activity.name.get(tr.lang),
                "basis": tr.gettext("Art. 6(1)(%(letter)s)")
                % {"letter": activity.legal_basis.article_6_1}
                + " – "
                + label(tr, LEGAL_BASIS, activity.legal_basis.article_6_1),
            }
            for activity in inventory.activities
            if system.key in activity.systems
        ],
        "rules": [_rule_row(rule, system.key, tr) for rule in rules_for(inventory, system.key)],
    }


async def system_page(
    request: Request,
    key: str,
    user: Annotated[SignedIn, Depends(require_user)],
    state: Annotated[WebState, Depends(web_state)],
) -> HTMLResponse:
    """``GET /admin/systems/{key}``: the inventory's facts and the live ones, side by side."""
    tr = request_translator(request)
    runtime = state.runtime
    try:
        inventory = runtime.inventory()
    except (LookupError, InventoryError) as exc:
        raise HTTPException(404, detail=NO_INVENTORY) from exc
    try:
        system = inventory.system(key)
    except KeyError as exc:
        raise HTTPException(404, detail=NOT_FOUND) from exc
    inventory_file = runtime.settings.inventory
    live = await read_facts(
        system,
        ConnectorRegistry.from_entry_points(),
        os.environ,
        # Files named in settings (a credentials file) are relative to the inventory.
        base_dir=Path(inventory_file).resolve().parent if inventory_file else None,
    )
    return state.pages.render(
        request,
        "admin/system.html",
        {
            "user": user,
            "csrf_token": user.csrf_token,
            "system": _inventory_view(inventory, system, tr),
            "live": live,
            "live_message": live.message(tr, system),
        },
    )


def system_pages() -> list[tuple[str, str, Callable[..., Any]]]:
    """The admin router's entries for this page."""
    return [("GET", "/systems/{key}", system_page)]
