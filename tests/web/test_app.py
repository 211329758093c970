"""The app factory, the health check and the error boundary, over HTTP."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from personvern.runtime import Runtime
from personvern.settings import Settings
from personvern.store.engine import make_engine
from personvern.web.app import create_app


def test_healthz_checks_the_store(client: TestClient, backend: str) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["backend"] == backend
    assert response.headers["cache-control"] == "no-store"


def test_healthz_is_503_when_the_store_is_unreachable(
    settings: Settings, runtime: Runtime, tmp_path: Path
) -> None:
    # A directory is no database: every connection attempt fails.
    engine = make_engine(f"sqlite:///{tmp_path}")
    broken = dataclasses.replace(runtime, engine=engine)
    try:
        with TestClient(create_app(settings, runtime=broken)) as client:
            response = client.get("/healthz")
    finally:
        engine.dispose()
    assert response.status_code == 503
    assert response.json()["status"] == "error"
    assert response.json()["database"] == "unreachable"


def test_create_app_opens_and_closes_its_own_runtime(settings: Settings) -> None:
    app = create_app(settings)
    own = app.state.personvern.runtime
    with TestClient(app) as client:
        assert client.get("/healthz").json()["database"] == "ok"
    assert own.engine.pool.checkedout() == 0


def test_two_apps_share_nothing(settings: Settings, runtime: Runtime) -> None:
    first = create_app(settings, runtime=runtime)
    second = create_app(settings, runtime=runtime)
    assert first.state.personvern is not second.state.personvern
    assert first.state.personvern.pages is not second.state.personvern.pages


def test_not_found_is_a_page_in_the_readers_language(client: TestClient) -> None:
    response = client.get("/finnes-ikke")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "Fant ikke siden" in response.text
    english = client.get("/finnes-ikke", headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert "Page not found" in english.text
    assert english.headers["content-language"] == "en"


def test_api_errors_are_problem_details(client: TestClient) -> None:
    response = client.get("/api/finnes-ikke", headers={"Accept-Language": "en"})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "about:blank"
    assert body["title"] == "Not Found"
    assert body["status"] == 404
    assert body["instance"] == "/api/finnes-ikke"
    assert "could not find" in body["detail"]


def test_wrong_method_is_405(client: TestClient) -> None:
    response = client.get("/admin/logout")
    assert response.status_code == 405
    assert "Ikke tillatt her" in response.text


def test_invalid_api_input_is_a_problem_without_the_input(app: FastAPI) -> None:
    def count(n: int) -> dict[str, int]:
        return {"n": n}

    app.add_api_route("/api/test-count", count)
    with TestClient(app) as client:
        response = client.get("/api/test-count?n=someone@example.no")
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["errors"][0]["loc"] == ["query", "n"]
    assert "someone@example.no" not in response.text


@pytest.mark.parametrize("path", ["/test-boom", "/api/test-boom"])
def test_unexpected_errors_are_500_without_leaking_the_message(
    app: FastAPI, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    customer = "kunde@example.no"

    def boom() -> None:
        # Built at run time, so the logged source line does not hold the address itself.
        raise RuntimeError(f"lost the order of {customer}")

    app.add_api_route(path, boom)
    with caplog.at_level(logging.ERROR), TestClient(app) as client:
        response = client.get(path)
    assert response.status_code == 500
    assert "kunde@example.no" not in response.text
    assert "kunde@example.no" not in caplog.text
    assert "RuntimeError" in caplog.text
    assert response.headers["x-content-type-options"] == "nosniff"
    if path.startswith("/api/"):
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == 500
    else:
        assert "Feil på serveren" in response.text


def test_openapi_lists_no_html_pages_and_no_cdn_docs(client: TestClient) -> None:
    schema = client.get("/api/openapi.json").json()
    assert not any(path.startswith("/admin") for path in schema["paths"])
    assert "/healthz" in schema["paths"]
    assert client.get("/docs").status_code == 404
