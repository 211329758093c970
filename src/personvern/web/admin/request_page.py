"""One request in the admin (``/admin/requests/{id}``): its timeline and what an admin does
with it.

The page shows the request, its deadline (GDPR Art. 12(3)), the plan's steps with their
status, attempts and errors, the e-mails sent to the person, and the audit entries about
the person (the hash-chained log, :mod:`personvern.audit`). Admins act on it here:

- **approve** the plan (rectification always, other kinds when the shop reviews first);
- **refuse** with reasons: the person gets the Art. 12(4) letter (reasons, Datatilsynet,
  the courts);
- **extend** by one or two months with reasons, before the first deadline (Art. 12(3));
- **mark a manual task done**, with a note and optionally an attachment (the vendor's
  confirmation, say), kept in ``<data_dir>/attachments`` up to
  ``PERSONVERN_REQUEST_ATTACHMENT_MAX_BYTES``.

Viewers may read the page. An unknown id, or a step of another request, is 404.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response

from personvern.dsr import handoff
from personvern.dsr import requests as lifecycle
from personvern.dsr.deadlines import local_day
from personvern.dsr.intake import RequestError
from personvern.dsr.listing import RequestRow, Timeline, find_step, timeline
from personvern.dsr.status import FINISHED_STEPS
from personvern.dsr.texts import CHANNEL, KIND, STATUS, STEP_STATUS
from personvern.i18n import N_, Translator
from personvern.i18n.terms import label
from personvern.store.base import utcnow
from personvern.store.requests import RequestStep
from personvern.web.admin.sessions import SignedIn, require_admin, require_user
from personvern.web.pages import request_translator
from personvern.web.state import WebState, web_state

ATTACHMENTS = "attachments"
_REQUEST_ID = re.compile(r"^[0-9a-f-]{36}$")
_SUFFIX = re.compile(r"^\.[A-Za-z0-9]{1,8}$")

DONE: dict[str, str] = {
    "created": N_("The request is registered."),
    "approved": N_("The plan is approved and runs now."),
    "refused": N_("The request is refused; the person has been sent the reasons."),
    "extended": N_("The deadline is extended; the person has been told why."),
    "step": N_("The task is marked done."),
    "retried": N_("The step will be tried again."),
}
NOT_FOUND = N_("There is no request with that id.")


def _load(state: WebState, request_id: str) -> Timeline:
    if not _REQUEST_ID.match(request_id):
        raise HTTPException(404, detail=NOT_FOUND)
    try:
        return timeline(state.runtime, request_id)
    except lifecycle.RequestNotFound as exc:
        raise HTTPException(404, detail=NOT_FOUND) from exc


def deadline_view(tr: Translator, item: RequestRow) -> dict[str, Any]:
    """How a deadline is shown: the date, and in words how near it is."""
    days = item.countdown.days_left
    if item.countdown.state == "overdue":
        note = tr.ngettext("%(num)d day overdue", "%(num)d days overdue", -days) % {"num": -days}
    elif item.countdown.state == "closed":
        note = ""
    elif days == 0:
        note = tr.gettext("due today")
    else:
        note = tr.ngettext("%(num)d day left", "%(num)d days left", days) % {"num": days}
    return {
        "date": tr.format_date(local_day(item.deadline)),
        "note": note,
        "state": item.countdown.state,
        "extended": item.extended,
    }


def _view(tr: Translator, found: Timeline) -> dict[str, Any]:
    r = found.request
    verification = found.details.get("verification") or {}
    return {
        "id": r.id,
        "kind": label(tr, KIND, r.kind),
        "kind_code": r.kind,
        "status": label(tr, STATUS, r.status),
        "status_code": r.status,
        "email": r.email,
        "name": r.name or "",
        "phone": r.phone or "",
        "lang": r.lang,
        "channel": label(tr, CHANNEL, r.channel),
        "received": tr.format_datetime(r.received_at),
        "first_due": tr.format_date(local_day(r.due_at)),
        "deadline": deadline_view(tr, found.row),
        "extension_reason": r.extension_reason or "",
        "extension_notice": tr.format_datetime(r.extension_notice_at)
        if r.extension_notice_at
        else "",
        "verified": tr.format_datetime(r.verified_at) if r.verified_at else "",
        "verification_note": str(verification.get("note", "")),
        "approved": tr.format_datetime(r.approved_at) if r.approved_at else "",
        "approved_by": r.approved_by or "",
        "completed": tr.format_datetime(r.completed_at) if r.completed_at else "",
        "refusal_reason": r.refusal_reason or "",
        "message": str(found.details.get("message", "")),
        "changes": sorted(found.changes.items()),
        "can_approve": r.status in {"awaiting_approval", "verified"},
        "can_refuse": r.status not in {"completed", "refused", "expired"},
        # Art. 12(3): an extension is told within the first month, so only until then.
        "can_extend": r.status not in {"completed", "refused", "expired", "unverified"}
        and utcnow() <= r.due_at,
    }


def _steps(tr: Translator, found: Timeline) -> list[dict[str, Any]]:
    return [
        {
            "id": step.id,
            "system": step.system_key,
            "connector": step.connector or "",
            "manual": step.connector is None,
            "action": step.action,
            "status": label(tr, STEP_STATUS, step.status),
            "status_code": step.status,
            "attempts": step.attempts,
            "error": step.last_error or "",
            "finished": tr.format_datetime(step.finished_at) if step.finished_at else "",
            "done_by": step.done_by or "",
            "note": step.note or "",
            "attachment": f"/admin/requests/{found.request.id}/steps/{step.id}/attachment"
            if step.attachment
            else "",
            "can_finish": step.connector is None and step.status not in FINISHED_STEPS,
            "can_retry": step.status == "failed",
            "instructions": _instructions(step.plan),
        }
        for step in found.steps
    ]


def _instructions(plan: str) -> str:
    # A manual step's plan carries what the person doing it needs to know (the planner's
    # "instructions"); anything else in it is for the executor.
    try:
        value = json.loads(plan or "{}")
    except ValueError:
        return ""
    text = value.get("instructions") if isinstance(value, dict) else None
    return text if isinstance(text, str) else ""


def _page(
    request: Request,
    state: WebState,
    user: SignedIn,
    found: Timeline,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    tr = request_translator(request)
    done = request.query_params.get("done", "")
    return state.pages.render(
        request,
        "admin/request.html",
        {
            "user": user,
            "csrf_token": user.csrf_token,
            "request": _view(tr, found),
            "steps": _steps(tr, found),
            "messages": [
                {
                    "purpose": m.purpose,
                    "subject": m.subject,
                    "status": m.status,
                    "created": tr.format_datetime(m.created_at),
                }
                for m in found.messages
            ],
            "audit": [
                {
                    "seq": e.seq,
                    "at": tr.format_datetime(e.at),
                    "actor": e.actor,
                    "action": e.action,
                    "details": e.details if e.details != "{}" else "",
                    "this": e.object_id == found.request.id,
                }
                for e in reversed(found.audit)
            ],
            "done": tr.gettext(DONE[done]) if done in DONE else None,
            "error": error,
            "max_mb": max(1, state.runtime.settings.request_attachment_max_bytes // (1024 * 1024)),
        },
        status_code=status_code,
    )


def request_page(
    request: Request,
    request_id: str,
    user: Annotated[SignedIn, Depends(require_user)],
    state: Annotated[WebState, Depends(web_state)],
) -> Response:
    """``GET /admin/requests/{request_id}``: the request's timeline."""
    return _page(request, state, user, _load(state, request_id))


