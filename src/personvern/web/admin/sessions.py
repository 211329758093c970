"""Admin sessions and CSRF protection.

A session is a row in ``admin_sessions`` keyed by the SHA-256 of a random token; the token
itself lives only in the ``pv_session`` cookie (HttpOnly, SameSite=Strict, Path=/, Secure
over HTTPS), so a copy of the database cannot be used to sign in. A session ends
``session_hours`` after sign-in, at sign-out, or when the user is disabled.

CSRF (OWASP CSRF Prevention Cheat Sheet):

- every unsafe request (POST, PUT, PATCH, DELETE) under ``/admin`` except the sign-in form
  must carry the session's ``csrf_token``, as the form field ``csrf_token`` or the header
  ``X-CSRF-Token`` — enforced for the whole admin router by :func:`csrf_guard`, so a new
  admin form cannot forget it;
- the sign-in form, which has no session yet, uses a signed double-submit cookie: the
  ``pv_login_csrf`` cookie holds a random nonce and the form the HMAC of it under the
  installation's secret, so a cookie planted by a sibling subdomain is useless without
  the key.

SameSite=Strict already stops cross-site POSTs in current browsers; the tokens are the
defence that does not depend on the browser.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Depends
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from personvern.i18n import N_
from personvern.store.base import utcnow
from personvern.store.tables import AdminSession, AdminUser
from personvern.web.errors import LOGIN_PATH, LoginRequired
from personvern.web.state import WebState, web_state

SESSION_COOKIE = "pv_session"
LOGIN_CSRF_COOKIE = "pv_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# token_urlsafe(32) gives 43 characters; anything else in the cookie is not ours.
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")

CSRF_REJECTED = N_(
    "This form has expired or did not come from this site, so nothing was changed. "
    "Go back, reload the page and try again."
)
ADMIN_ONLY = N_("Only administrators can open this page. Ask an administrator if you need it.")


@dataclass(frozen=True)
class SignedIn:
    """The admin user behind a request, and their session."""

    user_id: int
    email: str
    role: str
    csrf_token: str
    token_hash: str
    expires_at: datetime

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def actor(self) -> str:
        """How the audit log names this user: by id, so their address is not in clear."""
        return f"admin:{self.user_id}"


def new_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(db: Session, user: AdminUser, hours: int) -> str:
    """Add a session for ``user`` (in the caller's transaction); returns the cookie value.

    Always a fresh token, never one the browser brought: that is what stops session fixation.
    """
    token = new_token()
    db.add(
        AdminSession(
            token_hash=hash_token(token),
            user_id=user.id,
            csrf_token=new_token(),
            created_at=utcnow(),
            expires_at=utcnow() + timedelta(hours=hours),
        )
    )
    return token


def _secure(request: HTTPConnection) -> bool:
    # request.url.scheme honours X-Forwarded-Proto only when uvicorn runs with
    # --proxy-headers and trusts the proxy, which is the one place to decide that.
    return request.url.scheme == "https"


def set_session_cookie(request: HTTPConnection, response: Response, token: str, hours: int) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=hours * 3600,
        path="/",
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )


def clear_session_cookie(request: HTTPConnection, response: Response) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="strict", secure=_secure(request)
    )


def session_token(request: HTTPConnection) -> str | None:
    token = request.cookies.get(SESSION_COOKIE)
    return token if token and _TOKEN.match(token) else None


def signed_in(request: Request, state: Annotated[WebState, Depends(web_state)]) -> SignedIn | None:
    """The signed-in admin user, or ``None`` (no cookie, unknown, expired, or disabled)."""
    token = session_token(request)
    if token is None:
        return None
    with state.runtime.sessions() as db:
        row = db.execute(
            select(AdminSession, AdminUser)
            .join(AdminUser, AdminUser.id == AdminSession.user_id)
            .where(AdminSession.token_hash == hash_token(token))
        ).first()
    if row is None:
        return None
    session, user = row
    # Expired rows are swept at the next sign-in; here they simply do not count.
    if session.expires_at <= utcnow() or user.disabled:
        return None
    return SignedIn(
        user_id=user.id,
        email=user.email,
        role=user.role,
        csrf_token=session.csrf_token,
        token_hash=session.token_hash,
        expires_at=session.expires_at,
    )


def require_user(
    request: Request, user: Annotated[SignedIn | None, Depends(signed_in)]
) -> SignedIn:
    """A page for any signed-in admin user; others are sent to the sign-in page."""
    if user is None:
        raise LoginRequired(request.url.path)
    return user


def require_admin(user: Annotated[SignedIn, Depends(require_user)]) -> SignedIn:
    """A page for the ``admin`` role only; a ``viewer`` gets 403."""
    if not user.is_admin:
        raise HTTPException(403, detail=ADMIN_ONLY)
    return user


async def csrf_guard(
    request: Request, user: Annotated[SignedIn | None, Depends(signed_in)]
) -> None:
    """Reject (403, nothing done) an unsafe request without the session's CSRF token.

    A router-level dependency of the admin router: it runs before the handler, so a
    rejected request changes nothing. The sign-in form has its own check.
    """
    if request.method not in UNSAFE_METHODS or request.url.path == LOGIN_PATH:
        return
    if user is None:
        raise HTTPException(403, detail=CSRF_REJECTED)
    sent: object = request.headers.get(CSRF_HEADER)
    if sent is None and _is_form(request):
        sent = (await request.form()).get(CSRF_FIELD)
    if not isinstance(sent, str) or not hmac.compare_digest(
        sent.encode(), user.csrf_token.encode()
    ):
        raise HTTPException(403, detail=CSRF_REJECTED)


def _is_form(request: Request) -> bool:
    content_type = request.headers.get("content-type", "")
    return content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data"))


# --- the sign-in form's double-submit token -------------------------------------------------


def login_csrf_nonce(request: HTTPConnection) -> str | None:
    nonce = request.cookies.get(LOGIN_CSRF_COOKIE)
    return nonce if nonce and _TOKEN.match(nonce) else None


def login_csrf_token(secret: bytes, nonce: str) -> str:
    return hmac.new(secret, f"login-csrf:{nonce}".encode(), hashlib.sha256).hexdigest()


def login_csrf_valid(request: HTTPConnection, secret: bytes, sent: str) -> bool:
    nonce = login_csrf_nonce(request)
    if nonce is None or not sent:
        return False
    return hmac.compare_digest(login_csrf_token(secret, nonce).encode(), sent.encode())


def set_login_csrf_cookie(request: HTTPConnection, response: Response, nonce: str) -> None:
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        nonce,
        path=LOGIN_PATH,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )


def clear_login_csrf_cookie(request: HTTPConnection, response: Response) -> None:
    response.delete_cookie(
        LOGIN_CSRF_COOKIE,
        path=LOGIN_PATH,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )
