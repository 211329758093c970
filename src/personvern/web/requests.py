"""Every route of data-subject requests, for ``create_app`` to include in one line: the
privacy center's pages (:mod:`personvern.web.center.requests`) and the JSON API
(:mod:`personvern.web.api.requests`). The admin pages are in the admin router
(:mod:`personvern.web.admin.requests`).

The links we e-mail carry their secret in the path (``/privacy/verify/TOKEN.SIG``,
``/privacy/status/…``), and the server's access log writes every path: :func:`request_router`
installs :mod:`personvern.web.access_log`, which blanks them there.
"""

from __future__ import annotations

from fastapi import APIRouter

from personvern.web import access_log
from personvern.web.api.requests import request_api_router
from personvern.web.center.downloads import download_router
from personvern.web.center.requests import request_center_router


def request_router() -> APIRouter:
    access_log.install()
    router = APIRouter()
    router.include_router(request_center_router())
    router.include_router(download_router())
    router.include_router(request_api_router())
    return router
