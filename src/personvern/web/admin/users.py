"""Admin users: creating them, changing their password, disabling them, and listing them.

The functions here are what ``personvern admin create-user`` (and friends) call; each checks
its input first and writes nothing when it raises :class:`UserError`, and each change is
written to the audit log in the same transaction. Passwords are stored as argon2id hashes
(argon2-cffi's defaults, RFC 9106's second recommended option).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Any

from argon2 import PasswordHasher
from fastapi import Depends
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from starlette.requests import Request
from starlette.responses import HTMLResponse

from personvern.i18n import N_, Translator
from personvern.i18n.terms import ADMIN_ROLE, label
from personvern.runtime import Runtime
from personvern.store.tables import AdminSession, AdminUser
from personvern.web.admin.sessions import SignedIn, require_admin
from personvern.web.pages import request_translator
from personvern.web.state import WebState, web_state

ROLES = ("admin", "viewer")
MIN_PASSWORD_LENGTH = 12
# argon2 hashes any length, but a megabyte-long "password" is only a way to burn CPU.
MAX_PASSWORD_LENGTH = 1024
MAX_EMAIL_LENGTH = 320  # RFC 3696 errata 1690: 64 + 1 + 255
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


class UserError(ValueError):
    """Bad input for an admin user; the message says what to fix. Nothing was written.

    ``message`` is an English msgid with ``%(name)s`` placeholders filled from ``params``;
    ``str(error)`` is the English text, :meth:`translated` the text in another language.
    """

    def __init__(self, message: str, **params: Any) -> None:
        self.message = message
        self.params = params
        super().__init__(message % params if params else message)

    def translated(self, tr: Translator) -> str:
        text = tr.gettext(self.message)
        return text % self.params if self.params else text


def password_hasher() -> PasswordHasher:
    """The hasher for admin passwords: argon2id with argon2-cffi's default parameters."""
    return PasswordHasher()


def normalise_email(email: str) -> str:
    """The address as stored and looked up: trimmed and lower case."""
    return email.strip().lower()


def check_email(email: str) -> str:
    normalised = normalise_email(email)
    if len(normalised) > MAX_EMAIL_LENGTH or not _EMAIL.match(normalised):
        raise UserError(
            N_("“%(email)s” is not an e-mail address: write it as name@example.no."),
            email=email.strip(),
        )
    return normalised


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(
            N_(
                "The password is too short: use at least %(min)d characters. "
                "A few random words make a good one."
            ),
            min=MIN_PASSWORD_LENGTH,
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise UserError(
            N_("The password is too long: use at most %(max)d characters."),
            max=MAX_PASSWORD_LENGTH,
        )
    return password


def check_role(role: str) -> str:
    if role not in ROLES:
        raise UserError(
            N_("Unknown role “%(role)s”: choose admin (may change things) or viewer (may look)."),
            role=role,
        )
    return role


def _duplicate(email: str) -> UserError:
    return UserError(
        N_(
            "An admin user with the e-mail address %(email)s already exists. Choose another "
            "address, or set a new password for the existing user."
        ),
        email=email,
    )


def create_user(
    runtime: Runtime, email: str, password: str, role: str, *, actor: str = "cli"
) -> AdminUser:
    """Create an admin user (``role`` ``admin`` or ``viewer``) and audit it.

    The e-mail address is stored lower case; the password must be at least 12 characters.
    Raises :class:`UserError` for a bad address, role or password, or an address already
    in use, and then writes nothing. ``actor`` names who did it in the audit log.
    """
    email = check_email(email)
    check_role(role)
    # Hash before the transaction: it takes a moment, and SQLite's write lock should not.
    password_hash = password_hasher().hash(check_password(password))
    try:
        with runtime.audit.session() as session:
            if session.scalar(select(AdminUser.id).where(AdminUser.email == email)) is not None:
                raise _duplicate(email)
            user = AdminUser(email=email, password_hash=password_hash, role=role, disabled=False)
            session.add(user)
            session.flush()
            runtime.audit.append(
                session,
                actor=actor,
                action="admin.user_created",
                subject=email,
                object_type="admin_user",
                object_id=str(user.id),
                details={"role": role},
            )
    except IntegrityError as exc:
        # Another process created the same address between our check and our insert.
        raise _duplicate(email) from exc
    return user


def set_password(runtime: Runtime, email: str, password: str, *, actor: str = "cli") -> None:
    """Give an existing admin user a new password and sign them out everywhere."""
    email = normalise_email(email)
    password_hash = password_hasher().hash(check_password(password))
    with runtime.audit.session() as session:
        user = _existing(session.scalar(select(AdminUser).where(AdminUser.email == email)), email)
        user.password_hash = password_hash
        session.execute(delete(AdminSession).where(AdminSession.user_id == user.id))
        runtime.audit.append(
            session,
            actor=actor,
            action="admin.password_changed",
            subject=email,
            object_type="admin_user",
            object_id=str(user.id),
        )


def disable_user(runtime: Runtime, email: str, *, actor: str = "cli") -> None:
    """Stop an admin user from signing in, ending their sessions. The row is kept for the
    audit trail."""
    email = normalise_email(email)
    with runtime.audit.session() as session:
        user = _existing(session.scalar(select(AdminUser).where(AdminUser.email == email)), email)
        user.disabled = True
        session.execute(delete(AdminSession).where(AdminSession.user_id == user.id))
        runtime.audit.append(
            session,
            actor=actor,
            action="admin.user_disabled",
            subject=email,
            object_type="admin_user",
            object_id=str(user.id),
        )


def _existing(user: AdminUser | None, email: str) -> AdminUser:
    if user is None:
        raise UserError(N_("No admin user has the e-mail address %(email)s."), email=email)
    return user


def find_user(runtime: Runtime, email: str) -> AdminUser | None:
    """The admin user with this address (any case), or ``None``."""
    with runtime.sessions() as session:
        return session.scalar(select(AdminUser).where(AdminUser.email == normalise_email(email)))


def list_users(runtime: Runtime) -> Sequence[AdminUser]:
    with runtime.sessions() as session:
        return session.scalars(select(AdminUser).order_by(AdminUser.email)).all()


def users_page(
    request: Request,
    user: Annotated[SignedIn, Depends(require_admin)],
    state: Annotated[WebState, Depends(web_state)],
) -> HTMLResponse:
    """``GET /admin/users``: the admin users, their role and last sign-in (admins only)."""
    tr = request_translator(request)
    rows = [
        {
            "email": row.email,
            "role": label(tr, ADMIN_ROLE, row.role),
            "last_login": tr.format_datetime(row.last_login_at) if row.last_login_at else None,
            "disabled": row.disabled,
        }
        for row in list_users(state.runtime)
    ]
    return state.pages.render(
        request,
        "admin/users.html",
        {"user": user, "csrf_token": user.csrf_token, "rows": rows},
    )
