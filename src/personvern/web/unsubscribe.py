"""Leaving a newsletter: the RFC 8058 one-click endpoint and Mailchimp's webhook receiver.

**One click** (``/unsubscribe/{token}``, the URI in a newsletter's ``List-Unsubscribe``):

- ``POST`` with the body ``List-Unsubscribe=One-Click`` (form-encoded or multipart, RFC
  8058 § 3.2) puts the address on the suppression list at once and answers 200 with a short
  page — never a redirect, which a mail reader's POST would not follow. It is also what the
  confirm page's button sends.
- There is no CSRF token, and there cannot be: the POST comes from the person's mail
  provider (Gmail, Yahoo…), "without cookies, HTTP authorization or any other context"
  (RFC 8058 § 3.2), so the unguessable token in the URI is the only credential, as the RFC
  intends. What a forged cross-site POST could do is unsubscribe the person the token
  names, which the token's holder can do anyway. For the same reason these pages set no
  cookie and keep no session: the language goes along in ``?lang=``.
- ``GET`` shows a confirm page whose button POSTs: anti-spam scanners and link previews
  open every link in a message, and must not unsubscribe anyone (RFC 8058 § 1).
- A token that is forged, altered or cut short gets 404 and changes nothing; a POST without
  the one-click body gets 400 and changes nothing.

**Mailchimp** (``/webhooks/mailchimp/{secret}``; events in :mod:`personvern.suppression.
webhook`): ``GET`` answers 200 so Mailchimp can check the URL; ``POST`` takes one event. The
secret (``PERSONVERN_MAILCHIMP_WEBHOOK_SECRET``) is compared in constant time; unset, or
wrong, the answer is 404, as for a page that does not exist.

Both paths carry their secret, and the server's access log writes every path;
:mod:`personvern.web.access_log` replaces the secret part with ``[link]`` there.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from personvern.dsr import letters
from personvern.i18n import N_
from personvern.suppression import sync, webhook
from personvern.suppression.entries import suppress
from personvern.suppression.headers import ONE_CLICK, PATH
from personvern.suppression.tokens import InvalidToken, Unsubscribe, read_token
from personvern.web import access_log
from personvern.web.center.requests import HEADERS
from personvern.web.pages import request_language, request_translator
from personvern.web.state import WebState, web_state

ACTOR = "subscriber"  # the audit log's actor for the person leaving a list
WEBHOOK_PATH = "/webhooks/mailchimp"
PAGE_HEADERS = {**HEADERS, "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}
MAX_BODY_FIELDS = 50  # a Mailchimp event has a few dozen fields at most

LINK_BROKEN = N_(
    "This unsubscribe link does not work. It may have been copied incompletely. Open it "
    "again from the newsletter, or use the link in a newer one. Nothing was changed."
)
NOT_ONE_CLICK = N_(
    "This form was not sent as an unsubscribe request, so nothing was changed. Open the "
    "link from the newsletter again and press the button."
)


def masked(address: str) -> str:
    """``o•••@example.no``: enough for the person to recognise, little for anyone else."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}•••@{domain}"


def _page(
    request: Request,
    state: WebState,
    template: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
) -> HTMLResponse:
    values = {
        "controller": letters.Sender.of(state.runtime).controller,
        "query": f"?lang={request_language(request)}",
        **context,
    }
    response = state.pages.render(
        request, template, values, status_code=status_code, headers=PAGE_HEADERS
    )
    # No cookie, not even the remembered language (see the module): it goes in ?lang=.
    del response.headers["set-cookie"]
    return response


def _problem(request: Request, state: WebState, status_code: int, message: str) -> HTMLResponse:
    tr = request_translator(request)
    return _page(
        request,
        state,
        "unsubscribe/problem.html",
        {"status_code": status_code, "message": tr.gettext(message)},
        status_code=status_code,
    )


def _read(state: WebState, token: str) -> Unsubscribe | None:
    try:
        return read_token(state.runtime.secret, token)
    except InvalidToken:
        return None


