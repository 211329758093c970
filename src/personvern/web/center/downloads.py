"""The privacy center's download pages: a report's link, the address asked again, the files.

The rules are in :mod:`personvern.dsr.reports.downloads`; this is their HTTP side, with the
center's safety habits (:mod:`personvern.web.center.requests`): the form's signed
double-submit CSRF token, the center's Content-Security-Policy, ``no-referrer`` (the link is
in the path), and one answer, 404, for an unknown link and a wrong address alike, so that
nothing tells whether a request exists. An out-of-date or spent link is 410.

The files are always sent as attachments (``Content-Disposition: attachment``) with a
sandboxing CSP, so the report's HTML never runs as a page of this site.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from personvern.dsr.reports import downloads
from personvern.dsr.reports.downloads import Download
from personvern.i18n import N_
from personvern.web.center.requests import (
    CENTER,
    FORM_EXPIRED,
    HEADERS,
    csrf_valid,
    problem_page,
    render_center,
)
from personvern.web.pages import request_translator
from personvern.web.state import WebState, web_state

SESSION_COOKIE = "pv_download"
PAGE_HEADERS = {**HEADERS, "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}
FILE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".pdf": "application/pdf",
    ".zip": "application/zip",
}
FILE_LABELS = {
    ".html": N_("The report, to read in a browser (HTML)"),
    ".pdf": N_("The report, to print or keep (PDF)"),
    ".zip": N_("Machine-readable copy: JSON and CSV files (ZIP)"),
}

NOT_FOUND = N_(
    "We could not open a download with this link and address. Check that you typed the "
    "address our e-mail was sent to, and open the link from the e-mail again."
)
EXPIRED = N_(
    "This download link has expired. Answer the e-mail it came in, and we will send you a new one."
)
CLOSED = N_(
    "This download link has been used. For your security it opens the files for one hour "
    "after the address is first typed. Answer the e-mail it came in, and we will send you a "
    "new one."
)
TOO_MANY = N_("Too many attempts with this link. Wait %(minutes)d minutes and try again.")


def _path(token: str) -> str:
    return f"{CENTER}/download/{token}"


def _answer(request: Request, state: WebState, found: Download) -> HTMLResponse:
    """The problem page for a link that opens nothing."""
    tr = request_translator(request)
    if found.state == "limited":
        minutes = max(1, -(-found.retry_after // 60))
        return problem_page(
            request,
            state,
            429,
            tr.gettext(TOO_MANY) % {"minutes": minutes},
            headers={**PAGE_HEADERS, "Retry-After": str(found.retry_after)},
        )
    if found.state == "expired":
        return problem_page(request, state, 410, tr.gettext(EXPIRED), headers=PAGE_HEADERS)
    if found.state == "closed":
        return problem_page(request, state, 410, tr.gettext(CLOSED), headers=PAGE_HEADERS)
    return problem_page(request, state, 404, tr.gettext(NOT_FOUND), headers=PAGE_HEADERS)


def _files_page(request: Request, state: WebState, token: str, found: Download) -> Response:
    assert found.request_id is not None
    assert found.until is not None
    tr = request_translator(request)
    items: list[dict[str, Any]] = [
        {
            "href": f"{_path(token)}/{path.name}",
            "name": path.name,
            "label": tr.gettext(FILE_LABELS[path.suffix]),
            "size": max(1, -(-path.stat().st_size // 1024)),
        }
        for path in downloads.files(state.runtime, found.request_id)
    ]
    return render_center(
        request,
        state,
        "center/download_files.html",
        {"files": items, "until": tr.format_datetime(found.until)},
        headers=PAGE_HEADERS,
    )


def download_page(
    request: Request, token: str, state: Annotated[WebState, Depends(web_state)]
) -> Response:
    """``GET /privacy/download/{token}``: the address form, or the files once confirmed."""
    found = downloads.look_up(state.runtime, token, request.cookies.get(SESSION_COOKIE))
    if found.state == "open":
        return _files_page(request, state, token, found)
    if found.state != "confirm":
        return _answer(request, state, found)
    return render_center(
        request, state, "center/download.html", {"action": _path(token)}, headers=PAGE_HEADERS
    )


async def confirm_address(
    request: Request, token: str, state: Annotated[WebState, Depends(web_state)]
) -> Response:
    """``POST /privacy/download/{token}``: the address again; on to the files (303)."""
    form = await request.form(max_files=0, max_fields=5)
    runtime = state.runtime
    if not csrf_valid(request, runtime.secret, form.get("csrf_token")):
        tr = request_translator(request)
        return problem_page(request, state, 403, tr.gettext(FORM_EXPIRED), headers=PAGE_HEADERS)
    typed = form.get("email")
    found = downloads.confirm(runtime, token, typed if isinstance(typed, str) else "")
    if found.state != "open" or found.token_hash is None or found.until is None:
        return _answer(request, state, found)
    response = RedirectResponse(_path(token), status_code=303, headers=PAGE_HEADERS)
    response.set_cookie(
        SESSION_COOKIE,
        downloads.session_cookie(runtime.secret, found.token_hash, found.until),
        max_age=int(downloads.WINDOW.total_seconds()),
        path=_path(token),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


def download_file(
    request: Request, token: str, name: str, state: Annotated[WebState, Depends(web_state)]
) -> Response:
    """``GET /privacy/download/{token}/{name}``: one file, within the session only."""
    runtime = state.runtime
    found = downloads.look_up(runtime, token, request.cookies.get(SESSION_COOKIE))
    if found.state != "open" or found.request_id is None:
        # Before the address is confirmed the files do not exist, as far as anyone can tell.
        return _answer(request, state, found if found.state != "confirm" else Download("unknown"))
    path = downloads.file_named(runtime, found.request_id, name)
    if path is None:
        return _answer(request, state, Download("unknown"))
    downloads.record_download(runtime, found.request_id, path)
    return FileResponse(
        path,
        media_type=MEDIA_TYPES[path.suffix],
        filename=path.name,
        content_disposition_type="attachment",
        headers=FILE_HEADERS,
    )


def download_router() -> APIRouter:
    """Built by ``create_app`` (through ``personvern.web.requests.request_router``)."""
    router = APIRouter(prefix=CENTER, include_in_schema=False)
    router.add_api_route(
        "/download/{token}", download_page, methods=["GET"], response_class=HTMLResponse
    )
    router.add_api_route(
        "/download/{token}", confirm_address, methods=["POST"], response_class=HTMLResponse
    )
    router.add_api_route("/download/{token}/{name}", download_file, methods=["GET"])
    return router
