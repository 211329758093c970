"""The privacy center's request pages: the front page, one form per right, the verification
link's landing page and the requester's status page.

GDPR Art. 12(2) asks the controller to *facilitate* the exercise of the rights: one short
form per right, in bokmål and English, no account, no ID document (EDPB Guidelines 01/2022
section 3.3). Safety, in the order a request meets it:

- **CSRF**: a signed double-submit cookie, as the admin's sign-in form has (OWASP CSRF
  Prevention Cheat Sheet): the ``pv_center_csrf`` cookie (``Path=/privacy``, HttpOnly,
  SameSite=Strict) holds a random nonce and the form its HMAC under the secret key;
- **rate limits** (:mod:`personvern.dsr.limits`): past the per-IP limit, 429 with
  ``Retry-After``; past the per-address limit, the same answer as always and no e-mail;
- **no enumeration**: whatever the address — one the shop knows, one with earlier
  requests, one it has never seen, one over its limit — the answer is the same page, byte
  for byte, since nothing about the address goes into it;
- **verification links** are looked at by ``GET`` and used by ``POST``: mail scanners that
  open every link in a message must not confirm a request on the person's behalf;
- **status pages** are reached only through a status link (:mod:`personvern.dsr.
  verification`), never by request id; an unknown, used or forged link gets 404 and an
  out-of-date one 410;
- **CSP**: these pages load only their own stylesheets — no script, inline or not.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from personvern.dsr import letters, limits, verification
from personvern.dsr import requests as lifecycle
from personvern.dsr.deadlines import effective_due_at, local_day
from personvern.dsr.intake import FORM_CHANGES, Intake, RequestError, check
from personvern.dsr.status import KINDS, RequestKind
from personvern.dsr.texts import KIND, KIND_DESCRIPTION, PUBLIC_STATUS, article
from personvern.i18n import N_
from personvern.i18n.terms import label
from personvern.web.admin.auth import client_ip
from personvern.web.pages import request_language, request_translator
from personvern.web.state import WebState, web_state

CENTER = "/privacy"
CSRF_COOKIE = "pv_center_csrf"
_NONCE = re.compile(r"^[A-Za-z0-9_-]{43}$")
# Stricter than the app's default: the center has no script at all, only its stylesheets.
CENTER_CSP = "; ".join(
    [
        "default-src 'none'",
        "style-src 'self'",
        "img-src 'self' data:",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)
HEADERS: Mapping[str, str] = {"Content-Security-Policy": CENTER_CSP}
MAX_FORM_BYTES = 64 * 1024  # a request form is a few hundred bytes; refuse anything huge

FORM_EXPIRED = N_(
    "This form has expired or did not come from this site, so nothing was sent. "
    "Reload the page and try again."
)
TOO_MANY = N_("Too many requests from your network. Wait %(minutes)d minutes and try again.")
LINK_UNKNOWN = N_(
    "This link does not work. It may have been used already, or copied incompletely. "
    "If you have already confirmed your request, the e-mail we sent then has a link to "
    "its status; otherwise send the request again."
)
LINK_EXPIRED = N_(
    "This link has expired. Links in our e-mails work for a limited time, so that an old "
    "e-mail cannot be misused. Send the request again and use the new link."
)


# --- the signed double-submit token ---------------------------------------------------------


def _nonce(request: Request) -> str | None:
    value = request.cookies.get(CSRF_COOKIE)
    return value if value and _NONCE.match(value) else None


def _csrf_token(secret: bytes, nonce: str) -> str:
    return hmac.new(secret, f"center-csrf:{nonce}".encode(), hashlib.sha256).hexdigest()


def csrf_valid(request: Request, secret: bytes, sent: object) -> bool:
    nonce = _nonce(request)
    if nonce is None or not isinstance(sent, str) or not sent:
        return False
    return hmac.compare_digest(_csrf_token(secret, nonce).encode(), sent.encode())


def render_center(
    request: Request,
    state: WebState,
    template: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """A center page; gives the form its CSRF token, and the browser the cookie if new."""
    nonce = _nonce(request)
    fresh = nonce is None
    nonce = nonce or secrets.token_urlsafe(32)
    values = {
        "controller": letters.Sender.of(state.runtime).controller,
        "center_csrf": _csrf_token(state.runtime.secret, nonce),
        **context,
    }
    response = state.pages.render(
        request,
        template,
        values,
        status_code=status_code,
        headers={**HEADERS, **(headers or {})},
    )
    if fresh:
        response.set_cookie(
            CSRF_COOKIE,
            nonce,
            path=CENTER,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
    return response


def problem_page(
    request: Request,
    state: WebState,
    status_code: int,
    message: str,
    *,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    return render_center(
        request,
        state,
        "center/problem.html",
        {"status_code": status_code, "message": message},
        status_code=status_code,
        headers=headers,
    )


def _kinds(request: Request) -> list[dict[str, str]]:
    tr = request_translator(request)
    return [
        {
            "kind": kind,
            "label": label(tr, KIND, kind),
            "description": label(tr, KIND_DESCRIPTION, kind),
            "article": article(tr, kind),
            "href": f"{CENTER}/request/{kind}",
        }
        for kind in KINDS
    ]


# --- the pages ---------------------------------------------------------------------------


def center_page(request: Request, state: Annotated[WebState, Depends(web_state)]) -> Response:
    """``GET /privacy``: the rights, one link to a form each, and the notices."""
    return render_center(request, state, "center/index.html", {"kinds": _kinds(request)})


def _form(
    request: Request,
    state: WebState,
    kind: RequestKind,
    *,
    values: Mapping[str, str] | None = None,
    error: RequestError | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    tr = request_translator(request)
    given = dict(values or {})
    return render_center(
        request,
        state,
        "center/form.html",
        {
            "kind": kind,
            "kind_label": label(tr, KIND, kind),
            "description": label(tr, KIND_DESCRIPTION, kind),
            "article": article(tr, kind),
            "changes": [
                {
                    "key": key,
                    "label": tr.gettext(text),
                    "value": (values or {}).get(f"change_{key}", ""),
                }
                for key, text in FORM_CHANGES.items()
            ]
            if kind == "rectify"
            else [],
            "values": given,
            "error": error.translated(tr) if error else None,
            "error_field": error.field if error else None,
            "verify_hours": state.runtime.settings.request_verify_hours,
        },
        status_code=status_code,
    )


def _kind_or_404(request: Request, state: WebState, kind: str) -> RequestKind | HTMLResponse:
    if kind not in KINDS:
        tr = request_translator(request)
        return problem_page(
            request,
            state,
            404,
            tr.gettext(
                N_("We could not find that page. Check the address, or go to the front page.")
            ),
        )
    return kind


def form_page(
    request: Request, kind: str, state: Annotated[WebState, Depends(web_state)]
) -> Response:
    """``GET /privacy/request/{kind}``: the form for one right."""
    found = _kind_or_404(request, state, kind)
    if isinstance(found, Response):
        return found
    return _form(request, state, found)


async def submit(
    request: Request, kind: str, state: Annotated[WebState, Depends(web_state)]
) -> Response:
    """``POST /privacy/request/{kind}``: accept a request; the same answer for every address."""
    found = _kind_or_404(request, state, kind)
    if isinstance(found, Response):
        return found
    tr = request_translator(request)
    if int(request.headers.get("content-length") or 0) > MAX_FORM_BYTES:
        return problem_page(request, state, 413, tr.gettext(N_("What was sent is too large.")))
    form = await request.form(max_files=0, max_fields=40)
    runtime = state.runtime
    if not csrf_valid(request, runtime.secret, form.get("csrf_token")):
        return problem_page(request, state, 403, tr.gettext(FORM_EXPIRED))
    values = {key: value for key, value in form.items() if isinstance(value, str)}
    intake = Intake(
        kind=found,
        email=values.get("email", ""),
        name=values.get("name"),
        phone=values.get("phone"),
        lang=request_language(request),
        changes={key: values.get(f"change_{key}", "") for key in FORM_CHANGES}
        if found == "rectify"
        else {},
        message=values.get("message"),
        ga_client_id=values.get("ga_client_id") if found == "erase" else None,
    )
    try:
        # Checked before any limit is counted: a typo should not use up an attempt.
        checked = check(intake)
    except RequestError as exc:
        return _form(request, state, found, values=values, error=exc, status_code=400)
    per_address, per_ip = limits.request_limits(runtime, "form")
    ip_verdict = limits.attempt(runtime, per_ip, client_ip(request), kind="ip")
    if not ip_verdict.allowed:
        minutes = max(1, -(-ip_verdict.retry_after // 60))
        return problem_page(
            request,
            state,
            429,
            tr.gettext(TOO_MANY) % {"minutes": minutes},
            headers={"Retry-After": str(ip_verdict.retry_after)},
        )
    if limits.attempt(runtime, per_address, checked.email, kind="email").allowed:
        lifecycle.expire_unverified(runtime)
        lifecycle.create(runtime, intake, channel="form", actor=lifecycle.REQUESTER)
    # Whatever happened above, the answer is this page and nothing else.
    return render_center(
        request,
        state,
        "center/sent.html",
        {
            "kind_label": label(tr, KIND, found),
            "verify_hours": runtime.settings.request_verify_hours,
        },
    )


def _link_problem(request: Request, state: WebState, link_state: str) -> HTMLResponse:
    tr = request_translator(request)
    if link_state == "expired":
        return problem_page(request, state, 410, tr.gettext(LINK_EXPIRED))
    return problem_page(request, state, 404, tr.gettext(LINK_UNKNOWN))


def verify_page(
    request: Request, token: str, state: Annotated[WebState, Depends(web_state)]
) -> Response:
    """``GET /privacy/verify/{token}``: "Confirm your request", without using the link yet."""
    runtime = state.runtime
    with runtime.sessions() as db:
        found = verification.check(db, runtime.secret, token, "verify")
        if found.state != "valid" or found.request is None:
            return _link_problem(request, state, found.state)
        kind = cast(RequestKind, found.request.kind)
    tr = request_translator(request)
    return render_center(
        request,
        state,
        "center/verify.html",
        {"token": token, "kind_label": label(tr, KIND, kind), "article": article(tr, kind)},
    )


async def verify(
    request: Request, token: str, state: Annotated[WebState, Depends(web_state)]
) -> Response:
    """``POST /privacy/verify/{token}``: confirm; on to the status page."""
    form = await request.form(max_files=0, max_fields=5)
    if not csrf_valid(request, state.runtime.secret, form.get("csrf_token")):
        tr = request_translator(request)
        return problem_page(request, state, 403, tr.gettext(FORM_EXPIRED))
    outcome = lifecycle.confirm(state.runtime, token)
    if outcome.state != "valid" or outcome.status_token is None:
        return _link_problem(request, state, outcome.state)
    return RedirectResponse(
        f"{CENTER}/status/{outcome.status_token}", status_code=303, headers=dict(HEADERS)
    )


def status_page(
    request: Request, token: str, state: Annotated[WebState, Depends(web_state)]
) -> Response:
    """``GET /privacy/status/{token}``: the requester's own request, and nothing else."""
    runtime = state.runtime
    with runtime.sessions() as db:
        found = verification.check(db, runtime.secret, token, "status")
        if found.state != "valid" or found.request is None:
            return _link_problem(request, state, found.state)
        req = found.request
        db.expunge(req)
    tr = request_translator(request)
    kind = cast(RequestKind, req.kind)
    sender = letters.Sender.of(runtime)
    deadline = effective_due_at(req.due_at, req.extended_due_at)
    return render_center(
        request,
        state,
        "center/status.html",
        {
            "kind_label": label(tr, KIND, kind),
            "article": article(tr, kind),
            "status": req.status,
            "status_label": label(tr, PUBLIC_STATUS, req.status),
            "received": tr.format_date(local_day(req.received_at)),
            "deadline": tr.format_date(local_day(deadline)),
            "extended": req.extended_due_at is not None,
            "extension_reason": req.extension_reason,
            "refusal_reason": req.refusal_reason,
            "completed": tr.format_date(local_day(req.completed_at)) if req.completed_at else None,
            "authority": sender.authority,
            "authority_url": sender.authority_url,
            "contact": sender.contact,
        },
        headers={"Referrer-Policy": "no-referrer"},
    )


def request_center_router() -> APIRouter:
    """Built by ``create_app``: the pages above, as HTML outside the OpenAPI description."""
    router = APIRouter(prefix=CENTER, include_in_schema=False)
    routes: list[tuple[str, str, Any]] = [
        ("GET", "", center_page),
        ("GET", "/request/{kind}", form_page),
        ("POST", "/request/{kind}", submit),
        ("GET", "/verify/{token}", verify_page),
        ("POST", "/verify/{token}", verify),
        ("GET", "/status/{token}", status_page),
    ]
    for method, path, endpoint in routes:
        router.add_api_route(path, endpoint, methods=[method], response_class=HTMLResponse)
    return router
