"""Pushing the suppression list to Mailchimp: against the Mailchimp sandbox over real HTTP,
with the demo shop's people in it; transient faults are retried later, fatal ones recorded."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from suppression_support import audit_entries, rows

from personvern.demo.shop import build_shop
from personvern.runtime import Runtime
from personvern.sandbox.server import SandboxContext, SandboxServer
from personvern.settings import Settings
from personvern.store.base import utcnow
from personvern.suppression import suppress
from personvern.suppression.sync import retry_failed, sync_due
from personvern.web.app import create_app

ASSEMBLE = Path(__file__).resolve().parents[2] / "examples" / "assemble" / "privacy.yaml"
NEWCOMER = "ny.kunde@example.no"  # in no audience


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    shop = tmp_path_factory.mktemp("shop") / "shop.sqlite3"
    build_shop(f"sqlite:///{shop}", customers=40)
    with SandboxServer(SandboxContext(f"sqlite:///{shop}"), ["mailchimp"]) as server:
        yield server


@pytest.fixture(scope="module")
def inventory(sandbox: SandboxServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Assemble inventory with its Mailchimp system pointed at the sandbox."""
    data = yaml.safe_load(ASSEMBLE.read_text())
    [system] = [s for s in data["systems"] if s["key"] == "mailchimp"]
    system["connector"]["settings"]["base_url"] = sandbox.vendor_url("mailchimp") + "/3.0"
    folder = tmp_path_factory.mktemp("inventory")
    shutil.copy(ASSEMBLE.with_name("shop_dataset.yml"), folder)
    path = folder / "privacy.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    return path


@pytest.fixture
def state(sandbox: SandboxServer) -> Any:
    sandbox.faults("mailchimp").reset()
    mailchimp = sandbox.app("mailchimp").state
    mailchimp.reset()
    return mailchimp


@pytest.fixture
def environ(sandbox: SandboxServer) -> dict[str, str]:
    return {"MAILCHIMP_API_KEY": sandbox.app("mailchimp").credentials["api_key"]}


@pytest.fixture
def store(settings: Settings, inventory: Path) -> Iterator[Runtime]:
    runtime = Runtime.open(settings.model_copy(update={"inventory": inventory}), migrate=False)
    try:
        yield runtime
    finally:
        runtime.close()


def _subscribed(state: Any) -> str:
    """Someone subscribed in the main audience, and in the other one when they are in it."""
    for audience in state.audiences.values():
        for member in audience.members.values():
            where = state.where(member.email_address)
            if all(m.status == "subscribed" for m in where.values()):
                return str(member.email_address)
    raise AssertionError("the sandbox has nobody subscribed")


async def test_pending_addresses_are_unsubscribed_everywhere(
    store: Runtime, state: Any, environ: dict[str, str]
) -> None:
    reader = _subscribed(state)
    suppress(store, reader.upper(), source="one_click", actor="subscriber")
    suppress(store, NEWCOMER, source="admin", actor="cli")
    before = state.snapshot()["members"]

    report = await sync_due(store, environ=environ)

    assert (report.synced, report.retrying, report.failed, report.pending) == (2, 0, 0, 0)
    assert report.systems == ("mailchimp",)
    assert report.problem is None
    assert {m.status for m in state.where(reader).values()} == {"unsubscribed"}
    [added] = state.where(NEWCOMER).values()  # added where it was missing, unsubscribed
    assert added.status == "unsubscribed"
    assert all(
        r.sync_status == "synced" and r.synced_at and r.sync_error is None for r in rows(store)
    )
    synced = [e for e in audit_entries(store) if e.action == "suppression.synced"]
    assert len(synced) == 2
    assert all(e.actor == "system:suppression-sync" for e in synced)
    # Nobody else was touched.
    after = state.snapshot()["members"]
    others = {
        k for k in before if not k.endswith(tuple(m.id for m in state.where(reader).values()))
    }
    assert {k: before[k] for k in others} == {k: after[k] for k in others}
    # Nothing left: the next run does nothing at all.
    assert await sync_due(store, environ=environ) == type(report)()


async def test_webhook_rows_are_not_pushed_back(
    store: Runtime, state: Any, environ: dict[str, str]
) -> None:
    suppress(store, NEWCOMER, source="webhook", actor="webhook:mailchimp", synced=True)
    report = await sync_due(store, environ=environ)
    assert report.synced == 0
    assert state.where(NEWCOMER) == {}