def confirm_page(
    request: Request, token: str, state: Annotated[WebState, Depends(web_state)]
) -> Response:
    """``GET /unsubscribe/{token}``: the confirm page; changes nothing."""
    found = _read(state, token)
    if found is None:
        return _problem(request, state, 404, LINK_BROKEN)
    return _page(
        request,
        state,
        "unsubscribe/confirm.html",
        {"action": f"{PATH}/{token}", "address": masked(found.address)},
    )


async def one_click(
    request: Request, token: str, state: Annotated[WebState, Depends(web_state)]
) -> Response:
    """``POST /unsubscribe/{token}``: suppress the address at once (RFC 8058 § 3.2)."""
    found = _read(state, token)
    if found is None:
        return _problem(request, state, 404, LINK_BROKEN)
    form = await request.form(max_files=0, max_fields=5)
    key, _, value = ONE_CLICK.partition("=")
    if form.get(key) != value:
        return _problem(request, state, 400, NOT_ONE_CLICK)
    await asyncio.to_thread(
        suppress,
        state.runtime,
        found.address,
        source="one_click",
        actor=ACTOR,
        list_key=found.list_key,
    )
    return _page(request, state, "unsubscribe/done.html", {"address": masked(found.address)})


def _webhook_secret_ok(state: WebState, secret: str) -> bool:
    expected = state.runtime.settings.mailchimp_webhook_secret.get_secret_value()
    # Unset means the receiver is off; compare_digest on bytes works for any characters.
    return bool(expected) and hmac.compare_digest(expected.encode(), secret.encode())


def _not_found() -> JSONResponse:
    return JSONResponse(
        {"type": "about:blank", "title": "Not Found", "status": 404},
        status_code=404,
        media_type="application/problem+json",
    )


def webhook_check(secret: str, state: Annotated[WebState, Depends(web_state)]) -> Response:
    """``GET /webhooks/mailchimp/{secret}``: 200, so Mailchimp accepts the URL."""
    if not _webhook_secret_ok(state, secret):
        return _not_found()
    return JSONResponse({"status": "ok"})


async def webhook_event(
    request: Request, secret: str, state: Annotated[WebState, Depends(web_state)]
) -> Response:
    """``POST /webhooks/mailchimp/{secret}``: one audience event from Mailchimp."""
    if not _webhook_secret_ok(state, secret):
        return _not_found()
    form = await request.form(max_files=0, max_fields=MAX_BODY_FIELDS)
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    try:
        event = webhook.parse_event(fields)
        outcome = await asyncio.to_thread(webhook.receive, state.runtime, event)
    except webhook.BadEvent as exc:
        return JSONResponse(
            {"type": "about:blank", "title": "Bad Request", "status": 400, "detail": str(exc)},
            status_code=400,
            media_type="application/problem+json",
        )
    return JSONResponse({"status": outcome, "type": event.type})


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Merged into the app's lifespan by include_router, inside it, so the runtime is open.
    runtime = web_state_of(app).runtime
    async with sync.background_sync(runtime):
        yield


def web_state_of(app: FastAPI) -> WebState:
    state = app.state.personvern
    assert isinstance(state, WebState)
    return state


def unsubscribe_router() -> APIRouter:
    """Built by ``create_app``: the routes above, and the background push to Mailchimp
    (:func:`personvern.suppression.sync.background_sync`) for the app's lifetime."""
    access_log.install()
    router = APIRouter(include_in_schema=False, lifespan=_lifespan)
    router.add_api_route(
        f"{PATH}/{{token}}", confirm_page, methods=["GET"], response_class=HTMLResponse
    )
    router.add_api_route(
        f"{PATH}/{{token}}", one_click, methods=["POST"], response_class=HTMLResponse
    )
    router.add_api_route(f"{WEBHOOK_PATH}/{{secret}}", webhook_check, methods=["GET"])
    router.add_api_route(f"{WEBHOOK_PATH}/{{secret}}", webhook_event, methods=["POST"])
    return router
