"""``GET /healthz``: is the app up, and can it reach its store? For load balancers and
monitoring; it says nothing about anyone."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import Depends
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.responses import JSONResponse

from personvern import __version__
from personvern.web.state import WebState, web_state

log = logging.getLogger(__name__)


def healthz(state: Annotated[WebState, Depends(web_state)]) -> JSONResponse:
    """200 ``{"status": "ok", "database": "ok", ...}``; 503 when the store does not answer."""
    engine = state.runtime.engine
    body = {"version": __version__, "backend": engine.dialect.name}
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        # The type only: a driver's message can include the connection URL.
        log.warning("health check: the store did not answer (%s)", type(exc).__name__)
        return JSONResponse({"status": "error", "database": "unreachable", **body}, 503)
    return JSONResponse({"status": "ok", "database": "ok", **body})
