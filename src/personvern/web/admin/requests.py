"""The admin's request list (``/admin/requests``) and the form to register a request received
by e-mail, letter or phone (``/admin/requests/new``).

The list is sorted by the deadline that applies (GDPR Art. 12(3)) and flags requests due
within ``PERSONVERN_REQUEST_WARN_DAYS`` and overdue ones. Viewers may read; registering a
request is for admins. A request received outside the privacy center counts from when it
arrived, whatever the channel (EDPB Guidelines 01/2022 section 3.1.2), and the admin who
registers it says how the person's identity was checked (section 3.3) — or has personvern
send the usual verification link instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any

from fastapi import Depends
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from personvern.dsr import requests as lifecycle
from personvern.dsr.intake import FORM_CHANGES, Intake, RequestError
from personvern.dsr.listing import STATUS_FILTERS, RequestRow, list_requests
from personvern.dsr.status import KINDS
from personvern.dsr.texts import CHANNEL, KIND, STATUS
from personvern.i18n import N_, Translator
from personvern.i18n.terms import label
from personvern.web.admin.request_page import deadline_view, request_page_routes
from personvern.web.admin.sessions import SignedIn, require_admin, require_user
from personvern.web.pages import request_translator
from personvern.web.state import WebState, web_state

STATUS_FILTER_LABEL: Mapping[str, str] = {
    "open": N_("Open"),
    "all": N_("All"),
    **STATUS,
}


def _row_view(tr: Translator, item: RequestRow) -> dict[str, Any]:
    return {
        "id": item.id,
        "href": f"/admin/requests/{item.id}",
        "kind": label(tr, KIND, item.kind),
        "status": label(tr, STATUS, item.status),
        "email": item.email,
        "name": item.name or "",
        "channel": label(tr, CHANNEL, item.channel),
        "received": tr.format_datetime(item.received_at),
        "deadline": deadline_view(tr, item),
    }


def requests_page(
    request: Request,
    user: Annotated[SignedIn, Depends(require_user)],
    state: Annotated[WebState, Depends(web_state)],
) -> Response:
    """``GET /admin/requests``: every request by deadline, with filters."""
    tr = request_translator(request)
    runtime = state.runtime
    status = request.query_params.get("status") or "open"
    kind = request.query_params.get("kind") or None
    email = (request.query_params.get("email") or "").strip()[:320]
    if status not in STATUS_FILTERS:
        status = "open"
    if kind not in KINDS:
        kind = None
    # Housekeeping that must happen somewhere: requests never confirmed in time lapse.
    lifecycle.expire_unverified(runtime)
    rows = list_requests(runtime, status=status, kind=kind, email=email or None)
    return state.pages.render(
        request,
        "admin/requests.html",
        {
            "user": user,
            "csrf_token": user.csrf_token,
            "rows": [_row_view(tr, item) for item in rows],
            "status": status,
            "kind": kind or "",
            "email": email,
            "statuses": [(code, label(tr, STATUS_FILTER_LABEL, code)) for code in STATUS_FILTERS],
            "kinds": [(code, label(tr, KIND, code)) for code in KINDS],
            "warn_days": runtime.settings.request_warn_days,
        },
    )


def _new_form(
    request: Request,
    state: WebState,
    user: SignedIn,
    *,
    values: Mapping[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    tr = request_translator(request)
    values = dict(values or {})
    return state.pages.render(
        request,
        "admin/request_new.html",
        {
            "user": user,
            "csrf_token": user.csrf_token,
            "values": values,
            "error": error,
            "kinds": [(code, label(tr, KIND, code)) for code in KINDS],
            "changes": [
                {"key": key, "label": tr.gettext(text), "value": values.get(f"change_{key}", "")}
                for key, text in FORM_CHANGES.items()
            ],
            "verified": values.get("verified", "yes") == "yes",
        },
        status_code=status_code,
    )


def new_request_page(
    request: Request,
    user: Annotated[SignedIn, Depends(require_admin)],
    state: Annotated[WebState, Depends(web_state)],
) -> Response:
    """``GET /admin/requests/new``: register a request received outside the privacy center."""
    return _new_form(request, state, user)


async def create_request(
    request: Request,
    user: Annotated[SignedIn, Depends(require_admin)],
    state: Annotated[WebState, Depends(web_state)],
) -> Response:
    """``POST /admin/requests``: register it; on to its page."""
    form = await request.form()
    values = {key: value for key, value in form.items() if isinstance(value, str)}
    kind = values.get("kind", "")
    verified = values.get("verified") == "yes"
    intake = Intake(
        kind=kind,
        email=values.get("email", ""),
        name=values.get("name"),
        phone=values.get("phone"),
        lang=values.get("lang", "nb"),
        changes={k: values.get(f"change_{k}", "") for k in FORM_CHANGES}
        if kind == "rectify"
        else {},
        message=values.get("message"),
    )
    values["verified"] = "yes" if verified else "no"
    try:
        created = lifecycle.create(
            state.runtime,
            intake,
            channel="admin",
            actor=user.actor,
            verified_note=values.get("verification_note", "") if verified else None,
        )
    except RequestError as exc:
        tr = request_translator(request)
        return _new_form(
            request, state, user, values=values, error=exc.translated(tr), status_code=400
        )
    return RedirectResponse(f"/admin/requests/{created.request_id}?done=created", status_code=303)


def request_pages() -> list[tuple[str, str, Callable[..., Any]]]:
    """The request pages for the admin router (which adds its CSRF guard to the forms)."""
    return [
        ("GET", "/requests", requests_page),
        ("GET", "/requests/new", new_request_page),
        ("POST", "/requests", create_request),
        *request_page_routes(),
    ]
