"""API tokens: made by ``personvern admin create-token``, sent as ``Authorization: Bearer``.

RFC 6750 bearer tokens. A token is ``pvt_`` and 32 random bytes (URL-safe base64); it is
printed once and only its SHA-256 is stored (``api_tokens``), so neither the database nor a
log holds a working token. A token has a role: ``admin`` may create requests, ``viewer``
may only read them. Revoking is immediate.

An integration acts for the shop (the controller), so its requests are audited as
``api:NAME``; what it sends about a person is checked like any other intake.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException
from starlette.requests import Request

from personvern.i18n import N_
from personvern.runtime import Runtime
from personvern.store.api_tokens import ApiToken
from personvern.store.base import utcnow
from personvern.web.state import WebState, web_state

PREFIX = "pvt_"
ROLES = ("admin", "viewer")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_TOKEN = re.compile(r"^pvt_[A-Za-z0-9_-]{43}$")

TOKEN_REQUIRED = N_(
    "This endpoint needs an API token: send the header 'Authorization: Bearer TOKEN'. "
    "An administrator makes one with `personvern admin create-token NAME`."
)
ADMIN_TOKEN_REQUIRED = N_(
    "This token may only read. Creating requests needs a token with the admin role."
)


class TokenError(ValueError):
    """Bad name or role, a name in use, or an unknown token; the message says what to do."""


@dataclass(frozen=True)
class Bearer:
    """The token behind an API call."""

    name: str
    role: str

    @property
    def actor(self) -> str:
        return f"api:{self.name}"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(runtime: Runtime, name: str, role: str = "admin") -> str:
    """Make a token called ``name``; returns it (shown once, never stored in clear)."""
    if not _NAME.match(name):
        raise TokenError(
            f"token name {name!r} is not valid: use letters, digits, '.', '_' or '-' "
            "(at most 100), e.g. 'nettbutikk'"
        )
    if role not in ROLES:
        raise TokenError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    token = PREFIX + secrets.token_urlsafe(32)
    try:
        with runtime.audit.session() as db:
            row = ApiToken(name=name, token_hash=_hash(token), role=role, created_at=utcnow())
            db.add(row)
            db.flush()
            runtime.audit.append(
                db,
                actor="cli",
                action="api_token.created",
                object_type="api_token",
                object_id=str(row.id),
                details={"name": name, "role": role},
            )
    except IntegrityError as exc:
        raise TokenError(
            f"a token called {name!r} exists already: revoke it first, or choose another name"
        ) from exc
    return token


def revoke_token(runtime: Runtime, name: str) -> None:
    """End the token called ``name`` at once."""
    with runtime.audit.session() as db:
        row = db.scalar(select(ApiToken).where(ApiToken.name == name))
        if row is None or row.revoked_at is not None:
            raise TokenError(f"there is no active token called {name!r}")
        row.revoked_at = utcnow()
        # Free the name for a new token; the hash stays unique and useless.
        row.name = f"{name}~revoked~{row.id}"[:100]
        runtime.audit.append(
            db,
            actor="cli",
            action="api_token.revoked",
            object_type="api_token",
            object_id=str(row.id),
            details={"name": name},
        )


def authenticate(runtime: Runtime, header: str | None) -> Bearer | None:
    """The token in an ``Authorization`` header, if it is one of ours and not revoked."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not _TOKEN.match(token):
        return None
    with runtime.sessions() as db, db.begin():
        row = db.scalar(select(ApiToken).where(ApiToken.token_hash == _hash(token)))
        if row is None or row.revoked_at is not None:
            return None
        row.last_used_at = utcnow()
        return Bearer(name=row.name, role=row.role)


def require_token(request: Request, state: Annotated[WebState, Depends(web_state)]) -> Bearer:
    """Any valid token (401 otherwise, with RFC 6750's ``WWW-Authenticate``)."""
    bearer = authenticate(state.runtime, request.headers.get("authorization"))
    if bearer is None:
        raise HTTPException(
            401, detail=TOKEN_REQUIRED, headers={"WWW-Authenticate": 'Bearer realm="personvern"'}
        )
    return bearer


def require_admin_token(bearer: Annotated[Bearer, Depends(require_token)]) -> Bearer:
    """A token with the admin role (403 for a viewer's)."""
    if bearer.role != "admin":
        raise HTTPException(
            403,
            detail=ADMIN_TOKEN_REQUIRED,
            headers={"WWW-Authenticate": 'Bearer realm="personvern", error="insufficient_scope"'},
        )
    return bearer
