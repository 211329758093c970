"""Mailchimp's webhook: unsubscribe and cleaned events feed the suppression list, marked as
already in Mailchimp; the URL's secret is the only way in."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from suppression_support import audit_entries, audit_text, rows

from personvern.runtime import Runtime
from personvern.settings import Settings
from personvern.web.app import create_app

SECRET = "mc-hook-7Qx2p9Lr4TzW"
URL = f"/webhooks/mailchimp/{SECRET}"


def _client(settings: Settings, runtime: Runtime, secret: str = SECRET) -> TestClient:
    changed = settings.model_copy(update={"mailchimp_webhook_secret": SecretStr(secret)})
    runtime.settings = changed
    # Not entered: the app's lifespan (background jobs) has no part in these answers.
    return TestClient(create_app(changed, runtime=runtime))


@pytest.fixture
def client(settings: Settings, runtime: Runtime) -> TestClient:
    return _client(settings, runtime)


def event(kind: str, email: str = "Per.Olsen@Example.no", **data: str) -> dict[str, str]:
    """A form body as Mailchimp posts it (see the sync-audience-data-webhooks guide)."""
    body = {
        "type": kind,
        "fired_at": "2026-11-20 10:15:00",
        "data[id]": "8a25ff1d98",
        "data[list_id]": "a6b5da1054",
        "data[email]": email,
        "data[email_type]": "html",
        "data[merges][EMAIL]": email,
        "data[merges][FNAME]": "Per",
        "data[ip_opt]": "10.20.10.30",
    }
    body.update({f"data[{k}]": v for k, v in data.items()})
    return body


def test_mailchimp_checks_the_url_with_get(client: TestClient) -> None:
    assert client.get(URL).status_code == 200


@pytest.mark.parametrize("path", [f"{URL}x", URL[:-1], "/webhooks/mailchimp/anything"])
def test_a_wrong_secret_is_404_and_changes_nothing(
    client: TestClient, runtime: Runtime, path: str
) -> None:
    assert client.get(path).status_code == 404
    assert client.post(path, data=event("unsubscribe", action="unsub")).status_code == 404
    assert rows(runtime) == []


def test_without_a_secret_set_the_receiver_is_off(settings: Settings, runtime: Runtime) -> None:
    off = _client(settings, runtime, secret="")
    assert off.get("/webhooks/mailchimp/").status_code == 404
    assert off.get("/webhooks/mailchimp/x").status_code == 404
    assert off.post("/webhooks/mailchimp/x", data=event("cleaned")).status_code == 404
    assert rows(runtime) == []


def test_an_unsubscribe_is_suppressed_and_already_synced(
    client: TestClient, runtime: Runtime
) -> None:
    response = client.post(URL, data=event("unsubscribe", action="unsub", reason="manual"))
    assert response.status_code == 200
    assert response.json() == {"status": "suppressed", "type": "unsubscribe"}
    [row] = rows(runtime)
    assert (row.address, row.list_key, row.source, row.sync_status) == (
        "per.olsen@example.no",
        "mailchimp:a6b5da1054",
        "webhook",
        "synced",
    )
    assert row.synced_at is not None
    assert row.next_sync_at is None
    [entry] = audit_entries(runtime)
    assert (entry.actor, entry.action) == ("webhook:mailchimp", "suppression.added")
    assert "per.olsen" not in audit_text(runtime).lower()
    # Mailchimp sends an event again when it did not get a 200 in time: nothing changes.
    again = client.post(URL, data=event("unsubscribe", action="unsub"))
    assert again.json()["status"] == "already"
    assert len(rows(runtime)) == 1
    assert len(audit_entries(runtime)) == 1


@pytest.mark.parametrize("reason", ["hard", "abuse"])
def test_a_cleaned_address_is_suppressed(client: TestClient, runtime: Runtime, reason: str) -> None:
    response = client.post(URL, data=event("cleaned", reason=reason, campaign_id="4fjk2ma9xd"))
    assert response.json()["status"] == "suppressed"
    assert [r.address for r in rows(runtime)] == ["per.olsen@example.no"]


@pytest.mark.parametrize(
    "body",
    [
        event("unsubscribe", action="delete"),  # deleted, e.g. by our own erasure: not kept
        event("subscribe"),
        event("profile"),
        {"type": "upemail", "data[old_email]": "a@example.no", "data[new_email]": "b@example.no"},
        {"type": "campaign", "data[id]": "5aa2102003", "data[status]": "sent"},
    ],
)
def test_other_events_are_acknowledged_and_change_nothing(
    client: TestClient, runtime: Runtime, body: dict[str, str]
) -> None:
    response = client.post(URL, data=body)
    assert response.status_code == 200
    assert response.json()["status"] == "ignored"
    assert rows(runtime) == []
    assert audit_entries(runtime) == []


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"type": "nonsense"},
        {"type": "unsubscribe", "data[action]": "unsub"},
        event("cleaned", email="not an address"),
    ],
)
def test_a_bad_event_is_400_and_changes_nothing(
    client: TestClient, runtime: Runtime, body: dict[str, str]
) -> None:
    response = client.post(URL, data=body)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["detail"]
    assert rows(runtime) == []


def test_an_address_already_suppressed_by_one_click_keeps_its_row(
    client: TestClient, runtime: Runtime
) -> None:
    from personvern.suppression import suppress

    suppress(runtime, "per.olsen@example.no", source="one_click", actor="subscriber")
    assert client.post(URL, data=event("unsubscribe", action="unsub")).json()["status"] == "already"
    [row] = rows(runtime)
    assert (row.source, row.sync_status) == ("one_click", "pending")
