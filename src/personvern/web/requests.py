"""Every route of data-subject requests, for ``create_app`` to include in one line: the
privacy center's pages (:mod:`personvern.web.center.requests`) and the JSON API
(:mod:`personvern.web.api.requests`). The admin pages are in the admin router
(:mod:`personvern.web.admin.requests`).

The links we e-mail carry their secret in the path (``/privacy/verify/TOKEN.SIG``,
``/privacy/status/…``), and the server's access log writes every path. So that whoever
reads the log cannot use the links, :class:`RedactLinks` replaces each link value with
``[link]`` in uvicorn's access log — and an address in the admin's ``?email=`` filter with
``[address]`` (personal data is never logged in clear); :func:`request_router` installs
it.
"""

from __future__ import annotations

import logging
import re

from fastapi import APIRouter

from personvern.web.api.requests import request_api_router
from personvern.web.center.downloads import download_router
from personvern.web.center.requests import request_center_router

ACCESS_LOGGER = "uvicorn.access"
# The shape of a link value (personvern.dsr.verification): token, dot, signature.
_LINK_VALUE = re.compile(r"[A-Za-z0-9_-]{43}\.[0-9a-f]{32}")
# The admin's request list can be filtered by address (?email=…): not for the log either.
_EMAIL_QUERY = re.compile(r"([?&]email=)[^&\s\"]*")


def redact(text: str) -> str:
    return _EMAIL_QUERY.sub(r"\1[address]", _LINK_VALUE.sub("[link]", text))


class RedactLinks(logging.Filter):
    """Blanks link values in a log record's message and arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


def install_log_redaction(logger_name: str = ACCESS_LOGGER) -> None:
    """Add :class:`RedactLinks` to the access log, once however many apps are built."""
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, RedactLinks) for f in logger.filters):
        logger.addFilter(RedactLinks())


def request_router() -> APIRouter:
    install_log_redaction()
    router = APIRouter()
    router.include_router(request_center_router())
    router.include_router(download_router())
    router.include_router(request_api_router())
    return router
