"""Signing in and out of the admin (``/admin/login``, ``/admin/logout``).

What a failed sign-in reveals, and what it costs an attacker (OWASP Authentication Cheat
Sheet, "Authentication and error messages" and "Protect against automated attacks"):

- An unknown address, a wrong password, a disabled user and a locked address all get the
  same page, byte for byte, with the same status; and the same work: a password is always
  checked against an argon2 hash, a dummy one when there is no user to check against.
- An address is locked for ``login_window_minutes`` once ``login_max_failures`` sign-ins
  failed within that window — addresses that have no user too, so a lock-out does not tell
  whether the address exists. Attempts while locked count as failures.
- One client IP gets ``login_max_per_ip`` attempts per window, then 429 with Retry-After.

``login_attempts`` holds only keyed hashes of the address and the IP (see
:mod:`personvern.keyed`). Each attempt is recorded before the password is checked, in a
transaction of its own, so concurrent attempts count each other and cannot slip past the
limits together.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Literal

from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Depends, Form
from sqlalchemy import delete, func, select, update
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from personvern.i18n import N_
from personvern.keyed import keyed_hash
from personvern.store.base import utcnow
from personvern.store.tables import AdminSession, AdminUser, LoginAttempt
from personvern.web.admin.sessions import (
    CSRF_REJECTED,
    SignedIn,
    clear_login_csrf_cookie,
    clear_session_cookie,
    hash_token,
    login_csrf_nonce,
    login_csrf_token,
    login_csrf_valid,
    new_token,
    require_user,
    session_token,
    set_login_csrf_cookie,
    set_session_cookie,
    signed_in,
    start_session,
)
from personvern.web.admin.users import MAX_EMAIL_LENGTH, MAX_PASSWORD_LENGTH, normalise_email
from personvern.web.errors import LOGIN_PATH
from personvern.web.pages import request_translator
from personvern.web.state import WebState, web_state

DASHBOARD_PATH = "/admin"
SIGN_IN_FAILED = N_("Wrong e-mail address or password, or the account is temporarily locked.")
# Attempt rows are only counters for the limits (the audit log is the record), so they are
# dropped once they can no longer count, or after a day, whichever is later.
ATTEMPT_KEEP = timedelta(days=1)


@dataclass(frozen=True)
class SignInResult:
    """``ok`` with the new session's cookie value, ``failed``, or ``throttled`` (429)."""

    outcome: Literal["ok", "failed", "throttled"]
    token: str | None = None
    retry_after: int = 0


def sign_in(
    state: WebState, email: str, password: str, ip: str, *, previous_token: str | None = None
) -> SignInResult:
    """Check one sign-in attempt against the limits and the password; see the module doc.

    On success the user gets a new session (and ``previous_token``'s session, if any, is
    ended); every outcome but ``throttled`` is written to the audit log.
    """
    runtime = state.runtime
    email = normalise_email(email)
    attempt = _Attempt(
        email=email,
        email_key=keyed_hash(runtime.secret, email, kind="email"),
        ip_key=keyed_hash(runtime.secret, ip, kind="ip"),
        at=utcnow(),
        window=timedelta(minutes=runtime.settings.login_window_minutes),
    )
    attempt_id = _record(state, attempt)
    counts = _count(state, attempt)
    if counts.from_ip > runtime.settings.login_max_per_ip:
        # Refused unheard: it does not count, or a blocked client would stay blocked forever.
        with runtime.sessions() as db, db.begin():
            db.execute(delete(LoginAttempt).where(LoginAttempt.id == attempt_id))
        retry_after = _retry_after(counts.oldest_from_ip, attempt.window, attempt.at)
        return SignInResult("throttled", retry_after=retry_after)
    locked = counts.failures > runtime.settings.login_max_failures
    # The password is checked outside any transaction: argon2 takes a while on purpose.
    user = counts.user
    reason = _check(state, user, password, locked=locked)
    if reason is not None or user is None:
        _audit_failure(state, attempt, reason or "unknown_user", counts.failures, locked=locked)
        return SignInResult("failed")
    new_hash = None
    if state.passwords.check_needs_rehash(user.password_hash):
        new_hash = state.passwords.hash(password)
    token = _succeed(state, attempt, attempt_id, user.id, new_hash, previous_token)
    return SignInResult("ok", token=token)


