"""Admin users: create, change password, disable — what is stored, audited, and refused."""

from __future__ import annotations

import json

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import select
from web_support import ADMIN_PASSWORD, count, sign_in

from personvern.i18n import translator
from personvern.keyed import keyed_hash
from personvern.runtime import Runtime
from personvern.store.tables import AdminSession, AdminUser, AuditEntry
from personvern.web.admin.users import (
    UserError,
    create_user,
    disable_user,
    find_user,
    set_password,
)


def test_create_user_stores_a_normalised_address_and_an_argon2id_hash(runtime: Runtime) -> None:
    user = create_user(runtime, "  Tor@Assemble.NO ", "tolv tegn her", "viewer")
    assert user.email == "tor@assemble.no"
    assert user.role == "viewer"
    assert not user.disabled
    assert user.password_hash.startswith("$argon2id$")
    assert PasswordHasher().verify(user.password_hash, "tolv tegn her")
    with runtime.sessions() as db:
        entry = db.scalars(select(AuditEntry)).one()
    assert entry.action == "admin.user_created"
    assert entry.actor == "cli"
    assert entry.subject_key == keyed_hash(runtime.secret, "tor@assemble.no", kind="email")
    assert entry.object_id == str(user.id)
    assert json.loads(entry.details) == {"role": "viewer"}
    assert "tolv tegn her" not in entry.details


@pytest.mark.parametrize(
    ("email", "password", "role", "says"),
    [
        ("tor@assemble.no", "for kort!!!", "admin", "at least 12 characters"),
        ("tor@assemble.no", "et langt nok passord", "owner", "choose admin"),
        ("tor-at-assemble.no", "et langt nok passord", "admin", "name@example.no"),
        ("tor@assemble", "et langt nok passord", "admin", "name@example.no"),
        ("EIER@assemble.no", "et langt nok passord", "admin", "already exists"),
    ],
    ids=["short-password", "bad-role", "no-at", "no-domain", "duplicate"],
)
def test_bad_input_is_refused_with_what_to_fix_and_nothing_written(
    runtime: Runtime, email: str, password: str, role: str, says: str
) -> None:
    create_user(runtime, "eier@assemble.no", ADMIN_PASSWORD, "admin")
    users, entries = count(runtime, AdminUser), count(runtime, AuditEntry)
    with pytest.raises(UserError, match=says) as raised:
        create_user(runtime, email, password, role)
    assert isinstance(raised.value, ValueError)
    assert count(runtime, AdminUser) == users
    assert count(runtime, AuditEntry) == entries


def test_user_errors_read_in_bokmal_too(runtime: Runtime) -> None:
    with pytest.raises(UserError) as raised:
        create_user(runtime, "tor@assemble.no", "kort", "admin")
    assert raised.value.translated(translator("nb")) == (
        "Passordet er for kort: bruk minst 12 tegn. Noen tilfeldige ord gir et godt passord."
    )


def test_twelve_characters_is_enough(runtime: Runtime) -> None:
    assert create_user(runtime, "tor@assemble.no", "x" * 12, "admin").id


def test_set_password_replaces_it_and_ends_sessions(
    client: TestClient, runtime: Runtime, admin: str
) -> None:
    sign_in(client, admin, ADMIN_PASSWORD)
    assert count(runtime, AdminSession) == 1
    set_password(runtime, admin.upper(), "et helt nytt passord")
    assert count(runtime, AdminSession) == 0
    client.cookies.clear()
    assert sign_in(client, admin, ADMIN_PASSWORD).status_code == 400
    assert sign_in(client, admin, "et helt nytt passord").status_code == 303
    with runtime.sessions() as db:
        actions = list(db.scalars(select(AuditEntry.action)))
    assert "admin.password_changed" in actions


def test_set_password_and_disable_need_an_existing_user(runtime: Runtime) -> None:
    with pytest.raises(UserError, match="No admin user"):
        set_password(runtime, "ingen@assemble.no", "et langt nok passord")
    with pytest.raises(UserError, match="No admin user"):
        disable_user(runtime, "ingen@assemble.no")
    with pytest.raises(UserError, match="at least 12"):
        set_password(runtime, "ingen@assemble.no", "kort")


def test_disable_user_keeps_the_row_and_audits(runtime: Runtime, admin: str) -> None:
    disable_user(runtime, admin, actor="admin:1")
    with runtime.sessions() as db:
        user = db.scalars(select(AdminUser)).one()
        entry = db.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
    assert user.disabled
    assert entry is not None
    assert (entry.action, entry.actor) == ("admin.user_disabled", "admin:1")
    assert runtime.audit.verify().ok


def test_find_user_ignores_case(runtime: Runtime, admin: str) -> None:
    found = find_user(runtime, " EIER@assemble.no")
    assert found is not None
    assert found.email == admin
    assert find_user(runtime, "ingen@assemble.no") is None
