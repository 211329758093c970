"""The dashboard (``/admin``): the inventory at a glance, for every signed-in admin user.

Everything shown comes from ``runtime.inventory()``: who the controller is, the systems and
their roles, the processing activities and their legal basis (GDPR Art. 6(1)), the cookies
per category and the retention rules. The view is built here, already in the reader's
language, so the template only lays it out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends
from starlette.requests import Request
from starlette.responses import HTMLResponse

from personvern.i18n import Translator
from personvern.i18n.terms import (
    COOKIE_CATEGORY,
    COUNTED_FROM,
    LEGAL_BASIS,
    RETENTION_ACTION,
    ROLE,
    SYSTEM_KIND,
    TRANSFER,
    country,
    label,
    period,
)
from personvern.inventory.loader import InventoryError
from personvern.inventory.schema import EEA_COUNTRIES, Controller, Inventory, System
from personvern.web.admin.sessions import SignedIn, require_user
from personvern.web.pages import request_translator
from personvern.web.state import WebState, web_state


@dataclass(frozen=True)
class SystemRow:
    name: str
    key: str  # for the link to the system's page (/admin/systems/{key})
    kind: str
    role: str
    legal_entity: str
    country: str
    transfer: str
    outside_eea: bool


@dataclass(frozen=True)
class ActivityRow:
    name: str
    purpose: str
    article: str
    basis: str
    national: Sequence[str]
    systems: Sequence[str]


@dataclass(frozen=True)
class CookieCount:
    category: str
    count: int
    names: Sequence[str]


@dataclass(frozen=True)
class RetentionRow:
    name: str
    period: str
    counted_from: str
    action: str
    legal_ground: str
    assumption: bool


@dataclass(frozen=True)
class Overview:
    controller: dict[str, Any]
    systems: Sequence[SystemRow]
    activities: Sequence[ActivityRow]
    cookies: Sequence[CookieCount]
    retention: Sequence[RetentionRow]


def overview(inventory: Inventory, tr: Translator) -> Overview:
    """The dashboard's view of ``inventory``, in ``tr``'s language."""
    return Overview(
        controller=_controller(inventory.controller, tr),
        systems=[_system(system, tr) for system in inventory.systems],
        activities=[
            ActivityRow(
                name=activity.name.get(tr.lang),
                purpose=activity.purpose.get(tr.lang),
                article=tr.gettext("Art. 6(1)(%(letter)s)")
                % {"letter": activity.legal_basis.article_6_1},
                basis=label(tr, LEGAL_BASIS, activity.legal_basis.article_6_1),
                national=activity.legal_basis.national,
                systems=[_system_name(inventory, key) for key in activity.systems],
            )
            for activity in inventory.activities
        ],
        cookies=[
            CookieCount(
                category=label(tr, COOKIE_CATEGORY, category),
                count=len(names),
                names=names,
            )
            for category in COOKIE_CATEGORY
            for names in [[c.label for c in inventory.cookies if c.category == category]]
        ],
        retention=[
            RetentionRow(
                name=rule.name.get(tr.lang),
                period=period(tr, rule.period),
                counted_from=label(tr, COUNTED_FROM, rule.counted_from),
                action=label(tr, RETENTION_ACTION, rule.action),
                legal_ground=rule.legal_ground.get(tr.lang),
                assumption=rule.assumption,
            )
            for rule in inventory.retention
        ],
    )


def _controller(controller: Controller, tr: Translator) -> dict[str, Any]:
    contact = controller.privacy_contact()
    address = controller.address
    digits = controller.org_number
    return {
        "name": controller.name,
        # Written in groups of three, as Brønnøysundregistrene prints it.
        "org_number": f"{digits[:3]} {digits[3:6]} {digits[6:]}",
        "address": f"{address.street}, {address.postal_code} {address.city}, "
        f"{country(tr, address.country)}",
        "contact": [str(v) for v in (contact.email, contact.phone, contact.url) if v],
        "dpo": f"{controller.dpo.name} ({controller.dpo.email})" if controller.dpo else None,
        "no_dpo": controller.no_dpo_statement.get(tr.lang) if controller.no_dpo_statement else None,
        "authority": controller.supervisory_authority.name,
        "authority_url": controller.supervisory_authority.url,
    }


def _system(system: System, tr: Translator) -> SystemRow:
    entity = system.legal_entity
    outside = system.country not in EEA_COUNTRIES or (
        entity is not None and entity.country not in EEA_COUNTRIES
    )
    if system.transfer is not None:
        countries = ", ".join(country(tr, code) for code in system.transfer.countries)
        transfer = f"{label(tr, TRANSFER, system.transfer.mechanism)} ({countries})"
    else:
        transfer = tr.gettext("Not needed (within the EEA)") if not outside else "—"
    return SystemRow(
        name=system.name,
        key=system.key,
        kind=label(tr, SYSTEM_KIND, system.kind),
        role=label(tr, ROLE, system.role),
        legal_entity=f"{entity.name} ({country(tr, entity.country)})" if entity else "—",
        country=country(tr, system.country),
        transfer=transfer,
        outside_eea=outside,
    )


def _system_name(inventory: Inventory, key: str) -> str:
    try:
        return inventory.system(key).name
    except KeyError:
        return key


def dashboard_page(
    request: Request,
    user: Annotated[SignedIn, Depends(require_user)],
    state: Annotated[WebState, Depends(web_state)],
) -> HTMLResponse:
    """``GET /admin``: the inventory at a glance, or what to do when there is none."""
    tr = request_translator(request)
    view: Overview | None = None
    problem: str | None = None
    detail: str | None = None
    try:
        view = overview(state.runtime.inventory(), tr)
    except LookupError:
        problem = tr.gettext(
            "No inventory is configured. Set PERSONVERN_INVENTORY to the path of your "
            "privacy.yaml and restart personvern."
        )
    except InventoryError as exc:
        problem = tr.gettext(
            "The inventory could not be read. Run “personvern check” for the details."
        )
        # The loader's message names the file, the line and the fix; shown as it is.
        detail = str(exc)
    return state.pages.render(
        request,
        "admin/dashboard.html",
        {
            "user": user,
            "csrf_token": user.csrf_token,
            "view": view,
            "problem": problem,
            "detail": detail,
        },
    )
