"""The consent endpoints: the banner's files and configuration, and the consent API.

- ``GET /consent/banner.js``, ``GET /consent/banner.css``: the banner, cacheable, gzip when
  the browser takes it, loadable from any site (``Cross-Origin-Resource-Policy``).
- ``GET /consent/config.json?site=…&lang=…``: what the banner shows on one of the
  inventory's sites; CORS for that site only.
- ``POST /api/v1/consents``: records a choice (GDPR Art. 7(1): proof of consent; ekomloven
  § 3-15). CORS, preflight included, only for the inventory's site origins; a body of at
  most 4 kB; a strict schema; idempotent; answered once durable (see
  :mod:`personvern.consent.log`).
- ``GET /api/v1/consents/{id}``: the receipt (:mod:`personvern.consent.receipts`).
- ``GET /api/v1/ping``: does nothing, fast: the ceiling ``bench/consent_load.py`` compares
  consent writes with.

Errors are RFC 9457 problem details that say what is wrong, with CORS headers when the
origin is allowed, so the banner's developer can read them.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, cast

from fastapi import APIRouter, FastAPI
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from personvern.consent.assets import asset
from personvern.consent.chain import Pending, timestamp
from personvern.consent.choice import MAX_BODY, Choice, problems
from personvern.consent.config import Banners
from personvern.consent.log import ConsentLog
from personvern.consent.receipts import build, find
from personvern.consent.visitor import ip_prefix, ua_family
from personvern.i18n import language
from personvern.runtime import Runtime
from personvern.store.base import utcnow

CONSENTS_PATH = "/api/v1/consents"
PREFLIGHT_MAX_AGE = "7200"  # seconds; Chromium caps it at two hours anyway
ASSET_MAX_AGE = "public, max-age=3600"


@dataclass(frozen=True)
class ConsentState:
    """What the consent endpoints share, kept on ``app.state.consent``."""

    runtime: Runtime
    banners: Banners
    log: ConsentLog


def consent_state(request: Request) -> ConsentState:
    return cast(ConsentState, request.app.state.consent)


def problem(
    request: Request,
    status: int,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """An RFC 9457 problem; ``detail`` says what is wrong and what to do."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    if errors:
        body["errors"] = errors
    response = JSONResponse(body, status_code=status, headers=dict(headers or {}))
    response.headers["Content-Type"] = "application/problem+json"
    return response


def cors_headers(request: Request, state: ConsentState) -> dict[str, str]:
    """``Access-Control-Allow-Origin`` for an allowed site's origin; nothing otherwise."""
    origin = request.headers.get("origin")
    headers = {"Vary": "Origin"}
    if origin and origin in state.banners.origins():
        headers["Access-Control-Allow-Origin"] = origin
    return headers


# --- the banner's files and configuration -----------------------------------------------


def _asset_response(request: Request, name: str) -> Response:
    item = asset(name)
    headers = {
        "Cache-Control": ASSET_MAX_AGE,
        "ETag": item.etag,
        "Vary": "Accept-Encoding",
        "Cross-Origin-Resource-Policy": "cross-origin",
    }
    if request.headers.get("if-none-match") == item.etag:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(item.gzipped, media_type=item.content_type, headers=headers)
    return Response(item.body, media_type=item.content_type, headers=headers)


async def banner_js(request: Request) -> Response:
    """The banner script (``docs/consent.md`` says how to embed it)."""
    return _asset_response(request, "banner.js")


async def banner_css(request: Request) -> Response:
    """The banner's stylesheet; the script loads it."""
    return _asset_response(request, "banner.css")


async def center_css(request: Request) -> Response:
    """The stylesheet of the consent pages in the privacy center and the admin."""
    return _asset_response(request, "center.css")


def banner_config(request: Request) -> Response:
    """The configuration of the banner on ``site`` in ``lang`` (nb, nn, no → bokmål)."""
    state = consent_state(request)
    headers = cors_headers(request, state)
    site = request.query_params.get("site", "")
    if site not in state.banners.origins():
        return problem(
            request,
            404,
            "site is not one of the inventory's sites; add its origin (scheme, host and any "
            "port) under 'sites' in privacy.yaml",
            headers=headers,
        )
    try:
        lang = language(request.query_params.get("lang") or "nb")
    except ValueError:
        lang = "en"  # a visitor whose page is in another language reads English
    config = state.banners.config(site, lang)
    headers |= {"ETag": config.etag, "Cache-Control": "no-cache"}
    if request.headers.get("if-none-match") == config.etag:
        return Response(status_code=304, headers=headers)
    return Response(config.body, media_type="application/json", headers=headers)


# --- the consent API ------------------------------------------------------------------------


