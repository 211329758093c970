"""The admin's consent pages: search by consent id, rates as a chart, CSV export.

- ``GET /admin/consents``: accept / reject / custom rates per day and grant rates per
  category over the last 30 days (an SVG chart made on the server, and the same numbers
  as a table), and a search by consent id or receipt id showing that receipt's history.
- ``GET /admin/consents/export.csv``: every entry of the consent log, for the shop's own
  records or for Datatilsynet (GDPR Art. 7(1) and 31). Admin role only.

Looking up a receipt and exporting the log are actions on personal data, so both are
written to the audit log.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any

from fastapi import Depends
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse

from personvern.consent.choice import METHODS
from personvern.consent.receipts import chain_intact, find, overall_status, split
from personvern.consent.stats import csv_rows, rates, svg_chart
from personvern.i18n import N_, Translator
from personvern.i18n.terms import COOKIE_CATEGORY, label
from personvern.web.admin.sessions import SignedIn, require_admin, require_user
from personvern.web.center.consent import STATUS
from personvern.web.pages import request_translator
from personvern.web.state import WebState, web_state

DAYS = 30
METHOD_NAMES: Mapping[str, str] = {
    "accept_all": N_("Accept all"),
    "reject_all": N_("Reject all"),
    "custom": N_("Custom choice"),
    "gpc": N_("Accept all under GPC"),
    "withdraw": N_("Withdrawal"),
}


def _search(state: WebState, user: SignedIn, query: str, tr: Translator) -> dict[str, Any] | None:
    found = find(state.runtime, query) if len(query) <= 64 else None
    state.runtime.audit.record(
        actor=user.actor,
        action="consent.looked_up",
        object_type="consent",
        object_id=found[0].consent_id if found else None,
        details={"found": found is not None},
    )
    if found is None:
        return None
    receipt, entries = found
    return {
        "consent_id": receipt.consent_id,
        "receipt_id": receipt.receipt_id,
        "site": receipt.site,
        "status": tr.gettext(STATUS[overall_status(entries)]),
        "intact": chain_intact(entries),
        "entries": [
            {
                "seq": e.seq,
                "at": tr.format_datetime(e.at),
                "method": tr.gettext(METHOD_NAMES[e.method]),
                "granted": ", ".join(label(tr, COOKIE_CATEGORY, k) for k in split(e.granted))
                or "—",
                "denied": ", ".join(label(tr, COOKIE_CATEGORY, k) for k in split(e.denied)) or "—",
                "gpc": e.gpc,
                "version": e.policy_version,
                "texts_hash": e.texts_hash[:12],
                "page": e.page,
                "network": e.ip_prefix,
                "browser": e.ua_family,
            }
            for e in reversed(entries)
        ],
    }


def consents_page(
    request: Request,
    user: Annotated[SignedIn, Depends(require_user)],
    state: Annotated[WebState, Depends(web_state)],
) -> HTMLResponse:
    """``GET /admin/consents``: rates, chart and search."""
    tr = request_translator(request)
    query = request.query_params.get("q", "").strip()
    data = rates(state.runtime, days=DAYS)
    names = {method: tr.gettext(METHOD_NAMES[method]) for method in METHODS}
    chart = svg_chart(
        data,
        title=tr.gettext("Choices per day over the last %(num)d days, by kind") % {"num": DAYS},
        method_names=names,
    )
    days = [
        {
            "day": tr.format_date(day.day),
            "total": day.total,
            "rates": [f"{day.rate(m):.0%}" if day.total else "—" for m in METHODS],
        }
        for day in reversed(data.days)
        if day.total
    ]
    categories = [
        {
            "name": label(tr, COOKIE_CATEGORY, key),
            "granted": granted,
            "asked": asked,
            "rate": f"{granted / asked:.0%}",
        }
        for key, (granted, asked) in data.categories.items()
    ]
    return state.pages.render(
        request,
        "admin/consents.html",
        {
            "user": user,
            "csrf_token": user.csrf_token,
            "chart": Markup(chart),  # noqa: S704  # built from numbers and escaped labels
            "method_names": [names[m] for m in METHODS],
            "days": days,
            "total": data.total,
            "categories": categories,
            "query": query,
            "result": _search(state, user, query, tr) if query else None,
        },
    )


def export_csv(
    user: Annotated[SignedIn, Depends(require_admin)],
    state: Annotated[WebState, Depends(web_state)],
) -> Response:
    """``GET /admin/consents/export.csv``: the whole log as CSV (admin role only)."""
    state.runtime.audit.record(
        actor=user.actor, action="consent.exported", object_type="consent_log"
    )
    return StreamingResponse(
        csv_rows(state.runtime),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="consents.csv"'},
    )


def consent_pages() -> list[tuple[str, str, Callable[..., Any]]]:
    """The admin router's entries for these pages."""
    return [
        ("GET", "/consents", consents_page),
        ("GET", "/consents/export.csv", export_csv),
    ]
