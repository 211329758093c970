"""``GET /privacy/consent``: "Dine samtykker / Your consent".

Shows a visitor what they chose in the cookie banner, per category, with the receipt and
its history (GDPR Art. 7(1) and 15: the record is theirs to see), and lets them change or
withdraw it as easily as they gave it (Art. 7(3)). The choice lives in the site's
``personvern_consent`` cookie, which only the site's own page can change or delete, so the
buttons take the visitor back to the site: ``#personvern`` opens the banner's settings,
``#personvern-withdraw`` withdraws at once and deletes the cookies of every category.

The consent id comes from ``?id=`` (the banner's "See your consent receipt" link) or, when
personvern is served on the shop's own domain, from the cookie itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import Depends
from starlette.requests import Request
from starlette.responses import HTMLResponse

from personvern.consent.choice import UUID_PATTERN
from personvern.consent.config import CONSENT_COOKIE
from personvern.consent.receipts import find, overall_status, split
from personvern.i18n import N_, Translator
from personvern.i18n.terms import COOKIE_CATEGORY, label
from personvern.web.pages import request_translator
from personvern.web.state import WebState, web_state

STATUS: Mapping[str, str] = {
    "given": N_("Consent given"),
    "partially_given": N_("Consent given for some purposes"),
    "refused": N_("Consent refused"),
    "withdrawn": N_("Consent withdrawn"),
}
CATEGORY_STATUS: Mapping[str, str] = {
    "given": N_("Allowed"),
    "refused": N_("Not allowed"),
    "withdrawn": N_("Withdrawn"),
    "not_required": N_("Always on"),
}
METHOD: Mapping[str, str] = {
    "accept_all": N_("Accepted all"),
    "reject_all": N_("Rejected all"),
    "custom": N_("Chose in the settings"),
    "gpc": N_("Accepted all except marketing (Global Privacy Control)"),
    "withdraw": N_("Withdrew consent"),
}


def _consent_id(request: Request) -> str | None:
    candidate = request.query_params.get("id") or ""
    if not candidate:
        cookie = request.cookies.get(CONSENT_COOKIE, "")
        candidate = cookie.split(".", 1)[0]
    return candidate if re.fullmatch(UUID_PATTERN, candidate) else None


def _view(state: WebState, consent_id: str, tr: Translator) -> dict[str, Any] | None:
    found = find(state.runtime, consent_id)
    if found is None:
        return None
    receipt, entries = found
    latest = entries[-1]
    inventory = state.runtime.inventory()
    cookies_by_category = dict.fromkeys(COOKIE_CATEGORY, 0)
    for cookie in inventory.cookies:
        cookies_by_category[cookie.category] += 1
    granted, denied = split(latest.granted), split(latest.denied)
    always_on = CATEGORY_STATUS["not_required"]
    categories = [
        {
            "name": label(tr, COOKIE_CATEGORY, "necessary"),
            "status": tr.gettext(always_on),
            "state": "on",
        }
    ]
    for key in (*granted, *denied):
        was_granted = any(key in split(e.granted) for e in entries)
        status = "given" if key in granted else ("withdrawn" if was_granted else "refused")
        categories.append(
            {
                "name": label(tr, COOKIE_CATEGORY, key),
                "status": tr.gettext(CATEGORY_STATUS[status]),
                "state": "on" if key in granted else "off",
            }
        )
    return {
        "consent_id": receipt.consent_id,
        "receipt_id": receipt.receipt_id,
        "site": latest.site,
        "status": tr.gettext(STATUS[overall_status(entries)]),
        "categories": categories,
        "policy_version": latest.policy_version,
        "updated": tr.format_datetime(latest.at),
        "history": [
            {
                "at": tr.format_datetime(e.at),
                "method": tr.gettext(METHOD.get(e.method, e.method)),
                "granted": ", ".join(label(tr, COOKIE_CATEGORY, k) for k in split(e.granted))
                or "—",
                "version": e.policy_version,
            }
            for e in reversed(entries)
        ],
        "change_url": f"{latest.site}/#personvern",
        "withdraw_url": f"{latest.site}/#personvern-withdraw",
        "receipt_url": f"/api/v1/consents/{receipt.consent_id}",
        "can_withdraw": bool(granted),
    }


def consent_page(request: Request, state: Annotated[WebState, Depends(web_state)]) -> HTMLResponse:
    """The visitor's consent, or how to find it when the id is missing or unknown."""
    tr = request_translator(request)
    consent_id = _consent_id(request)
    view = _view(state, consent_id, tr) if consent_id else None
    return state.pages.render(
        request,
        "consent/center.html",
        {"view": view, "asked": consent_id is not None},
        status_code=200 if view is not None or consent_id is None else 404,
    )