def _act(
    request: Request,
    state: WebState,
    user: SignedIn,
    request_id: str,
    action: Callable[[], object],
    done: str,
) -> Response:
    found = _load(state, request_id)
    try:
        action()
    except RequestError as exc:
        tr = request_translator(request)
        found = _load(state, request_id)
        return _page(request, state, user, found, error=exc.translated(tr), status_code=400)
    return RedirectResponse(f"/admin/requests/{found.request.id}?done={done}", status_code=303)


async def approve(
    request: Request,
    request_id: str,
    user: Annotated[SignedIn, Depends(require_admin)],
    state: Annotated[WebState, Depends(web_state)],
) -> Response:
    """``POST /admin/requests/{request_id}/approve``: run the plan."""
    return _act(
        request,
        state,
        user,
        request_id,
        lambda: lifecycle.approve(state.runtime, request_id, user.actor),
        "approved",
    )


async def refuse(
    request: Request,
    request_id: str,
    user: Annotated[SignedIn, Depends(require_admin)],
    state: Annotated[WebState, Depends(web_state)],
) -> Response:
    """``POST /admin/requests/{request_id}/refuse``: refuse with reasons (Art. 12(4))."""
    reason = str((await request.form()).get("reason") or "")
    return _act(
        request,
        state,
        user,
        request_id,
        lambda: lifecycle.refuse(state.runtime, request_id, user.actor, reason),
        "refused",
    )


