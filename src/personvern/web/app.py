"""The app factory: ``create_app(settings)`` builds the whole web app, and nothing else does.

Nothing happens at import time. Each call builds its own runtime (unless given one), its
own templates and its own routers, so two apps with two settings never share state:

    app = create_app(Settings())                     # what ``personvern serve`` runs
    app = create_app(settings, runtime=runtime)      # tests, or a CLI that has a runtime

Layers, outermost first: security headers → error boundary (unexpected exceptions) →
FastAPI's exception handlers (HTTP errors, invalid input, sign-in required) → routes.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from personvern import __version__
from personvern.consent import install_consent
from personvern.jobs.runner import job_runner
from personvern.mail.sender import background_sender
from personvern.retention.schedule import retention_schedule
from personvern.runtime import Runtime
from personvern.settings import Settings
from personvern.web.admin.routes import admin_router
from personvern.web.admin.users import password_hasher
from personvern.web.errors import ErrorBoundaryMiddleware, install_error_boundary
from personvern.web.health import healthz
from personvern.web.notices import notice_routers
from personvern.web.pages import Pages
from personvern.web.requests import request_router
from personvern.web.security import SecurityHeadersMiddleware
from personvern.web.state import WebState
from personvern.web.unsubscribe import unsubscribe_router

STATIC = Path(__file__).resolve().parent / "static"


def create_app(settings: Settings, runtime: Runtime | None = None) -> FastAPI:
    """The personvern web app for ``settings``.

    Without ``runtime`` it opens one (``Runtime.open(settings)``, which migrates the store)
    and closes it when the app shuts down; a given runtime belongs to the caller, who
    closes it.
    """
    owned = runtime is None
    rt = Runtime.open(settings) if runtime is None else runtime

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            # The outbox sender, and on SQLite the in-process runner of request steps.
            async with background_sender(rt), job_runner(rt), retention_schedule(rt):
                yield
        finally:
            if owned:
                rt.close()

    app = FastAPI(
        title="personvern",
        version=__version__,
        lifespan=lifespan,
        # The interactive docs load scripts from a CDN and inline, which the CSP forbids;
        # the OpenAPI document itself stays available for tools.
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    passwords = password_hasher()
    app.state.personvern = WebState(
        runtime=rt,
        pages=Pages(),
        passwords=passwords,
        dummy_hash=passwords.hash(secrets.token_urlsafe(16)),
    )
    install_error_boundary(app)
    app.add_api_route("/healthz", healthz, methods=["GET"], tags=["health"])
    app.include_router(admin_router())
    for router in notice_routers():
        app.include_router(router)
    install_consent(app)
    app.include_router(request_router())
    app.include_router(unsubscribe_router())  # and its background push to Mailchimp
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    # Added last = outermost: every response, even a 500, passes the security headers.
    app.add_middleware(ErrorBoundaryMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    return app
