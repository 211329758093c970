"""Server-rendered pages: one Jinja2 environment per language, the reader's language chosen
per request.

A page is rendered in the language :func:`request_language` negotiates: ``?lang=`` first
(and then remembered in the ``pv_lang`` cookie), then that cookie, then ``Accept-Language``,
then bokmål.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, Response

from personvern import __version__
from personvern.i18n import LANGUAGES, Language, Translator, language, negotiate, translator
from personvern.i18n.jinja import environment

TEMPLATES = Path(__file__).resolve().parent / "templates"
LANGUAGE_COOKIE = "pv_lang"
# The reader chose a language; a year is how long a preference like this is commonly kept.
LANGUAGE_COOKIE_SECONDS = 365 * 24 * 3600
# Shown in the language switcher in the language itself, so a reader finds their own.
AUTONYMS: Mapping[Language, str] = {"nb": "Norsk", "en": "English"}


def request_language(request: HTTPConnection) -> Language:
    """The language to answer ``request`` in (see :func:`personvern.i18n.negotiate`)."""
    return negotiate(
        request.query_params.get("lang"),
        request.cookies.get(LANGUAGE_COOKIE),
        request.headers.get("accept-language"),
    )


def request_translator(request: HTTPConnection) -> Translator:
    return translator(request_language(request))


def remember_language(request: HTTPConnection, response: Response) -> None:
    """Keep a ``?lang=`` choice in a cookie, so the next page is in the same language.

    The cookie holds only the language the reader picked from the switcher: it serves a
    function they asked for (ekomloven § 3-15 second paragraph), so it needs no consent.
    """
    chosen = request.query_params.get("lang")
    if not chosen:
        return
    try:
        lang = language(chosen)
    except ValueError:
        return
    response.set_cookie(
        LANGUAGE_COOKIE,
        lang,
        max_age=LANGUAGE_COOKIE_SECONDS,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


class Pages:
    """Renders the templates in ``web/templates`` in the reader's language."""

    def __init__(self, template_dir: Path = TEMPLATES) -> None:
        loader = FileSystemLoader(template_dir)
        self._environments = {lang: environment(loader, translator(lang)) for lang in LANGUAGES}

    def render(
        self,
        request: Request,
        name: str,
        context: Mapping[str, Any] | None = None,
        *,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> HTMLResponse:
        """The template ``name`` as an HTML response in the reader's language.

        Every template gets ``lang``, ``translator``, ``path``, ``user`` (``None`` unless the
        handler passes the signed-in user), ``csrf_token``, ``languages`` (links of the
        language switcher) and ``static`` (a function giving a static file's URL).
        """
        lang = request_language(request)
        values: dict[str, Any] = {
            "path": request.url.path,
            "user": None,
            "csrf_token": None,
            "languages": [
                {
                    "code": code,
                    "name": AUTONYMS[code],
                    "href": f"{request.url.path}?lang={code}",
                    "current": code == lang,
                }
                for code in LANGUAGES
            ],
            "static": _static_url,
        }
        values.update(context or {})
        html = self._environments[lang].get_template(name).render(values)
        response = HTMLResponse(html, status_code=status_code, headers=dict(headers or {}))
        response.headers["Content-Language"] = lang
        remember_language(request, response)
        return response


def _static_url(path: str) -> str:
    # The version in the query string makes a browser fetch the new file after an upgrade.
    return f"/static/{path}?v={__version__}"
