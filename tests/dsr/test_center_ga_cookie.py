"""The erasure form's optional ``_ga`` field: shown, checked, stored, and handed on to the
connectors as ``Identity.ga_client_id`` by the executor's reading of the request."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from executor_support import make_request, run_async, system, write_inventory
from fastapi.testclient import TestClient
from request_support import app_client, submit
from sqlalchemy import select

from personvern.connectors.google_analytics import GoogleAnalyticsConnector
from personvern.connectors.registry import ConnectorRegistry
from personvern.demo.shop import build_shop
from personvern.dsr.control import queue_request
from personvern.dsr.executor import Executor
from personvern.dsr.intake import Intake, RequestError, check
from personvern.dsr.progress import Progress
from personvern.runtime import Runtime
from personvern.sandbox.server import SandboxContext, SandboxServer
from personvern.settings import Settings
from personvern.store.requests import DataRequest

KARI = "kari.nordmann@example.no"


@pytest.fixture
def client(settings: Settings, runtime: Runtime) -> Iterator[TestClient]:
    with app_client(settings, runtime) as test_client:
        yield test_client


def _only_request(runtime: Runtime) -> DataRequest:
    with runtime.sessions() as db:
        (row,) = db.scalars(select(DataRequest))
        db.expunge(row)
        return row


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("GA1.1.1234567890.1700000000", "1234567890.1700000000"),
        (" _ga=GA1.2.55555.1699999999 ", "55555.1699999999"),
        ("", None),
    ],
)
def test_intake_keeps_the_client_id_of_an_erasure(given: str, stored: str | None) -> None:
    checked = check(Intake(kind="erase", email=KARI, ga_client_id=given))
    assert checked.ga_client_id == stored


@pytest.mark.parametrize(
    ("kind", "given", "says"),
    [
        ("erase", "GS1.1.1700000000.5.1.1700000100.0.0.0", "_ga cookie"),
        ("erase", "G-ABC123", "_ga cookie"),
        ("access", "GA1.1.1234567890.1700000000", "Only an erasure"),
        ("erase", "GA1.1." + "1" * 200 + ".1700000000", "too long"),
    ],
)
def test_intake_refuses_what_is_not_a_ga_cookie(kind: str, given: str, says: str) -> None:
    with pytest.raises(RequestError, match=says) as caught:
        check(Intake(kind=kind, email=KARI, ga_client_id=given))
    assert caught.value.field == "ga_client_id"


def test_only_the_erasure_form_asks_for_the_cookie(client: TestClient) -> None:
    erase = client.get("/privacy/request/erase")
    assert 'name="ga_client_id"' in erase.text
    assert "_ga (valgfritt)" in erase.text
    assert "F12" in erase.text
    english = client.get("/privacy/request/erase?lang=en")
    assert "Your Google Analytics cookie, _ga (optional)" in english.text
    assert 'name="ga_client_id"' not in client.get("/privacy/request/access").text


def test_a_bad_value_is_shown_again_with_the_error(client: TestClient, runtime: Runtime) -> None:
    response = submit(client, "erase", email=KARI, ga_client_id="G-ABC123")
    assert response.status_code == 400
    assert "informasjonskapselen som heter nøyaktig _ga" in response.text
    assert 'id="ga_client_id"' in response.text
    assert 'aria-invalid="true"' in response.text
    with runtime.sessions() as db:
        assert list(db.scalars(select(DataRequest))) == []


def test_the_client_id_reaches_the_executors_view_of_the_request(
    client: TestClient, runtime: Runtime
) -> None:
    response = submit(client, "erase", email=KARI, ga_client_id="GA1.1.1234567890.1700000000")
    assert response.status_code == 200
    row = _only_request(runtime)
    assert json.loads(row.details)["ga_client_id"] == "1234567890.1700000000"
    loaded = Progress(runtime, "test").load(row.id)
    assert loaded is not None
    view, _ = loaded
    assert json.loads(view.details)["ga_client_id"] == "1234567890.1700000000"


def test_other_forms_ignore_a_stray_cookie_field(client: TestClient, runtime: Runtime) -> None:
    response = submit(client, "access", email=KARI, ga_client_id="GA1.1.1234567890.1700000000")
    assert response.status_code == 200
    assert "ga_client_id" not in json.loads(_only_request(runtime).details)


def test_the_executor_erases_in_google_analytics_by_the_given_cookie(
    settings: Settings, tmp_path: Path
) -> None:
    """Form value → request details → Identity.ga_client_id → a CLIENT_ID deletion request."""
    shop_url = f"sqlite:///{tmp_path / 'shop.sqlite3'}"
    build_shop(shop_url, customers=5)
    with SandboxServer(SandboxContext(shop_url), ["google_analytics"]) as sandbox:
        creds = sandbox.app("google_analytics").credentials
        state = sandbox.app("google_analytics").state
        connector = {
            "type": "google_analytics",
            "settings": {
                "property_id": creds["property_id"],
                "client_id": creds["client_id"],
                "client_secret_env": "GA_SECRET",
                "refresh_token_env": "GA_REFRESH",
                "base_url": sandbox.vendor_url("google_analytics"),
            },
        }
        inventory = write_inventory(tmp_path / "privacy.yaml", [system("ga", connector)])
        runtime = Runtime.open(settings.model_copy(update={"inventory": inventory}), migrate=False)
        registry = ConnectorRegistry([GoogleAnalyticsConnector])
        environ = {"GA_SECRET": creds["client_secret"], "GA_REFRESH": creds["refresh_token"]}
        try:
            request_id = make_request(runtime)
            with runtime.sessions() as db, db.begin():
                row = db.get(DataRequest, request_id)
                assert row is not None
                row.details = json.dumps({"ga_client_id": "1234567890.1700000000"})

            async def scenario() -> str:
                await asyncio.to_thread(queue_request, runtime, request_id, registry)
                executor = Executor(runtime, registry, environ=environ)
                return (await executor.run(request_id)).status

            assert run_async(scenario()) == "completed"
        finally:
            runtime.close()
        assert list(state.requests) == [f"{creds['property_id']}/CLIENT_ID/1234567890.1700000000"]
