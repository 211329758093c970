"""``/api/v1/requests``: data-subject requests from integrations (the shop's account page, a
helpdesk), with an API token (:mod:`personvern.web.api.tokens`).

The body is checked strictly: unknown fields, wrong types and bad values are refused with
422 and a problem (RFC 9457) whose ``detail`` names the field and whose ``errors`` list
every one; nothing is written. An integration that has already authenticated the person —
a customer signed in to their account, which EDPB Guidelines 01/2022 (section 3.3) counts
as the normal and proportionate way — sends ``"verified": true`` with a
``verification_note`` saying so, and the request starts at once; otherwise the person is
e-mailed a verification link like anyone using the privacy center's form.

The per-IP and per-address limits apply here too (:mod:`personvern.dsr.limits`); an
integration is the shop's own, so past either limit it simply gets 429 with
``Retry-After``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from personvern.dsr import limits
from personvern.dsr import requests as lifecycle
from personvern.dsr.intake import Intake, RequestError, check
from personvern.dsr.listing import row
from personvern.i18n import N_
from personvern.store.base import utcnow
from personvern.web.admin.auth import client_ip
from personvern.web.api.tokens import Bearer, require_admin_token, require_token
from personvern.web.errors import error_response
from personvern.web.pages import request_translator
from personvern.web.state import WebState, web_state

PATH = "/api/v1/requests"
MAX_BODY = 64 * 1024


class ChangesIn(BaseModel):
    """The corrections of a rectification (Art. 16); at least one for ``rectify``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: str | None = Field(default=None, max_length=500)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=40)
    address: str | None = Field(default=None, max_length=500)


class RequestIn(BaseModel):
    """A new request, as ``POST /api/v1/requests`` takes it."""

    model_config = ConfigDict(extra="forbid", strict=True)

    kind: Literal["access", "rectify", "erase", "object", "restrict"] = Field(
        description="access (Art. 15), rectify (Art. 16), erase (Art. 17), object (direct "
        "marketing, Art. 21(2)–(3)) or restrict (Art. 18)."
    )
    email: str = Field(max_length=320, description="The person's e-mail address.")
    name: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=40)
    lang: Literal["nb", "en"] = Field(default="nb", description="Language of the e-mails.")
    changes: ChangesIn = Field(
        default_factory=lambda: ChangesIn(),
        description="rectify only: the correct values the person proposes.",
    )
    message: str | None = Field(default=None, max_length=2000)
    verified: bool = Field(
        default=False,
        description="true when the integration has authenticated the person; then "
        "verification_note is required and no verification e-mail is sent.",
    )
    verification_note: str | None = Field(
        default=None,
        max_length=4000,
        description="How the person was authenticated (e.g. 'signed in to their account').",
    )


def _field(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "body"


def _problem(
    request: Request, status: int, detail: str, *, field: str | None = None, **extra: Any
) -> Response:
    if field is not None:
        extra.setdefault("errors", [{"field": field, "message": detail}])
        detail = f"{field}: {detail}"
    return error_response(request, status, detail, extra=extra)


async def create_request(
    request: Request,
    bearer: Annotated[Bearer, Depends(require_admin_token)],
    state: Annotated[WebState, Depends(web_state)],
) -> Response:
    """``POST /api/v1/requests``: accept a request; 201 with its id and status."""
    tr = request_translator(request)
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        return _problem(request, 415, "send the body as JSON (Content-Type: application/json)")
    if int(request.headers.get("content-length") or 0) > MAX_BODY:
        return _problem(request, 413, f"the body is larger than {MAX_BODY} bytes")
    body = await request.body()
    if len(body) > MAX_BODY:
        return _problem(request, 413, f"the body is larger than {MAX_BODY} bytes")
    try:
        given = RequestIn.model_validate_json(body)
    except ValidationError as exc:
        errors = [
            {"field": _field(e["loc"]), "type": e["type"], "message": e["msg"]}
            for e in exc.errors(include_url=False, include_input=False)
        ]
        if any(e["type"] == "json_invalid" for e in errors):
            return _problem(request, 400, "the body is not valid JSON")
        first = errors[0]
        return _problem(request, 422, f"{first['field']}: {first['message']}", errors=errors)
    intake = Intake(
        kind=given.kind,
        email=given.email,
        name=given.name,
        phone=given.phone,
        lang=given.lang,
        changes=given.changes.model_dump(exclude_none=True),
        message=given.message,
    )
    note = given.verification_note
    try:
        checked = check(intake)
        if given.verified and not (note and note.strip()):
            raise RequestError(
                N_("Say how the person was authenticated when the request is verified."),
                field="verification_note",
            )
    except RequestError as exc:
        return _problem(request, 422, exc.translated(tr), field=exc.field)
    runtime = state.runtime
    per_address, per_ip = limits.request_limits(runtime, "api")
    for limit, value, kind in (
        (per_ip, client_ip(request), "ip"),
        (per_address, checked.email, "email"),
    ):
        verdict = limits.attempt(runtime, limit, value, kind=kind)
        if not verdict.allowed:
            return error_response(
                request,
                429,
                N_("Too many attempts. Wait a little and try again."),
                headers={"Retry-After": str(verdict.retry_after)},
            )
    try:
        created = lifecycle.create(
            runtime,
            intake,
            channel="api",
            actor=bearer.actor,
            verified_note=note if given.verified else None,
        )
    except RequestError as exc:
        return _problem(request, 422, exc.translated(tr), field=exc.field)
    body_out = _summary(state, created.request_id)
    return JSONResponse(
        body_out, status_code=201, headers={"Location": f"{PATH}/{created.request_id}"}
    )


def _summary(state: WebState, request_id: str) -> dict[str, Any]:
    runtime = state.runtime
    found = lifecycle.get(runtime, request_id)
    summary = row(found, utcnow(), runtime.settings.request_warn_days).to_dict()
    # The caller knows who the person is; the answer need not repeat it.
    for personal in ("email", "name"):
        summary.pop(personal, None)
    summary["due_at"] = found.due_at.isoformat()
    return summary


def read_request(
    request: Request,
    request_id: str,
    bearer: Annotated[Bearer, Depends(require_token)],
    state: Annotated[WebState, Depends(web_state)],
) -> Response:
    """``GET /api/v1/requests/{request_id}``: where a request stands (any token)."""
    try:
        summary = _summary(state, request_id)
    except lifecycle.RequestNotFound:
        return error_response(request, 404, N_("There is no request with that id."))
    return JSONResponse(summary)


def request_api_router() -> APIRouter:
    """Built by ``create_app``; both endpoints are in the OpenAPI description."""
    router = APIRouter(tags=["requests"])
    router.add_api_route(
        PATH,
        create_request,
        methods=["POST"],
        status_code=201,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": RequestIn.model_json_schema()}},
            }
        },
    )
    router.add_api_route(f"{PATH}/{{request_id}}", read_request, methods=["GET"])
    return router


__all__ = ["RequestIn", "request_api_router"]
