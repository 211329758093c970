"""``/api/v1/requests`` with API tokens: authentication, the strict schema, problem details,
rate limits."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from request_support import app_client, messages
from sqlalchemy import select

from personvern.dsr import requests as lifecycle
from personvern.runtime import Runtime
from personvern.settings import Settings
from personvern.store.api_tokens import ApiToken
from personvern.web.api.tokens import TokenError, create_token, revoke_token

PATH = "/api/v1/requests"
KARI = "kari.nordmann@example.no"


@pytest.fixture
def client(settings: Settings, runtime: Runtime) -> Iterator[TestClient]:
    with app_client(settings, runtime) as test_client:
        yield test_client


@pytest.fixture
def admin_token(runtime: Runtime) -> str:
    return create_token(runtime, "nettbutikk")


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


def test_tokens_are_stored_as_hashes(runtime: Runtime, admin_token: str) -> None:
    assert admin_token.startswith("pvt_")
    with runtime.sessions() as db:
        [row] = db.scalars(select(ApiToken))
    assert row.name == "nettbutikk"
    assert row.role == "admin"
    assert admin_token not in row.token_hash
    with pytest.raises(TokenError, match="exists already"):
        create_token(runtime, "nettbutikk")
    with pytest.raises(TokenError, match="not valid"):
        create_token(runtime, "has space")
    with pytest.raises(TokenError, match="role"):
        create_token(runtime, "other", "owner")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer pvt_" + "A" * 43},
    ],
)
def test_no_valid_token_is_401(client: TestClient, headers: dict[str, str]) -> None:
    response = client.post(PATH, json={"kind": "access", "email": KARI}, headers=headers)
    body = _problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "create-token" in body["detail"]


def test_a_revoked_token_is_401(client: TestClient, runtime: Runtime, admin_token: str) -> None:
    revoke_token(runtime, "nettbutikk")
    response = client.post(PATH, json={"kind": "access", "email": KARI}, headers=_auth(admin_token))
    _problem(response, 401)
    with pytest.raises(TokenError):
        revoke_token(runtime, "nettbutikk")
    # The name is free again.
    assert create_token(runtime, "nettbutikk") != admin_token


def test_a_viewer_token_may_read_but_not_create(
    client: TestClient, runtime: Runtime, admin_token: str
) -> None:
    viewer = create_token(runtime, "rapport", "viewer")
    denied = client.post(PATH, json={"kind": "access", "email": KARI}, headers=_auth(viewer))
    _problem(denied, 403)
    assert 'error="insufficient_scope"' in denied.headers["www-authenticate"]
    created = client.post(PATH, json={"kind": "access", "email": KARI}, headers=_auth(admin_token))
    assert created.status_code == 201
    read = client.get(created.headers["location"], headers=_auth(viewer))
    assert read.status_code == 200
    assert read.json()["id"] == created.json()["id"]


def test_create_unverified_sends_the_link(
    client: TestClient, runtime: Runtime, admin_token: str
) -> None:
    response = client.post(
        PATH,
        json={"kind": "erase", "email": KARI, "name": "Kari", "lang": "en"},
        headers=_auth(admin_token),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["kind"] == "erase"
    assert body["status"] == "unverified"
    assert body["channel"] == "api"
    assert body["deadline_state"] == "ok"
    assert "email" not in body
    assert "name" not in body
    assert response.headers["location"] == f"{PATH}/{body['id']}"
    [mail] = messages(runtime, "verify")
    assert mail.to_address == KARI
    assert mail.lang == "en"
    entries = runtime.audit.entries(subject=KARI)
    assert entries[0].actor == "api:nettbutikk"


def test_create_verified_starts_at_once(
    client: TestClient, runtime: Runtime, admin_token: str
) -> None:
    response = client.post(
        PATH,
        json={
            "kind": "access",
            "email": KARI,
            "verified": True,
            "verification_note": "Signed in to her account on the shop.",
        },
        headers=_auth(admin_token),
    )
    assert response.status_code == 201, response.text
    request = lifecycle.get(runtime, response.json()["id"])
    assert request.verified_at is not None
    assert request.status in {"running", "waiting", "completed"}
    assert messages(runtime, "verify") == []
    assert len(messages(runtime, "received")) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": KARI}, "kind"),
        ({"kind": "access"}, "email"),
        ({"kind": "destroy", "email": KARI}, "kind"),
        ({"kind": "access", "email": KARI, "shoe_size": 44}, "shoe_size"),
        ({"kind": "access", "email": 42}, "email"),
        ({"kind": "access", "email": KARI, "verified": "yes"}, "verified"),
        ({"kind": "access", "email": KARI, "lang": "sv"}, "lang"),
        ({"kind": "access", "email": "x" * 400}, "email"),
        ({"kind": "access", "email": "not-an-address"}, "email"),
        ({"kind": "access", "email": KARI, "phone": "ring meg"}, "phone"),
        ({"kind": "rectify", "email": KARI}, "changes"),
        ({"kind": "rectify", "email": KARI, "changes": {"shoe": "44"}}, "changes.shoe"),
        ({"kind": "access", "email": KARI, "verified": True}, "verification_note"),
    ],
)
def test_strict_schema_names_the_field(
    client: TestClient, runtime: Runtime, admin_token: str, body: dict[str, Any], field: str
) -> None:
    response = client.post(PATH, json=body, headers=_auth(admin_token))
    problem = _problem(response, 422)
    assert problem["detail"].startswith(f"{field}:"), problem
    assert field in [e["field"] for e in problem["errors"]]
    assert lifecycle.expire_unverified(runtime) == 0
    assert messages(runtime) == []


def test_not_json(client: TestClient, admin_token: str) -> None:
    headers = _auth(admin_token)
    bad = client.post(
        PATH, content=b"{kind: access", headers={**headers, "Content-Type": "application/json"}
    )
    _problem(bad, 400)
    form = client.post(PATH, data={"kind": "access", "email": KARI}, headers=headers)
    _problem(form, 415)
    huge = client.post(
        PATH,
        content=b'{"kind": "access", "email": "' + b"x" * 70_000 + b'"}',
        headers={**headers, "Content-Type": "application/json"},
    )
    _problem(huge, 413)


def test_rectification_with_changes(client: TestClient, runtime: Runtime, admin_token: str) -> None:
    response = client.post(
        PATH,
        json={"kind": "rectify", "email": KARI, "changes": {"address": "Storgata 1, 0155 Oslo"}},
        headers=_auth(admin_token),
    )
    assert response.status_code == 201, response.text
    request = lifecycle.get(runtime, response.json()["id"])
    assert lifecycle.changes_of(request) == {"address": "Storgata 1, 0155 Oslo"}


def test_rate_limit_is_429(settings: Settings, runtime: Runtime, admin_token: str) -> None:
    with app_client(settings, runtime, request_limit_per_address=2) as client:
        codes = [
            client.post(
                PATH, json={"kind": "access", "email": KARI}, headers=_auth(admin_token)
            ).status_code
            for _ in range(3)
        ]
        last = client.post(PATH, json={"kind": "access", "email": KARI}, headers=_auth(admin_token))
    assert codes == [201, 201, 429]
    _problem(last, 429)
    assert int(last.headers["retry-after"]) > 0


def test_read_unknown_is_404(client: TestClient, admin_token: str) -> None:
    response = client.get(
        f"{PATH}/00000000-0000-4000-8000-000000000000", headers=_auth(admin_token)
    )
    _problem(response, 404)
    assert client.get(f"{PATH}/anything").status_code == 401


def test_the_endpoints_are_in_openapi(client: TestClient) -> None:
    spec = client.get("/api/openapi.json").json()
    post = spec["paths"][PATH]["post"]
    schema = post["requestBody"]["content"]["application/json"]["schema"]
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"kind", "email"}
    assert f"{PATH}/{{request_id}}" in spec["paths"]
