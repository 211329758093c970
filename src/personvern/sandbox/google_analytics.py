"""Google Analytics sandbox: the User Deletion API and the Admin API's data-retention settings.

Written from Google's published references:

- User Deletion API v3, ``userDeletionRequests: upsert``
  (https://developers.google.com/analytics/devguides/config/userdeletion/v3/reference):
  ``POST /analytics/v3/userDeletion/userDeletionRequests:upsert`` with
  ``{"kind": "analytics#userDeletionRequest", "id": {"type": "CLIENT_ID" | "USER_ID" |
  "APP_INSTANCE_ID", "userId": "…"}, "propertyId": "…"}`` (or the legacy
  ``webPropertyId``), scope ``https://www.googleapis.com/auth/analytics.user.deletion``;
  the answer repeats the request with ``deletionRequestTime``. One id per request. The API
  never says whether Analytics held data for the id, so an id nobody used is accepted too.
- Admin API v1beta, ``properties.getDataRetentionSettings``
  (https://developers.google.com/analytics/devguides/config/admin/v1/rest/v1beta/properties/getDataRetentionSettings):
  ``GET /v1beta/properties/{id}/dataRetentionSettings`` → ``{"name",
  "eventDataRetention", "userDataRetention", "resetUserDataOnNewActivity"}``, scope
  ``analytics.readonly`` or ``analytics.edit``.
- OAuth2 bearer tokens from Google's token endpoint (``POST /token`` here, standing for
  ``https://oauth2.googleapis.com/token``; :mod:`personvern.sandbox.oauth`), and Google's
  error shape ``{"error": {"code", "message", "status"}}``
  (https://cloud.google.com/apis/design/errors).

Served under one root (``/google-analytics``), where Google uses three hosts
(``www.googleapis.com``, ``analyticsadmin.googleapis.com``, ``oauth2.googleapis.com``).

State: the shop's visitors, one ``_ga`` client id each (:func:`client_id_of`, derived from
the person so every run agrees) and, for registered customers, the ``user_id`` the shop
sends (the shop's customer id); the log of deletion requests (``snapshot()`` shows both).
An upsert of an id already requested keeps its first ``deletionRequestTime``: the request
is the same resource, so asking twice changes nothing. Deletion marks the visitor's data
``deletion_requested``; real Analytics removes it from reports within 72 hours and from its
servers in the next two-monthly run.

Not implemented: ``APP_INSTANCE_ID`` with ``firebaseProjectId`` data (accepted and logged
only), Universal Analytics ``webPropertyId`` data, every other Admin API method, quotas.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from personvern.sandbox.oauth import TokenIssuer
from personvern.sandbox.people import Person
from personvern.sandbox.server import SandboxContext, Vendor, VendorApp

REFERENCE: Final = (
    "https://developers.google.com/analytics/devguides/config/userdeletion/v3/reference"
)
SCOPE_DELETION: Final = "https://www.googleapis.com/auth/analytics.user.deletion"
SCOPE_READONLY: Final = "https://www.googleapis.com/auth/analytics.readonly"
SCOPE_EDIT: Final = "https://www.googleapis.com/auth/analytics.edit"
PROPERTY_ID: Final = "412345678"
CLIENT_ID: Final = "personvern-sandbox.apps.googleusercontent.com"
# The sandbox's own made-up credentials, shown by GET /_sandbox; they open nothing real.
CLIENT_SECRET: Final = "GOCSPX-sandbox-secret"  # noqa: S105
REFRESH_TOKEN: Final = "1//sandbox-google-analytics-refresh-token"  # noqa: S105
ID_TYPES: Final = frozenset({"CLIENT_ID", "USER_ID", "APP_INSTANCE_ID"})

_STATUS: Final[Mapping[int, str]] = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def error_body(status: int, message: str = "", reason: str = "") -> dict[str, Any]:
    """Google's error shape (AIP-193)."""
    return {
        "error": {
            "code": status,
            "message": message or f"The service answered {status}.",
            "status": reason or _STATUS.get(status, "UNKNOWN"),
        }
    }


def _error(status: int, message: str, reason: str = "") -> Response:
    return JSONResponse(error_body(status, message, reason), status_code=status)


def _first_seen(person: Person) -> datetime:
    times = [o.created_at for o in person.orders]
    if person.registered_at is not None:
        times.append(person.registered_at)
    first = min(times) if times else datetime(2024, 1, 1)
    return first if first.tzinfo else first.replace(tzinfo=UTC)


def client_id_of(person: Person) -> str:
    """The person's GA client id (the last two parts of their ``_ga`` cookie).

    ``<random>.<first visit, Unix seconds>``, as gtag.js makes it; the random part is
    derived from the e-mail address so that every sandbox run agrees.
    """
    digest = hashlib.sha256(f"ga:{person.email.lower()}".encode()).digest()
    random_part = int.from_bytes(digest[:5], "big") % 9_000_000_000 + 1_000_000_000
    return f"{random_part}.{int(_first_seen(person).timestamp())}"


def user_id_of(person: Person) -> str | None:
    """The ``user_id`` the shop sends for a logged-in customer: the shop's customer id."""
    return None if person.customer_id is None else str(person.customer_id)