@dataclass(frozen=True)
class _Attempt:
    email: str
    email_key: str
    ip_key: str
    at: datetime
    window: timedelta

    @property
    def since(self) -> datetime:
        return self.at - self.window


@dataclass(frozen=True)
class _Counts:
    from_ip: int
    oldest_from_ip: datetime | None
    failures: int  # of the address, since its last success in the window
    user: AdminUser | None


def _record(state: WebState, attempt: _Attempt) -> int:
    """Store the attempt as failed, committed at once, so parallel attempts count it."""
    with state.runtime.sessions() as db, db.begin():
        row = LoginAttempt(
            email_key=attempt.email_key, ip_key=attempt.ip_key, succeeded=False, at=attempt.at
        )
        db.add(row)
        db.flush()
        return row.id


def _count(state: WebState, attempt: _Attempt) -> _Counts:
    """The attempts that count against the limits, this one included, and the user."""
    with state.runtime.sessions() as db:
        from_ip, oldest = db.execute(
            select(func.count(), func.min(LoginAttempt.at)).where(
                LoginAttempt.ip_key == attempt.ip_key, LoginAttempt.at >= attempt.since
            )
        ).one()
        of_address = [LoginAttempt.email_key == attempt.email_key, LoginAttempt.at >= attempt.since]
        last_success = db.scalar(
            select(func.max(LoginAttempt.at)).where(*of_address, LoginAttempt.succeeded.is_(True))
        )
        if last_success is not None:
            of_address.append(LoginAttempt.at > last_success)
        failures = db.scalar(
            select(func.count()).where(*of_address, LoginAttempt.succeeded.is_(False))
        )
        user = db.scalar(select(AdminUser).where(AdminUser.email == attempt.email))
    return _Counts(from_ip=from_ip, oldest_from_ip=oldest, failures=failures or 0, user=user)


def _audit_failure(
    state: WebState, attempt: _Attempt, reason: str, failures: int, *, locked: bool
) -> None:
    runtime = state.runtime
    with runtime.audit.session() as db:
        runtime.audit.append(
            db,
            actor="anonymous",
            action="admin.sign_in_failed",
            subject=attempt.email,
            details={"reason": reason, "ip_key": attempt.ip_key},
        )
        if not locked and failures == runtime.settings.login_max_failures:
            # This failure is the one that locks the address.
            runtime.audit.append(
                db,
                actor="anonymous",
                action="admin.sign_in_locked",
                subject=attempt.email,
                details={
                    "failures": failures,
                    "minutes": runtime.settings.login_window_minutes,
                },
            )


def _succeed(
    state: WebState,
    attempt: _Attempt,
    attempt_id: int,
    user_id: int,
    new_hash: str | None,
    previous_token: str | None,
) -> str:
    """Mark the attempt good, start a fresh session and audit it; returns the cookie value."""
    runtime = state.runtime
    now = attempt.at
    with runtime.audit.session() as db:
        db.execute(update(LoginAttempt).where(LoginAttempt.id == attempt_id).values(succeeded=True))
        # Housekeeping while we hold the write lock anyway.
        db.execute(
            delete(LoginAttempt).where(LoginAttempt.at < now - max(attempt.window, ATTEMPT_KEEP))
        )
        db.execute(delete(AdminSession).where(AdminSession.expires_at <= now))
        if previous_token:
            # The browser's old session ends here (session fixation; see start_session).
            db.execute(
                delete(AdminSession).where(AdminSession.token_hash == hash_token(previous_token))
            )
        user = db.get_one(AdminUser, user_id)
        user.last_login_at = now
        if new_hash:
            user.password_hash = new_hash  # argon2's recommended parameters have changed
        token = start_session(db, user, runtime.settings.session_hours)
        runtime.audit.append(
            db,
            actor=f"admin:{user_id}",
            action="admin.signed_in",
            subject=attempt.email,
            object_type="admin_user",
            object_id=str(user_id),
            details={"ip_key": attempt.ip_key},
        )
    return token


def _check(state: WebState, user: AdminUser | None, password: str, *, locked: bool) -> str | None:
    """``None`` if the password is right for an enabled user, else why not (for the audit)."""
    if locked or user is None:
        _verify(state, state.dummy_hash, password)
        return "locked" if locked else "unknown_user"
    good = _verify(state, user.password_hash, password)
    if user.disabled:
        return "disabled"
    return None if good else "wrong_password"


