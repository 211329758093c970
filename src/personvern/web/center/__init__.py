"""The public privacy center: pages for the people whose data the shop holds.

It starts with "Dine samtykker / Your consent" (``/privacy/consent``,
:mod:`personvern.web.center.consent`); the policy and cookie declaration pages live with
the notices (``personvern.web.notices``).
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import HTMLResponse

from personvern.web.center.consent import consent_page


def center_router() -> APIRouter:
    """Built by ``create_app`` (through ``install_consent``). HTML pages, outside OpenAPI."""
    router = APIRouter(prefix="/privacy")
    router.add_api_route(
        "/consent",
        consent_page,
        methods=["GET"],
        include_in_schema=False,
        response_class=HTMLResponse,
    )
    return router