async def extend(
    request: Request,
    request_id: str,
    user: Annotated[SignedIn, Depends(require_admin)],
    state: Annotated[WebState, Depends(web_state)],
) -> Response:
    """``POST /admin/requests/{request_id}/extend``: one or two more months (Art. 12(3))."""
    form = await request.form()
    reason = str(form.get("reason") or "")
    months_text = str(form.get("months") or "")
    months = int(months_text) if months_text in {"1", "2"} else 0
    return _act(
        request,
        state,
        user,
        request_id,
        lambda: lifecycle.extend(
            state.runtime, request_id, user.actor, months=months, reason=reason
        ),
        "extended",
    )


async def finish_step(
    request: Request,
    request_id: str,
    step_id: int,
    user: Annotated[SignedIn, Depends(require_admin)],
    state: Annotated[WebState, Depends(web_state)],
) -> Response:
    """``POST /admin/requests/{request_id}/steps/{step_id}/done``: a manual task is done."""
    runtime = state.runtime
    found = _load(state, request_id)
    try:
        step = find_step(runtime, request_id, step_id)
    except lifecycle.RequestNotFound as exc:
        raise HTTPException(404, detail=NOT_FOUND) from exc
    form = await request.form()
    try:
        return await _finish(request, state, user, found, step, form)
    finally:
        await form.close()  # the upload's temporary file, whatever happened


async def _finish(
    request: Request,
    state: WebState,
    user: SignedIn,
    found: Timeline,
    step: RequestStep,
    form: FormData,
) -> Response:
    runtime = state.runtime
    request_id, step_id = found.request.id, step.id
    tr = request_translator(request)
    note = str(form.get("note") or "").strip()
    if not note or step.connector is not None or step.status in FINISHED_STEPS:
        message = N_("Write a note saying what was done: it is the record of this task.")
        if step.connector is not None or step.status in FINISHED_STEPS:
            message = N_("This task is not a manual one that is still open.")
        return _page(request, state, user, found, error=tr.gettext(message), status_code=400)
    upload = form.get("attachment")
    stored: Path | None = None
    if isinstance(upload, UploadFile) and upload.filename:
        stored = await _store_attachment(state, request_id, step_id, upload)
        if stored is None:
            limit = runtime.settings.request_attachment_max_bytes // (1024 * 1024)
            message = tr.gettext(
                N_("The attachment is too large: at most %(mb)d MB. Nothing was saved.")
            ) % {"mb": max(1, limit)}
            return _page(request, state, user, found, error=message, status_code=413)
    try:
        handoff.complete_manual_step(runtime, step_id, user.actor, note[:4000], stored)
    except (ValueError, LookupError):
        # Someone else marked it done a moment ago; the page shows the step as it is now.
        if stored is not None:
            stored.unlink(missing_ok=True)
        message = tr.gettext(N_("This task is not a manual one that is still open."))
        latest = _load(state, request_id)
        return _page(request, state, user, latest, error=message, status_code=409)
    lifecycle.notify_completed(runtime, request_id, user.actor)
    return RedirectResponse(f"/admin/requests/{request_id}?done=step", status_code=303)


