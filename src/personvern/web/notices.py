"""The notices as pages: the privacy policy and cookie declaration for everyone, the record of
processing and the policy's version history for admin users.

Each page is rendered from the inventory by :mod:`personvern.notices` and shows the policy
version stored by :func:`personvern.notices.history.publish` (GDPR Art. 12(1): information
in writing, easily accessible; Art. 13(3): people are told when it changes). Rendered pages
are kept per kind, language and version, since the inventory only changes on restart.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from personvern.i18n import Language
from personvern.notices import PdfUnavailable, render_notice, stylesheet
from personvern.notices.history import Published, compare, publish, versions
from personvern.web.admin.sessions import SignedIn, require_user
from personvern.web.pages import request_language, request_translator
from personvern.web.state import WebState, web_state

Kind = Literal["policy", "cookies", "records"]


@dataclass
class NoticeCache:
    """The current policy version and the pages rendered for it."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    published: Published | None = None
    pages: dict[tuple[str, str, bool], bytes] = field(default_factory=dict)

    def current(self, state: WebState) -> Published:
        with self.lock:
            if self.published is None:
                self.published = publish(state.runtime, state.runtime.inventory())
            return self.published

    def page(self, state: WebState, kind: Kind, lang: Language, fmt: str = "html") -> bytes:
        version = self.current(state)
        key = (kind, lang, fmt == "pdf")
        with self.lock:
            if key not in self.pages:
                self.pages[key] = render_notice(
                    state.runtime.inventory(),
                    kind,
                    lang,
                    "pdf" if fmt == "pdf" else "html",
                    version=str(version.number),
                    published=version.published,
                    standalone=fmt == "pdf",
                )
            return self.pages[key]


def _fragment(
    request: Request,
    state: WebState,
    cache: NoticeCache,
    kind: Kind,
    template: str,
    **extra: object,
) -> HTMLResponse:
    lang = request_language(request)
    try:
        body = cache.page(state, kind, lang)
    except LookupError as exc:
        raise HTTPException(
            503,
            detail=request_translator(request).gettext(
                "The privacy information is not available yet: no inventory is configured."
            ),
        ) from exc
    version = cache.current(state)
    if template != "notices/public.html":
        # The admin layout has its own <main>; the record is an article inside it.
        body = body.replace(b"<main ", b"<article ", 1).replace(b"</main>", b"</article>", 1)
    return state.pages.render(
        request,
        template,
        {"notice": Markup(body.decode()), "kind": kind, "version": version, **extra},  # noqa: S704 - our own renderer escapes every inventory text
    )


def notice_routers() -> list[APIRouter]:
    """The public notices under ``/privacy`` and the admin's under ``/admin``."""
    cache = NoticeCache()
    public = APIRouter(prefix="/privacy", include_in_schema=False)
    admin = APIRouter(prefix="/admin", include_in_schema=False)

    @public.get("/policy", response_class=HTMLResponse)
    def policy_page(
        request: Request, state: Annotated[WebState, Depends(web_state)]
    ) -> HTMLResponse:
        """The privacy policy (personvernerklæring), GDPR Art. 13 and 14."""
        return _fragment(request, state, cache, "policy", "notices/public.html")

    @public.get("/cookies", response_class=HTMLResponse)
    def cookies_page(
        request: Request, state: Annotated[WebState, Depends(web_state)]
    ) -> HTMLResponse:
        """The cookie declaration, ekomloven § 3-15."""
        return _fragment(request, state, cache, "cookies", "notices/public.html")

    @public.get("/policy.pdf")
    def policy_pdf(request: Request, state: Annotated[WebState, Depends(web_state)]) -> Response:
        """The privacy policy as a PDF, for printing and keeping."""
        lang = request_language(request)
        try:
            data = cache.page(state, "policy", lang, "pdf")
        except PdfUnavailable as exc:
            raise HTTPException(503, detail=str(exc)) from exc
        name = "personvernerklaering" if lang == "nb" else "privacy-policy"
        return Response(
            data,
            media_type="application/pdf",
            headers={"Content-Disposition": f'inline; filename="{name}.pdf"'},
        )

    @public.get("/notice.css")
    def notice_css() -> Response:
        """The notices' stylesheet, a file so pages need no inline style under the CSP."""
        return Response(
            stylesheet(),
            media_type="text/css",
            headers={"Cache-Control": "public, max-age=3600"},
        )

    @admin.get("/records", response_class=HTMLResponse)
    def records_page(
        request: Request,
        user: Annotated[SignedIn, Depends(require_user)],
        state: Annotated[WebState, Depends(web_state)],
    ) -> HTMLResponse:
        """The record of processing activities, GDPR Art. 30(1) and 30(2)."""
        return _fragment(
            request,
            state,
            cache,
            "records",
            "notices/admin.html",
            user=user,
            csrf_token=user.csrf_token,
        )

    @admin.get("/policy", response_class=HTMLResponse)
    def policy_history(
        request: Request,
        user: Annotated[SignedIn, Depends(require_user)],
        state: Annotated[WebState, Depends(web_state)],
        old: Annotated[int | None, Query(ge=1)] = None,
        new: Annotated[int | None, Query(ge=1)] = None,
    ) -> HTMLResponse:
        """Every version of the privacy policy, and a readable diff between two of them."""
        current = cache.current(state)
        history = versions(state.runtime)
        lang = request_language(request)
        diff: Markup | None = None
        if old is not None or new is not None:
            first = old if old is not None else max(1, current.number - 1)
            second = new if new is not None else current.number
            try:
                diff = Markup(compare(state.runtime, first, second, lang))  # noqa: S704 - diff_html escapes both texts
            except LookupError as exc:
                raise HTTPException(404, detail=str(exc)) from exc
            old, new = first, second
        return state.pages.render(
            request,
            "notices/history.html",
            {
                "user": user,
                "csrf_token": user.csrf_token,
                "history": history,
                "current": current,
                "diff": diff,
                "old": old,
                "new": new,
            },
        )

    return [public, admin]
