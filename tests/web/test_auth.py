"""Signing in and out, over HTTP against the real app and store: cookies, CSRF, lock-out,
rate limits, no enumeration, expiry, fixation, roles, and what is written down."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from web_support import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    VIEWER_EMAIL,
    VIEWER_PASSWORD,
    count,
    csrf_from,
    sign_in,
)

from personvern.keyed import keyed_hash
from personvern.runtime import Runtime
from personvern.store.base import utcnow
from personvern.store.tables import AdminSession, AdminUser, AuditEntry, LoginAttempt
from personvern.web.admin.auth import safe_next
from personvern.web.admin.users import disable_user

WRONG_PASSWORD = "not the password at all"
FAILURE_NB = "Feil e-postadresse eller passord, eller kontoen er midlertidig sperret."
FAILURE_EN = "Wrong e-mail address or password, or the account is temporarily locked."

MakeClient = Callable[..., tuple[TestClient, Runtime]]


def _cookie(response: Any, name: str) -> str:
    headers = response.headers.get_list("set-cookie")
    matches = [h for h in headers if h.startswith(f"{name}=")]
    assert len(matches) == 1, headers
    return str(matches[0])


def _actions(runtime: Runtime) -> list[str]:
    with runtime.sessions() as db:
        return list(db.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))


# --- success and the cookie -------------------------------------------------------------


def test_sign_in_sets_an_httponly_strict_session_cookie(
    client: TestClient, runtime: Runtime, admin: str
) -> None:
    response = sign_in(client, admin, ADMIN_PASSWORD)
    assert response.status_code == 303
    assert response.headers["location"] == "/admin"
    cookie = _cookie(response, "pv_session")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/;" in cookie or cookie.endswith("Path=/")
    assert "Secure" not in cookie  # plain HTTP here; see the HTTPS test
    assert client.get("/admin").status_code == 200
    # Only the hash of the token is stored.
    token = cookie.split(";")[0].split("=", 1)[1]
    with runtime.sessions() as db:
        stored = db.scalars(select(AdminSession.token_hash)).all()
        user = db.scalars(select(AdminUser)).one()
    assert token not in stored
    assert len(stored) == 1
    assert user.last_login_at is not None


def test_sign_in_over_https_marks_the_cookie_secure(
    make_client: MakeClient, runtime: Runtime, admin: str
) -> None:
    client, _ = make_client(base_url="https://testserver")
    response = sign_in(client, admin, ADMIN_PASSWORD)
    assert response.status_code == 303
    cookie = _cookie(response, "pv_session")
    assert "Secure" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    page = client.get("/admin")
    assert page.status_code == 200
    assert page.headers["strict-transport-security"].startswith("max-age=")


def test_sign_in_is_case_insensitive_on_the_address(client: TestClient, admin: str) -> None:
    assert sign_in(client, "  EIER@Assemble.NO ", ADMIN_PASSWORD).status_code == 303


def test_session_lasts_session_hours(client: TestClient, runtime: Runtime, admin: str) -> None:
    sign_in(client, admin, ADMIN_PASSWORD)
    with runtime.sessions() as db:
        session = db.scalars(select(AdminSession)).one()
    hours = runtime.settings.session_hours
    assert abs(session.expires_at - (utcnow() + timedelta(hours=hours))) < timedelta(minutes=1)


def test_expired_session_is_signed_out(client: TestClient, runtime: Runtime, admin: str) -> None:
    sign_in(client, admin, ADMIN_PASSWORD)
    assert client.get("/admin").status_code == 200
    with runtime.sessions() as db, db.begin():
        db.execute(update(AdminSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    response = client.get("/admin", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/admin/login")


def test_pages_redirect_to_sign_in_and_back(client: TestClient, admin: str) -> None:
    response = client.get("/admin/users", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/login?next=%2Fadmin%2Fusers"
    done = sign_in(client, admin, ADMIN_PASSWORD, next_path="/admin/users")
    assert done.headers["location"] == "/admin/users"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("/admin/users", "/admin/users"),
        ("/admin", "/admin"),
        ("/admin?lang=en", "/admin?lang=en"),
        ("https://evil.example/admin", "/admin"),
        ("//evil.example/admin", "/admin"),
        ("/admin//evil.example", "/admin"),
        ("/admin\\evil", "/admin"),
        ("/administrators", "/admin"),
        ("/healthz", "/admin"),
        ("", "/admin"),
        (None, "/admin"),
    ],
)
def test_next_never_leaves_the_admin(given: str | None, expected: str) -> None:
    assert safe_next(given) == expected


def test_session_fixation_a_planted_token_is_replaced_and_ended(
    make_client: MakeClient, client: TestClient, runtime: Runtime, admin: str, viewer: str
) -> None:
    # The attacker has a session of their own...
    sign_in(client, viewer, VIEWER_PASSWORD)
    planted = client.cookies["pv_session"]
    # ...and plants its token in the victim's browser before the victim signs in.
    victim, _ = make_client()
    form = victim.get("/admin/login")
    victim.cookies.set("pv_session", planted)
    response = victim.post(
        "/admin/login",
        data={"email": admin, "password": ADMIN_PASSWORD, "csrf_token": csrf_from(form.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    fresh = _cookie(response, "pv_session").split(";")[0].split("=", 1)[1]
    assert fresh != planted
    # The planted session is gone: the attacker's token no longer signs anyone in.
    assert client.get("/admin", follow_redirects=False).status_code == 303


# --- sign-out and CSRF --------------------------------------------------------------------


def test_sign_out_ends_the_session(client: TestClient, runtime: Runtime, admin: str) -> None:
    sign_in(client, admin, ADMIN_PASSWORD)
    page = client.get("/admin")
    response = client.post(
        "/admin/logout", data={"csrf_token": csrf_from(page.text)}, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/login"
    assert "Max-Age=0" in _cookie(response, "pv_session")
    assert count(runtime, AdminSession) == 0
    assert client.get("/admin", follow_redirects=False).status_code == 303
    assert _actions(runtime)[-1] == "admin.signed_out"


def test_sign_out_accepts_the_token_in_a_header(
    client: TestClient, runtime: Runtime, admin: str
) -> None:
    sign_in(client, admin, ADMIN_PASSWORD)
    token = csrf_from(client.get("/admin").text)
    response = client.post("/admin/logout", headers={"X-CSRF-Token": token}, follow_redirects=False)
    assert response.status_code == 303
    assert count(runtime, AdminSession) == 0


@pytest.mark.parametrize("sent", [None, "", "wrong-token", "x" * 43])
def test_sign_out_without_the_right_csrf_token_is_refused_and_changes_nothing(
    client: TestClient, runtime: Runtime, admin: str, sent: str | None
) -> None:
    sign_in(client, admin, ADMIN_PASSWORD)
    entries = count(runtime, AuditEntry)
    data = {} if sent is None else {"csrf_token": sent}
    response = client.post("/admin/logout", data=data, follow_redirects=False)
    assert response.status_code == 403
    assert "ingenting ble endret" in response.text
    assert count(runtime, AdminSession) == 1
    assert count(runtime, AuditEntry) == entries
    assert client.get("/admin").status_code == 200


def test_csrf_token_of_another_session_is_refused(
    make_client: MakeClient, client: TestClient, runtime: Runtime, admin: str, viewer: str
) -> None:
    sign_in(client, admin, ADMIN_PASSWORD)
    other, _ = make_client()
    sign_in(other, viewer, VIEWER_PASSWORD)
    foreign = csrf_from(other.get("/admin").text)
    response = client.post("/admin/logout", data={"csrf_token": foreign})
    assert response.status_code == 403
    assert count(runtime, AdminSession) == 2


@pytest.mark.parametrize("case", ["missing", "wrong", "no-cookie"])
def test_sign_in_without_a_valid_form_token_is_refused_and_changes_nothing(
    client: TestClient, runtime: Runtime, admin: str, case: str
) -> None:
    form = client.get("/admin/login")
    data = {"email": admin, "password": ADMIN_PASSWORD}
    if case == "wrong":
        data["csrf_token"] = "0" * 64
    elif case == "no-cookie":
        data["csrf_token"] = csrf_from(form.text)
        client.cookies.clear()
    entries = count(runtime, AuditEntry)
    response = client.post("/admin/login", data=data, follow_redirects=False)
    assert response.status_code == 403
    assert "pv_session" not in response.headers.get("set-cookie", "")
    assert count(runtime, LoginAttempt) == 0
    assert count(runtime, AdminSession) == 0
    assert count(runtime, AuditEntry) == entries


# --- failures: one message, lock-out, rate limit ----------------------------------------


def _fail(client: TestClient, email: str, password: str = WRONG_PASSWORD) -> Any:
    form = client.get("/admin/login")
    return client.post(
        "/admin/login",
        data={"email": email, "password": password, "csrf_token": csrf_from(form.text)},
        follow_redirects=False,
    )


def test_unknown_user_wrong_password_disabled_and_locked_look_the_same(
    make_client: MakeClient, runtime: Runtime, admin: str, viewer: str
) -> None:
    client, _ = make_client(login_max_failures=2)
    wrong_password = _fail(client, admin)
    unknown = _fail(client, "ingen@assemble.no")
    disable_user(runtime, viewer)
    disabled = _fail(client, viewer, VIEWER_PASSWORD)  # the right password, but disabled
    _fail(client, "laast@assemble.no")
    locked = _fail(client, "laast@assemble.no")  # the second failure locks it
    locked = _fail(client, "laast@assemble.no")
    responses = [wrong_password, unknown, disabled, locked]
    assert {r.status_code for r in responses} == {400}
    assert len({r.content for r in responses}) == 1
    assert FAILURE_NB in wrong_password.text


def test_failure_message_in_english(client: TestClient, admin: str) -> None:
    form = client.get("/admin/login?lang=en")
    response = client.post(
        "/admin/login",
        data={"email": admin, "password": "wrong password!", "csrf_token": csrf_from(form.text)},
    )
    assert response.status_code == 400
    assert FAILURE_EN in response.text


def test_lock_out_after_max_failures_even_with_the_right_password(
    make_client: MakeClient, runtime: Runtime, admin: str
) -> None:
    client, _ = make_client(login_max_failures=3)
    failed = [_fail(client, admin) for _ in range(3)]
    right = sign_in(client, admin, ADMIN_PASSWORD)
    assert right.status_code == 400
    assert right.content == failed[0].content
    assert count(runtime, AdminSession) == 0
    actions = _actions(runtime)
    assert actions.count("admin.sign_in_locked") == 1
    # Once the window has passed, the right password works again.
    with runtime.sessions() as db, db.begin():
        db.execute(update(LoginAttempt).values(at=utcnow() - timedelta(minutes=16)))
    assert sign_in(client, admin, ADMIN_PASSWORD).status_code == 303


def test_unknown_address_is_locked_too(
    make_client: MakeClient, runtime: Runtime, admin: str
) -> None:
    client, _ = make_client(login_max_failures=2)
    for _ in range(3):
        _fail(client, "finnes.ikke@assemble.no")
    with runtime.sessions() as db:
        locked = db.scalars(
            select(AuditEntry).where(AuditEntry.action == "admin.sign_in_locked")
        ).one()
        last = db.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
    assert locked.subject_key == keyed_hash(runtime.secret, "finnes.ikke@assemble.no", kind="email")
    assert last is not None
    assert json.loads(last.details)["reason"] == "locked"


def test_success_resets_the_failure_count(
    make_client: MakeClient, runtime: Runtime, admin: str
) -> None:
    client, _ = make_client(login_max_failures=2)
    _fail(client, admin)
    assert sign_in(client, admin, ADMIN_PASSWORD).status_code == 303
    client.cookies.clear()
    _fail(client, admin)
    assert sign_in(client, admin, ADMIN_PASSWORD).status_code == 303


def test_too_many_attempts_from_one_ip_get_429_with_retry_after(
    make_client: MakeClient, runtime: Runtime, admin: str
) -> None:
    client, _ = make_client(login_max_per_ip=3, login_max_failures=100)
    for n in range(3):
        assert _fail(client, f"person{n}@assemble.no").status_code == 400
    refused = _fail(client, "person9@assemble.no")
    assert refused.status_code == 429
    retry_after = int(refused.headers["retry-after"])
    assert 0 < retry_after <= 15 * 60
    assert "For mange innloggingsforsøk" in refused.text
    # Refused unheard: even the right password is not checked, and the attempt not kept.
    assert sign_in(client, admin, ADMIN_PASSWORD).status_code == 429
    assert count(runtime, LoginAttempt) == 3
    assert count(runtime, AdminSession) == 0


# --- what is written down ---------------------------------------------------------------


def test_attempts_and_audit_hold_keyed_hashes_only(
    client: TestClient, runtime: Runtime, admin: str
) -> None:
    _fail(client, admin, "et feil passord her")
    sign_in(client, admin, ADMIN_PASSWORD)
    with runtime.sessions() as db:
        attempts = db.scalars(select(LoginAttempt).order_by(LoginAttempt.id)).all()
        entries = db.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
    email_key = keyed_hash(runtime.secret, admin, kind="email")
    ip_key = keyed_hash(runtime.secret, "testclient", kind="ip")
    assert [(a.email_key, a.ip_key, a.succeeded) for a in attempts] == [
        (email_key, ip_key, False),
        (email_key, ip_key, True),
    ]
    sign_ins = [e for e in entries if e.action.startswith("admin.sign")]
    assert [e.action for e in sign_ins] == ["admin.sign_in_failed", "admin.signed_in"]
    for entry in sign_ins:
        assert entry.subject_key == email_key
        text = entry.actor + entry.details
        for secret in (admin, "testclient", ADMIN_PASSWORD, "et feil passord her"):
            assert secret not in text
    assert json.loads(sign_ins[0].details) == {"reason": "wrong_password", "ip_key": ip_key}
    assert runtime.audit.verify().ok


# --- roles --------------------------------------------------------------------------------


def test_viewer_sees_the_dashboard_but_not_the_admin_only_page(
    client: TestClient, viewer: str
) -> None:
    sign_in(client, viewer, VIEWER_PASSWORD)
    assert client.get("/admin").status_code == 200
    response = client.get("/admin/users")
    assert response.status_code == 403
    assert "Bare administratorer" in response.text
    assert 'href="/admin/users"' not in client.get("/admin").text


def test_admin_sees_users_with_role_and_last_sign_in(
    client: TestClient, admin: str, viewer: str
) -> None:
    sign_in(client, admin, ADMIN_PASSWORD)
    page = client.get("/admin/users")
    assert page.status_code == 200
    assert ADMIN_EMAIL in page.text
    assert VIEWER_EMAIL in page.text
    assert "Administrator" in page.text
    assert "Leser" in page.text
    assert "Aldri" in page.text  # the viewer never signed in
    assert '<th scope="col">Sist innlogget</th>' in page.text


def test_disabled_user_loses_the_session(client: TestClient, runtime: Runtime, admin: str) -> None:
    sign_in(client, admin, ADMIN_PASSWORD)
    disable_user(runtime, admin)
    assert client.get("/admin", follow_redirects=False).status_code == 303


def test_parallel_attempts_cannot_slip_past_the_lock_together(
    make_client: MakeClient, runtime: Runtime, admin: str
) -> None:
    client, _ = make_client(login_max_failures=3)
    token = csrf_from(client.get("/admin/login").text)
    data = {"email": admin, "password": WRONG_PASSWORD, "csrf_token": token}
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(
            pool.map(lambda _: client.post("/admin/login", data=data).status_code, range(8))
        )
    assert statuses == [400] * 8
    with runtime.sessions() as db:
        reasons = [
            json.loads(details)["reason"]
            for details in db.scalars(
                select(AuditEntry.details).where(AuditEntry.action == "admin.sign_in_failed")
            )
        ]
    # Each attempt counted the others before its password was checked: at most three were.
    assert len(reasons) == 8
    assert reasons.count("wrong_password") <= 3
    assert reasons.count("locked") >= 5


def test_a_forwarded_proto_header_alone_does_not_make_the_cookie_secure(
    client: TestClient, admin: str
) -> None:
    # Only uvicorn's proxy-headers middleware, trusting the proxy, may change the scheme.
    form = client.get("/admin/login")
    response = client.post(
        "/admin/login",
        data={"email": admin, "password": ADMIN_PASSWORD, "csrf_token": csrf_from(form.text)},
        headers={"X-Forwarded-Proto": "https"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert "Secure" not in _cookie(response, "pv_session")
