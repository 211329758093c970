"""The in-process runner (the app's, on SQLite) and the worker command's refusal on SQLite."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from jobs_support import run_async
from ledger_connector import LedgerConnector, create_ledger

from personvern.connectors.registry import ConnectorRegistry
from personvern.jobs import enqueue_request
from personvern.jobs.runner import job_runner
from personvern.runtime import Runtime
from personvern.settings import Settings
from personvern.store.requests import DataRequest, RequestStep

EMAIL = "ola.nordmann@example.no"
SYSTEMS = ["crm", "shop"]


@pytest.fixture
def setup(settings: Settings, tmp_path: Path, backend: str) -> Iterator[tuple[Runtime, Path]]:
    if backend != "sqlite":
        pytest.skip("the in-process runner runs on SQLite; PostgreSQL has personvern worker")
    ledger, gate = tmp_path / "ledger.sqlite3", tmp_path / "gate"
    create_ledger(ledger, SYSTEMS, EMAIL)
    systems = [
        {
            "key": key,
            "name": key,
            "kind": "internal",
            "role": "controller",
            "description": {"nb": "Et system.", "en": "A system."},
            "country": "NO",
            "data_categories": ["user.contact.email"],
            "connector": {
                "type": "ledger_test",
                "settings": {"ledger": str(ledger), "system": key, "gate": str(gate)},
            },
        }
        for key in SYSTEMS
    ]
    inventory = yaml.safe_load(
        (Path(__file__).resolve().parents[1] / "web" / "small_privacy.yaml").read_text()
    )
    inventory["systems"] = systems
    inventory["activities"] = [{**inventory["activities"][0], "systems": SYSTEMS}]
    inventory["cookies"] = []
    path = tmp_path / "privacy.yaml"
    path.write_text(yaml.safe_dump(inventory, allow_unicode=True))
    update = {"inventory": path, "jobs_poll_seconds": 0.05, "jobs_lease_seconds": 30}
    runtime = Runtime.open(settings.model_copy(update=update), migrate=False)
    try:
        yield runtime, gate
    finally:
        runtime.close()


def _request(runtime: Runtime) -> str:
    request_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    with runtime.sessions() as session, session.begin():
        session.add(
            DataRequest(
                id=request_id,
                kind="erase",
                status="verified",
                email=EMAIL,
                email_key=runtime.audit.subject_key(EMAIL),
                lang="nb",
                channel="admin",
                received_at=now,
                due_at=now + timedelta(days=30),
            )
        )
    return request_id


def _steps(runtime: Runtime, request_id: str) -> list[RequestStep]:
    with runtime.sessions() as session:
        return session.query(RequestStep).filter_by(request_id=request_id).all()


async def _until(check: Callable[[], bool], timeout: float = 20) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


def test_the_runner_picks_up_an_enqueued_request(setup: tuple[Runtime, Path]) -> None:
    async def scenario() -> None:
        runtime, gate = setup
        gate.touch()
        registry = ConnectorRegistry([LedgerConnector])
        request_id = _request(runtime)
        # On SQLite, enqueueing only marks the request due: the store is the queue.
        assert enqueue_request(runtime, request_id, registry=registry) == "running"
        async with job_runner(runtime, registry) as runner:
            assert runner is not None

            def completed() -> bool:
                with runtime.sessions() as session:
                    request = session.get(DataRequest, request_id)
                    return request is not None and request.status == "completed"

            await _until(completed)
        assert {(s.status, s.attempts) for s in _steps(runtime, request_id)} == {("done", 1)}

    run_async(scenario())


def test_a_stopping_runner_hands_its_steps_back_at_once(setup: tuple[Runtime, Path]) -> None:
    async def scenario() -> None:
        runtime, _ = setup  # the gate stays shut: the steps block mid-erasure
        registry = ConnectorRegistry([LedgerConnector])
        request_id = _request(runtime)
        enqueue_request(runtime, request_id, registry=registry)
        async with job_runner(runtime, registry):
            await _until(lambda: {s.status for s in _steps(runtime, request_id)} == {"running"})
        # Not left running until the 30 s lease lapses: pending again, due now.
        steps = _steps(runtime, request_id)
        assert {(s.status, s.attempts, s.next_attempt_at) for s in steps} == {("pending", 1, None)}

    run_async(scenario())


def test_personvern_worker_refuses_sqlite(settings: Settings, backend: str, tmp_path: Path) -> None:
    if backend != "sqlite":
        pytest.skip("about SQLite")
    env = {
        "PERSONVERN_DATABASE_URL": settings.resolved_database_url(),
        "PERSONVERN_DATA_DIR": str(tmp_path),
        "PERSONVERN_SECRET_KEY": "x" * 40,
        "PATH": "/usr/bin:/bin",
    }
    result = subprocess.run(
        [str(Path(sys.executable).parent / "personvern"), "worker"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "needs PostgreSQL" in result.stderr
