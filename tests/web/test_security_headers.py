"""Security headers on every response (pages, redirects, errors, static files), and templates
that need no 'unsafe-inline'."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from web_support import ADMIN_PASSWORD, sign_in

from personvern.runtime import Runtime

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "personvern" / "web" / "templates"

EXPECTED_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'; object-src 'none'"
)


def _assert_secure_headers(headers: object) -> None:
    get = headers.get  # type: ignore[attr-defined]
    assert get("content-security-policy") == EXPECTED_CSP
    assert "unsafe-inline" not in get("content-security-policy")
    assert get("x-content-type-options") == "nosniff"
    assert get("referrer-policy") in {"same-origin", "no-referrer"}
    assert get("x-frame-options") == "DENY"
    assert "camera=()" in get("permissions-policy")


@pytest.fixture
def boom_app(app: FastAPI) -> FastAPI:
    def boom() -> None:
        raise RuntimeError("boom")

    app.add_api_route("/test-boom", boom)
    return app


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/admin/login", 200),  # a page
        ("/admin", 303),  # a redirect
        ("/finnes-ikke", 404),  # an error page
        ("/api/finnes-ikke", 404),  # an API problem
        ("/admin/logout", 405),
        ("/test-boom", 500),  # an unexpected exception
        ("/static/admin.css", 200),  # a static file
        ("/healthz", 200),
    ],
)
def test_every_response_carries_the_security_headers(
    boom_app: FastAPI, path: str, status: int
) -> None:
    with TestClient(boom_app) as client:
        response = client.get(path, follow_redirects=False)
    assert response.status_code == status
    _assert_secure_headers(response.headers)
    assert "strict-transport-security" not in response.headers  # plain HTTP


def test_admin_pages_are_never_cached_and_static_files_may_be(
    client: TestClient, admin: str
) -> None:
    assert client.get("/admin/login").headers["cache-control"] == "no-store"
    sign_in(client, admin, ADMIN_PASSWORD)
    dashboard = client.get("/admin")
    assert dashboard.status_code == 200
    assert dashboard.headers["cache-control"] == "no-store"
    _assert_secure_headers(dashboard.headers)
    assert client.get("/static/admin.css").headers.get("cache-control") != "no-store"


def test_https_adds_hsts(make_client: Callable[..., tuple[TestClient, Runtime]]) -> None:
    client, _ = make_client(base_url="https://testserver")
    response = client.get("/admin/login")
    assert response.headers["strict-transport-security"] == "max-age=31536000"
    _assert_secure_headers(response.headers)


def test_css_is_served_as_css(client: TestClient) -> None:
    response = client.get("/static/admin.css")
    assert response.headers["content-type"].startswith("text/css")
    assert "font-family" in response.text


@pytest.mark.parametrize("template", sorted(TEMPLATES.rglob("*.html")), ids=lambda p: p.name)
def test_templates_have_no_inline_script_or_style(template: Path) -> None:
    text = template.read_text(encoding="utf-8")
    assert "<style" not in text
    assert not re.search(r"\sstyle=", text)
    assert not re.search(r"<script(?![^>]*\bsrc=)", text)
    assert not re.search(r"\son[a-z]+=", text)  # onclick= and friends are inline script


def test_rendered_pages_have_no_inline_script_or_style(client: TestClient, admin: str) -> None:
    pages = [client.get("/admin/login").text, client.get("/finnes-ikke").text]
    sign_in(client, admin, ADMIN_PASSWORD)
    pages += [client.get("/admin").text, client.get("/admin/users").text]
    for page in pages:
        assert "<script" not in page
        assert "<style" not in page
        assert " style=" not in page
