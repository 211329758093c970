"""The one error boundary of the web app.

Every error leaves the app in one of two shapes, chosen by the path: under ``/api/`` an RFC
9457 problem (``application/problem+json``), elsewhere an HTML page in the reader's
language. Both say what to do next. This covers HTTP errors raised by handlers, invalid
input, a missing sign-in (a redirect to the sign-in page for pages) and any unexpected
exception (a 500, logged without its message, which may hold personal data).

Handlers raise ``HTTPException(status, detail=N_("…"))`` with an English msgid as detail;
it is translated here.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from personvern.i18n import N_, Translator
from personvern.web.pages import request_translator
from personvern.web.state import web_state

log = logging.getLogger(__name__)

API_PREFIX = "/api/"
LOGIN_PATH = "/admin/login"

DEFAULT_TITLE = N_("Error")
TITLES: Mapping[int, str] = {
    400: N_("Bad request"),
    401: N_("Sign-in required"),
    403: N_("Access denied"),
    404: N_("Page not found"),
    405: N_("Not allowed here"),
    413: N_("Too much data"),
    422: N_("Invalid input"),
    429: N_("Too many attempts"),
    500: N_("Server error"),
    503: N_("Service unavailable"),
}

MESSAGES: Mapping[int, str] = {
    400: N_("The request could not be understood. Go back and try again."),
    401: N_("Sign in to continue."),
    403: N_("You do not have access to this page. Ask an administrator if you need it."),
    404: N_("We could not find that page. Check the address, or go to the front page."),
    405: N_("That action is not available on this page."),
    413: N_("What was sent is too large."),
    422: N_("Some of what was sent is not valid. Check the form and try again."),
    429: N_("Too many attempts. Wait a little and try again."),
    500: N_(
        "Something went wrong on our side. Try again in a moment; if it keeps happening, "
        "the server log says what failed."
    ),
    503: N_("The service is not available right now. Try again in a moment."),
}


class LoginRequired(Exception):
    """Raised by a dependency when a page needs a signed-in admin user and there is none."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def is_api(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIX)


def error_response(
    request: Request,
    status_code: int,
    detail: str | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Response:
    """An error in the shape the path calls for; ``detail`` is an (untranslated) msgid."""
    tr = request_translator(request)
    message = _detail_text(tr, status_code, detail)
    if is_api(request):
        body: dict[str, Any] = {
            "type": "about:blank",
            "title": _phrase(status_code),
            "status": status_code,
            "detail": message,
            "instance": request.url.path,
        }
        body.update(extra or {})
        response: Response = JSONResponse(
            body, status_code=status_code, headers=dict(headers or {})
        )
        response.headers["Content-Type"] = "application/problem+json"
        response.headers["Content-Language"] = tr.lang
        return response
    return web_state(request).pages.render(
        request,
        "error.html",
        {
            "status_code": status_code,
            "title": tr.gettext(TITLES.get(status_code, DEFAULT_TITLE)),
            "message": message,
        },
        status_code=status_code,
        headers=headers,
    )


def _phrase(status_code: int) -> str:
    try:
        return HTTPStatus(status_code).phrase
    except ValueError:
        return "Error"


def _detail_text(tr: Translator, status_code: int, detail: str | None) -> str:
    # Starlette's own details are the bare status phrase ("Not Found"); ours say what to do.
    if not detail or detail == _phrase(status_code):
        detail = MESSAGES.get(status_code, MESSAGES[400] if status_code < 500 else MESSAGES[500])
    return tr.gettext(detail)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return error_response(request, exc.status_code, exc.detail, headers=exc.headers)


async def _invalid_input(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    # Where and what, but never the submitted value: it may be personal data.
    errors = [
        {"loc": list(error.get("loc", ())), "type": error.get("type"), "msg": error.get("msg")}
        for error in exc.errors()
    ]
    return error_response(request, 422, extra={"errors": errors})


async def _login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    if is_api(request):
        return error_response(request, 401)
    query = {"next": exc.next_path} if exc.next_path not in ("", "/admin") else {}
    target = LOGIN_PATH + (f"?{urlencode(query)}" if query else "")
    return RedirectResponse(target, status_code=303)


class ErrorBoundaryMiddleware:
    """Turns an unexpected exception into a 500 page or problem, with security headers.

    Starlette's own last-resort handler sits outside every middleware, so its 500 would
    miss the security headers; this one sits just inside :class:`SecurityHeadersMiddleware`.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started:
                raise  # Too late for an error page; the server closes the connection.
            # The exception's message can quote SQL parameters or input, i.e. personal
            # data, so only its type and the frames are logged.
            log.error(
                "unhandled %s on %s %s\n%s",
                type(exc).__name__,
                scope.get("method"),
                scope.get("path"),
                "".join(traceback.format_tb(exc.__traceback__)),
            )
            request = Request(scope)
            try:
                response = error_response(request, 500)
            except Exception:  # the error page itself failed: answer plainly
                response = PlainTextResponse("Internal Server Error", status_code=500)
            await response(scope, receive, send)


def install_error_boundary(app: FastAPI) -> None:
    """Register the handlers; ``create_app`` adds :class:`ErrorBoundaryMiddleware` itself."""
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid_input)
    app.add_exception_handler(LoginRequired, _login_required)