async def retry_step(
    request: Request,
    request_id: str,
    step_id: int,
    user: Annotated[SignedIn, Depends(require_admin)],
    state: Annotated[WebState, Depends(web_state)],
) -> Response:
    """``POST /admin/requests/{request_id}/steps/{step_id}/retry``: run a failed step again."""
    runtime = state.runtime
    found = _load(state, request_id)
    try:
        step = find_step(runtime, request_id, step_id)
    except lifecycle.RequestNotFound as exc:
        raise HTTPException(404, detail=NOT_FOUND) from exc
    try:
        handoff.retry_step(runtime, step.id, user.actor)
    except (ValueError, LookupError):
        tr = request_translator(request)
        message = tr.gettext(N_("Only a failed step can be tried again."))
        return _page(request, state, user, found, error=message, status_code=409)
    return RedirectResponse(f"/admin/requests/{request_id}?done=retried", status_code=303)


def _attachment_dir(state: WebState, request_id: str) -> Path:
    return state.runtime.settings.data_dir / ATTACHMENTS / request_id


async def _store_attachment(
    state: WebState, request_id: str, step_id: int, upload: UploadFile
) -> Path | None:
    """Copy an upload into the attachments folder; ``None`` (nothing kept) if it is too big.

    The stored name is made here — step id, random part, the original's suffix if it is a
    plain one — so an uploaded name can neither climb out of the folder nor carry a
    person's name into a file listing.
    """
    limit = state.runtime.settings.request_attachment_max_bytes
    suffix = Path(upload.filename or "").suffix
    name = f"step{step_id}-{secrets.token_hex(8)}{suffix if _SUFFIX.match(suffix) else ''}"
    folder = _attachment_dir(state, request_id)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    size = 0
    with target.open("xb") as out:
        while chunk := await upload.read(64 * 1024):
            size += len(chunk)
            if size > limit:
                break
            out.write(chunk)
    if size > limit:
        target.unlink(missing_ok=True)
        return None
    return target


def attachment(
    request_id: str,
    step_id: int,
    user: Annotated[SignedIn, Depends(require_user)],
    state: Annotated[WebState, Depends(web_state)],
) -> Response:
    """``GET /admin/requests/{request_id}/steps/{step_id}/attachment``: download it."""
    try:
        step = find_step(state.runtime, request_id, step_id)
    except lifecycle.RequestNotFound as exc:
        raise HTTPException(404, detail=NOT_FOUND) from exc
    if not step.attachment:
        raise HTTPException(404, detail=NOT_FOUND)
    folder = _attachment_dir(state, request_id).resolve()
    path = (folder / Path(step.attachment).name).resolve()
    if path.parent != folder or not path.is_file():
        raise HTTPException(404, detail=NOT_FOUND)
    # Always a download, never shown inline: an uploaded HTML file must not run as a page.
    return FileResponse(path, media_type="application/octet-stream", filename=path.name)


def request_page_routes() -> list[tuple[str, str, Callable[..., Any]]]:
    return [
        ("GET", "/requests/{request_id}", request_page),
        ("POST", "/requests/{request_id}/approve", approve),
        ("POST", "/requests/{request_id}/refuse", refuse),
        ("POST", "/requests/{request_id}/extend", extend),
        ("POST", "/requests/{request_id}/steps/{step_id}/done", finish_step),
        ("POST", "/requests/{request_id}/steps/{step_id}/retry", retry_step),
        ("GET", "/requests/{request_id}/steps/{step_id}/attachment", attachment),
    ]