def _now() -> str:
    """RFC 3339 in UTC with milliseconds, as Google writes timestamps."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class AnalyticsState:
    property_id: str
    issuer: TokenIssuer
    users: dict[str, dict[str, Any]] = field(default_factory=dict)  # client id → visitor
    requests: dict[str, dict[str, Any]] = field(default_factory=dict)  # "prop/TYPE/id" → request
    retention: dict[str, Any] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def snapshot(self) -> dict[str, dict[str, Any]]:
        with self.lock:
            return {
                "users": {k: dict(v) for k, v in self.users.items()},
                "userDeletionRequests": {k: dict(v) for k, v in self.requests.items()},
            }


def _bad(message: str) -> Response:
    return _error(400, message, "INVALID_ARGUMENT")


def _upsert(state: AnalyticsState) -> Any:
    async def upsert(request: Request) -> Response:
        denied = state.issuer.authorize(request, {SCOPE_DELETION}, _error)
        if denied is not None:
            return denied
        try:
            body = await request.json()
        except ValueError:
            return _bad("Invalid JSON payload received.")
        if not isinstance(body, dict):
            return _bad("Invalid JSON payload received. Expected an object.")
        kind = body.get("kind", "analytics#userDeletionRequest")
        ident = body.get("id")
        if kind != "analytics#userDeletionRequest" or not isinstance(ident, dict):
            return _bad("Field id is required.")
        id_type, user_id = ident.get("type"), ident.get("userId")
        if id_type not in ID_TYPES:
            return _bad(f"Invalid value at 'id.type': {id_type!r}.")
        if not isinstance(user_id, str) or not user_id.strip():
            return _bad("Field id.userId is required.")
        prop = body.get("propertyId") or body.get("webPropertyId") or body.get("firebaseProjectId")
        if not isinstance(prop, str) or not prop:
            return _bad("One of propertyId, webPropertyId or firebaseProjectId is required.")
        if id_type in {"CLIENT_ID", "USER_ID"} and not (
            body.get("propertyId") or body.get("webPropertyId")
        ):
            return _bad("CLIENT_ID and USER_ID need propertyId or webPropertyId.")
        if prop != state.property_id:
            return _error(403, "User does not have sufficient permissions for this property.", "")
        key = f"{prop}/{id_type}/{user_id}"
        with state.lock:
            found = state.requests.get(key)
            if found is None:
                found = {
                    "kind": "analytics#userDeletionRequest",
                    "id": {"type": id_type, "userId": user_id},
                    "propertyId" if "propertyId" in body else "webPropertyId": prop,
                    "deletionRequestTime": _now(),
                }
                state.requests[key] = found
            for visitor in state.users.values():
                mine = (id_type == "CLIENT_ID" and visitor["client_id"] == user_id) or (
                    id_type == "USER_ID" and visitor["user_id"] == user_id
                )
                if mine and visitor["deletion_requested"] is None:
                    visitor["deletion_requested"] = found["deletionRequestTime"]
            answer = dict(found)
        return JSONResponse(answer)

    return upsert


def _retention(state: AnalyticsState) -> Any:
    async def retention(request: Request) -> Response:
        denied = state.issuer.authorize(request, {SCOPE_READONLY, SCOPE_EDIT}, _error)
        if denied is not None:
            return denied
        if request.path_params["property_id"] != state.property_id:
            return _error(403, "User does not have sufficient permissions for this property.", "")
        with state.lock:
            return JSONResponse(dict(state.retention))

    return retention


def build(context: SandboxContext) -> VendorApp:
    issuer = TokenIssuer({CLIENT_ID: CLIENT_SECRET}, lifetime=3599)
    issuer.add_refresh_token(CLIENT_ID, {SCOPE_DELETION, SCOPE_READONLY}, REFRESH_TOKEN)
    state = AnalyticsState(property_id=PROPERTY_ID, issuer=issuer)
    state.retention = {
        "name": f"properties/{PROPERTY_ID}/dataRetentionSettings",
        "eventDataRetention": "FOURTEEN_MONTHS",
        "userDataRetention": "FOURTEEN_MONTHS",
        "resetUserDataOnNewActivity": True,
    }
    for person in context.people:
        cid = client_id_of(person)
        state.users[cid] = {
            "client_id": cid,
            "user_id": user_id_of(person),
            "first_visit": _first_seen(person).isoformat(),
            "sessions": 1 + len(person.orders) * 3,
            "deletion_requested": None,
        }
    app = Starlette(
        routes=[
            Route("/token", issuer.token_endpoint, methods=["POST"]),
            Route(
                "/analytics/v3/userDeletion/userDeletionRequests:upsert",
                _upsert(state),
                methods=["POST"],
            ),
            Route(
                "/v1beta/properties/{property_id}/dataRetentionSettings",
                _retention(state),
                methods=["GET"],
            ),
        ]
    )
    return VendorApp(
        app=app,
        snapshot=state.snapshot,
        credentials={
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "refresh_token": REFRESH_TOKEN,
            "property_id": PROPERTY_ID,
        },
        state=state,
    )


VENDOR = Vendor(
    name="google_analytics",
    reference=REFERENCE,
    build=build,
    error_body=lambda status: error_body(status),
)