def _verify(state: WebState, password_hash: str, password: str) -> bool:
    try:
        return state.passwords.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _retry_after(oldest: datetime | None, window: timedelta, now: datetime) -> int:
    """Seconds until the oldest counted attempt leaves the window (at least one)."""
    if oldest is None:
        return int(window.total_seconds())
    return max(1, math.ceil((oldest + window - now).total_seconds()))


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a path inside the admin, never another site."""
    if not value or "\\" in value or "//" in value or not value.startswith(DASHBOARD_PATH):
        return DASHBOARD_PATH
    # "/admin" itself or below it; not "/administrator-of-something-else".
    rest = value[len(DASHBOARD_PATH) :]
    return value if rest == "" or rest[0] in "/?" else DASHBOARD_PATH


def client_ip(request: Request) -> str:
    # request.client is the proxy's address unless uvicorn runs with --proxy-headers and
    # trusts it (--forwarded-allow-ips); deciding that belongs to the deployment.
    return request.client.host if request.client else "unknown"


# --- the pages ------------------------------------------------------------------------


def login_page(
    request: Request,
    state: Annotated[WebState, Depends(web_state)],
    user: Annotated[SignedIn | None, Depends(signed_in)],
) -> Response:
    """``GET /admin/login``: the sign-in form (or straight on, when already signed in)."""
    next_path = request.query_params.get("next", "")
    if user is not None:
        return RedirectResponse(safe_next(next_path), status_code=303)
    return _form(request, state, safe_next(next_path))


def _form(
    request: Request,
    state: WebState,
    next_path: str,
    *,
    error: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    nonce = login_csrf_nonce(request)
    fresh = nonce is None
    nonce = nonce or new_token()
    response = state.pages.render(
        request,
        "admin/login.html",
        {
            "login_csrf": login_csrf_token(state.runtime.secret, nonce),
            "next": next_path,
            "error": error,
        },
        status_code=status_code,
        headers=headers,
    )
    if fresh:
        set_login_csrf_cookie(request, response, nonce)
    return response


def login(
    request: Request,
    state: Annotated[WebState, Depends(web_state)],
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    next_path: Annotated[str, Form(alias="next")] = "",
) -> Response:
    """``POST /admin/login``: sign in, or the form again with one message for every failure."""
    if not login_csrf_valid(request, state.runtime.secret, csrf_token):
        raise HTTPException(403, detail=CSRF_REJECTED)
    next_path = safe_next(next_path)
    tr = request_translator(request)
    if len(email) > MAX_EMAIL_LENGTH or len(password) > MAX_PASSWORD_LENGTH:
        # Cut rather than refuse, so an oversized attempt looks and counts like any other.
        email, password = email[: MAX_EMAIL_LENGTH + 1], password[: MAX_PASSWORD_LENGTH + 1]
    result = sign_in(
        state, email, password, client_ip(request), previous_token=session_token(request)
    )
    if result.outcome == "throttled":
        minutes = math.ceil(result.retry_after / 60)
        message = tr.ngettext(
            "Too many sign-in attempts from your network. Try again in %(num)d minute.",
            "Too many sign-in attempts from your network. Try again in %(num)d minutes.",
            minutes,
        ) % {"num": minutes}
        return _form(
            request,
            state,
            next_path,
            error=message,
            status_code=429,
            headers={"Retry-After": str(result.retry_after)},
        )
    if result.outcome == "failed" or result.token is None:
        return _form(request, state, next_path, error=tr.gettext(SIGN_IN_FAILED), status_code=400)
    response = RedirectResponse(next_path, status_code=303)
    set_session_cookie(request, response, result.token, state.runtime.settings.session_hours)
    clear_login_csrf_cookie(request, response)
    return response


def logout(
    request: Request,
    state: Annotated[WebState, Depends(web_state)],
    user: Annotated[SignedIn, Depends(require_user)],
) -> Response:
    """``POST /admin/logout``: end this session (the CSRF token was checked by the router)."""
    runtime = state.runtime
    with runtime.audit.session() as db:
        db.execute(delete(AdminSession).where(AdminSession.token_hash == user.token_hash))
        runtime.audit.append(
            db,
            actor=user.actor,
            action="admin.signed_out",
            subject=user.email,
            object_type="admin_user",
            object_id=str(user.user_id),
        )
    response = RedirectResponse(LOGIN_PATH, status_code=303)
    clear_session_cookie(request, response)
    return response