async def consents_preflight(request: Request) -> Response:
    """CORS preflight of ``POST /api/v1/consents``: only the inventory's site origins."""
    state = consent_state(request)
    headers = cors_headers(request, state)
    if "Access-Control-Allow-Origin" not in headers:
        return problem(request, 403, "this origin is not one of the inventory's sites")
    headers |= {
        "Access-Control-Allow-Methods": "POST, GET",
        "Access-Control-Allow-Headers": "Content-Type",
        "Access-Control-Max-Age": PREFLIGHT_MAX_AGE,
    }
    return Response(status_code=204, headers=headers)


async def _read_body(request: Request) -> bytes | None:
    """The body, or ``None`` once it is longer than :data:`MAX_BODY` (not read further)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            return None
    return bytes(body)


def _validation_errors(exc: ValidationError) -> list[dict[str, Any]]:
    # Where and what, never the value sent.
    return [
        {"loc": [str(part) for part in error["loc"]], "type": error["type"], "msg": error["msg"]}
        for error in exc.errors(include_url=False, include_input=False)
    ]


async def record_consent(request: Request) -> Response:
    """Record one choice; 201 with the receipt id, or 200 with the same for a repeat."""
    state = consent_state(request)
    headers = cors_headers(request, state)
    origin = request.headers.get("origin")
    if origin is not None and "Access-Control-Allow-Origin" not in headers:
        return problem(request, 403, "this origin is not one of the inventory's sites")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        return problem(request, 415, "send the choice as application/json", headers=headers)
    body = await _read_body(request)
    if body is None:
        return problem(
            request,
            413,
            f"the body is larger than {MAX_BODY} bytes; send only the choice",
            headers=headers,
        )
    try:
        choice = Choice.model_validate_json(body)
    except ValidationError as exc:
        errors = _validation_errors(exc)
        detail = "; ".join(f"{'.'.join(e['loc']) or 'body'}: {e['msg']}" for e in errors)
        return problem(request, 422, detail, errors=errors, headers=headers)
    if origin is not None and origin != choice.site:
        return problem(
            request, 403, "site must be the origin the choice is sent from", headers=headers
        )
    found = problems(choice, state.banners.notice(choice.texts_hash))
    if found:
        errors = [{"loc": ["body"], "type": "value_error", "msg": text} for text in found]
        return problem(request, 422, "; ".join(found), errors=errors, headers=headers)
    client = request.client.host if request.client else None
    pending = Pending(
        choice=choice,
        at=utcnow(),
        ip_prefix=ip_prefix(client),
        ua_family=ua_family(request.headers.get("user-agent")),
    )
    try:
        written = await state.log.record(pending)
    except Exception:
        return problem(
            request,
            503,
            "the choice could not be stored; nothing was recorded, try again",
            headers=headers | {"Retry-After": "1"},
        )
    payload = {
        "consent_id": written.consent_id,
        "receipt_id": written.receipt_id,
        "entry": written.seq,
        "recorded_at": timestamp(written.recorded_at),
        "receipt": f"{CONSENTS_PATH}/{written.consent_id}",
    }
    return Response(
        json.dumps(payload, separators=(",", ":")).encode(),
        status_code=201 if written.created else 200,
        media_type="application/json",
        headers=headers,
    )


def get_receipt(request: Request, consent_id: str) -> Response:
    """The receipt of a consent id (or a receipt id), shaped after ISO/IEC TS 27560."""
    state = consent_state(request)
    headers = cors_headers(request, state)
    found = find(state.runtime, consent_id) if len(consent_id) <= 64 else None
    if found is None:
        return problem(
            request,
            404,
            "no consent is recorded under this id; the id is in the personvern_consent "
            "cookie, and the receipt exists once a choice was made",
            headers=headers,
        )
    receipt, entries = found
    body = build(
        state.runtime.inventory(),
        state.banners,
        receipt,
        entries,
        state.runtime.settings.base_url.rstrip("/"),
    )
    return JSONResponse(body, headers=headers)


async def ping() -> Response:
    """Nothing at all, as fast as the stack allows: the ceiling for the load benchmark."""
    return Response(b'{"ok":true}', media_type="application/json")


def consent_router(state: ConsentState) -> APIRouter:
    """The routes above; the log's writer thread stops when the app does."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            state.log.close()

    router = APIRouter(lifespan=lifespan)
    hidden: dict[str, Any] = {"include_in_schema": False}
    router.add_api_route("/consent/banner.js", banner_js, methods=["GET"], **hidden)
    router.add_api_route("/consent/banner.css", banner_css, methods=["GET"], **hidden)
    router.add_api_route("/consent/center.css", center_css, methods=["GET"], **hidden)
    router.add_api_route("/consent/config.json", banner_config, methods=["GET"], tags=["consent"])
    router.add_api_route(CONSENTS_PATH, record_consent, methods=["POST"], tags=["consent"])
    router.add_api_route(CONSENTS_PATH, consents_preflight, methods=["OPTIONS"], **hidden)
    router.add_api_route(
        CONSENTS_PATH + "/{consent_id}", get_receipt, methods=["GET"], tags=["consent"]
    )
    router.add_api_route("/api/v1/ping", ping, methods=["GET"], tags=["health"])
    return router
