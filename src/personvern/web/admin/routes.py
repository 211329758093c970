"""The admin router: every page under ``/admin``, all behind the CSRF guard."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends
from starlette.responses import HTMLResponse

from personvern.web.admin.auth import login, login_page, logout
from personvern.web.admin.consents import consent_pages
from personvern.web.admin.dashboard import dashboard_page
from personvern.web.admin.outbox import outbox_message_page, outbox_page
from personvern.web.admin.requests import request_pages
from personvern.web.admin.retention import retention_pages
from personvern.web.admin.sessions import csrf_guard
from personvern.web.admin.suppressions import suppression_pages
from personvern.web.admin.systems import system_pages
from personvern.web.admin.users import users_page


def admin_router() -> APIRouter:
    """Built by ``create_app``. Pages are HTML for people, so they stay out of OpenAPI.

    A page added later goes here too, and gets the CSRF guard on its forms for free; it
    depends on ``require_user`` (any admin user) or ``require_admin`` (the admin role).
    """
    router = APIRouter(prefix="/admin", dependencies=[Depends(csrf_guard)])
    pages: list[tuple[str, str, Callable[..., Any]]] = [
        ("GET", "", dashboard_page),
        ("GET", "/login", login_page),
        ("POST", "/login", login),
        ("POST", "/logout", logout),
        ("GET", "/users", users_page),
        ("GET", "/outbox", outbox_page),
        ("GET", "/outbox/{message_id}", outbox_message_page),
        *consent_pages(),
        *request_pages(),
        *retention_pages(),
        *system_pages(),
        *suppression_pages(),
    ]
    for method, path, endpoint in pages:
        router.add_api_route(
            path,
            endpoint,
            methods=[method],
            include_in_schema=False,
            response_class=HTMLResponse,
        )
    return router