async def test_a_transient_fault_is_retried_after_the_backoff(
    sandbox: SandboxServer, store: Runtime, state: Any, environ: dict[str, str]
) -> None:
    reader = _subscribed(state)
    suppress(store, reader, source="one_click", actor="subscriber")
    suppress(store, NEWCOMER, source="one_click", actor="subscriber")
    sandbox.faults("mailchimp").fail_next(429, times=1, retry_after="120")
    started = utcnow()

    report = await sync_due(store, environ=environ)

    assert (report.synced, report.retrying, report.failed) == (0, 1, 0)
    assert report.problem
    assert "429" in report.problem
    first = rows(store)[0]
    assert (first.sync_status, first.sync_attempts) == ("pending", 1)
    assert first.sync_error
    assert "429" in first.sync_error
    assert first.next_sync_at is not None
    assert first.next_sync_at >= started + timedelta(seconds=120)  # Retry-After honoured
    assert rows(store)[1].sync_attempts == 0  # not tried in the stopped batch
    assert {m.status for m in state.where(reader).values()} == {"subscribed"}

    # Before its time the first address waits; the second goes.
    early = await sync_due(store, environ=environ)
    assert (early.synced, early.pending) == (1, 1)
    later = await sync_due(store, environ=environ, now=first.next_sync_at + timedelta(seconds=1))
    assert (later.synced, later.pending) == (1, 0)
    assert {m.status for m in state.where(reader).values()} == {"unsubscribed"}
    assert rows(store)[0].sync_error is None


async def test_a_fatal_answer_is_recorded_and_retried_only_when_asked(
    store: Runtime, state: Any, environ: dict[str, str]
) -> None:
    suppress(store, NEWCOMER, source="one_click", actor="subscriber")
    report = await sync_due(store, environ={"MAILCHIMP_API_KEY": "0123456789abcdef-us6"})
    assert (report.synced, report.failed) == (0, 1)
    [row] = rows(store)
    assert row.sync_status == "failed"
    assert row.sync_error
    assert "401" in row.sync_error
    [failed] = [e for e in audit_entries(store) if e.action == "suppression.sync_failed"]
    assert NEWCOMER not in str(failed.details)
    # A failed address waits for an admin, even with the right key.
    assert (await sync_due(store, environ=environ)).synced == 0
    assert retry_failed(store) == 1
    assert (await sync_due(store, environ=environ)).synced == 1
    assert rows(store)[0].sync_status == "synced"
    assert [m.status for m in state.where(NEWCOMER).values()] == ["unsubscribed"]


async def test_a_missing_key_stops_the_run_and_leaves_every_address_pending(
    store: Runtime, state: Any
) -> None:
    suppress(store, NEWCOMER, source="one_click", actor="subscriber")
    report = await sync_due(store, environ={})
    assert report.problem
    assert "MAILCHIMP_API_KEY" in report.problem
    assert (report.synced, report.failed, report.pending) == (0, 0, 1)
    [row] = rows(store)
    assert (row.sync_status, row.sync_attempts) == ("pending", 0)


async def test_without_a_mailchimp_system_nothing_is_pushed(
    settings: Settings, tmp_path: Path, state: Any, environ: dict[str, str]
) -> None:
    data = yaml.safe_load(ASSEMBLE.read_text())
    for system in data["systems"]:
        if system["key"] == "mailchimp":
            del system["connector"]
    shutil.copy(ASSEMBLE.with_name("shop_dataset.yml"), tmp_path)
    path = tmp_path / "privacy.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    runtime = Runtime.open(settings.model_copy(update={"inventory": path}), migrate=False)
    try:
        suppress(runtime, NEWCOMER, source="admin", actor="cli")
        report = await sync_due(runtime, environ=environ)
    finally:
        runtime.close()
    assert report.problem
    assert "no system in the inventory has a mailchimp connector" in report.problem
    assert report.pending == 1


def test_the_app_pushes_in_the_background(
    store: Runtime, state: Any, environ: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    suppress(store, NEWCOMER, source="one_click", actor="subscriber")
    with TestClient(create_app(store.settings, runtime=store)):
        deadline = time.monotonic() + 20
        while rows(store)[0].sync_status != "synced":
            assert time.monotonic() < deadline, "the app did not push the address within 20 s"
            time.sleep(0.05)
    assert [m.status for m in state.where(NEWCOMER).values()] == ["unsubscribed"]
