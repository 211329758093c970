"""``kill -9`` mid-erasure: the request completes after a restart, every step run once to
completion, no finished step run again.

Real processes throughout. On SQLite the runner is ``python -m personvern.jobs run ID`` (what
``personvern request run ID --wait`` does); on PostgreSQL it is ``personvern worker`` taking
jobs from procrastinate. The connector is installed through an entry point, as a third
party's would be, and erases in a SQLite ledger the test reads: each call is written when it
starts and when it finishes, and the erasure is idempotent, so the ledger shows exactly how
often each system was called and how often its data was actually erased.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from ledger_connector import LedgerConnector, create_ledger
from pydantic import SecretStr

from personvern.connectors.registry import ConnectorRegistry
from personvern.runtime import Runtime
from personvern.settings import Settings
from personvern.store.requests import DataRequest, RequestStep

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
EMAIL = "ola.nordmann@example.no"
FAST = ["crm", "shop", "tickets"]
SLOW = "newsletter"
SECRET = "kill-test-secret-key-0123456789abcdefghijklmnop"
LEASE = 2  # seconds: how long a killed process's step stays reserved


def _inventory(path: Path, ledger: Path, gate: Path) -> Path:
    systems = []
    for key in [*FAST, SLOW]:
        settings: dict[str, Any] = {"ledger": str(ledger), "system": key}
        if key == SLOW:
            settings["gate"] = str(gate)
        systems.append(
            {
                "key": key,
                "name": f"System {key}",
                "kind": "internal",
                "role": "controller",
                "description": {"nb": "Et system.", "en": "A system."},
                "country": "NO",
                "data_categories": ["user.contact.email"],
                "connector": {"type": "ledger_test", "settings": settings},
            }
        )
    document = {
        "version": 1,
        "controller": {
            "name": "Strikkeloftet AS",
            "org_number": "923 609 016",
            "address": {"street": "Garnveien 3", "postal_code": "0150", "city": "Oslo"},
            "contacts": [{"purpose": "privacy", "email": "personvern@strikkeloftet.no"}],
            "no_dpo_statement": {"nb": "Ikke nødvendig.", "en": "Not required."},
        },
        "systems": systems,
        "activities": [
            {
                "key": "orders",
                "name": {"nb": "Ordrer", "en": "Orders"},
                "purpose": {"nb": "Levere varer.", "en": "Deliver goods."},
                "data_use": "essential.service",
                "legal_basis": {"article_6_1": "b"},
                "data_subjects": ["customer"],
                "data_categories": ["user.contact.email"],
                "systems": [*FAST, SLOW],
                "retention": "orders",
            }
        ],
        "retention": [
            {
                "key": "orders",
                "name": {"nb": "Ordrer", "en": "Orders"},
                "period": "P3Y",
                "counted_from": "order_completed",
                "action": "delete",
                "legal_ground": {"nb": "Avtalen.", "en": "The contract."},
            }
        ],
    }
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False))
    return path


class Scene:
    """The store, the ledger, the gate, and a way to start the process under test."""

    def __init__(self, database_url: str, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.ledger = tmp_path / "ledger.sqlite3"
        self.gate = tmp_path / "gate"
        create_ledger(self.ledger, [*FAST, SLOW], EMAIL)
        inventory = _inventory(tmp_path / "privacy.yaml", self.ledger, self.gate)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("PERSONVERN_")}
        self.env.update(
            PERSONVERN_DATABASE_URL=database_url,
            PERSONVERN_INVENTORY=str(inventory),
            PERSONVERN_SECRET_KEY=SECRET,
            PERSONVERN_DATA_DIR=str(tmp_path / "data"),
            PERSONVERN_JOBS_LEASE_SECONDS=str(LEASE),
            PERSONVERN_JOBS_POLL_SECONDS="0.2",
            PERSONVERN_JOBS_CONCURRENCY="8",
            PYTHONPATH=os.pathsep.join([str(self._install_connector()), str(HERE)]),
        )
        self.runtime = Runtime.open(
            Settings(
                data_dir=tmp_path / "data",
                database_url=database_url,
                inventory=inventory,
                secret_key=SecretStr(SECRET),
                jobs_lease_seconds=LEASE,
            ),
            migrate=False,
        )
        self.registry = ConnectorRegistry([LedgerConnector])
        self.request_id = self._request()

    def _install_connector(self) -> Path:
        """A distribution with an entry point, as ``pip install`` of a connector leaves."""
        site = self.tmp / "site"
        info = site / "ledger_test-1.0.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ledger-test\nVersion: 1.0\n")
        (info / "entry_points.txt").write_text(
            "[personvern.connectors]\nledger_test = ledger_connector:LedgerConnector\n"
        )
        return site

    def _request(self) -> str:
        request_id = str(uuid.uuid4())
        now = datetime.now(UTC)
        with self.runtime.sessions() as session, session.begin():
            session.add(
                DataRequest(
                    id=request_id,
                    kind="erase",
                    status="verified",
                    email=EMAIL,
                    email_key=self.runtime.audit.subject_key(EMAIL),
                    lang="nb",
                    channel="admin",
                    received_at=now,
                    due_at=now + timedelta(days=30),
                    verified_at=now,
                )
            )
        return request_id

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            list(args),
            env=self.env,
            cwd=self.tmp,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    # --- what the test reads ----------------------------------------------------------

    def steps(self) -> dict[str, RequestStep]:
        with self.runtime.sessions() as session:
            rows = session.query(RequestStep).filter_by(request_id=self.request_id).all()
            return {r.system_key: r for r in rows}

    def status(self) -> str:
        with self.runtime.sessions() as session:
            request = session.get(DataRequest, self.request_id)
            assert request is not None
            return request.status

    def calls(self) -> dict[str, list[tuple[int, int | None]]]:
        """Per system: (finished, applied) of every call the connector received."""
        out: dict[str, list[tuple[int, int | None]]] = {k: [] for k in [*FAST, SLOW]}
        with sqlite3.connect(self.ledger, timeout=30) as db:
            for system, finished, applied in db.execute(
                "SELECT system, finished, applied FROM calls ORDER BY id"
            ):
                out[system].append((finished, applied))
        return out

    def erased(self) -> dict[str, int]:
        with sqlite3.connect(self.ledger, timeout=30) as db:
            return dict(db.execute("SELECT system, erased FROM people").fetchall())

    def close(self) -> None:
        self.runtime.close()


@pytest.fixture
def scene(database_url: str, tmp_path: Path) -> Iterator[Scene]:
    made = Scene(database_url, tmp_path)
    try:
        yield made
    finally:
        made.close()


def wait_for(
    what: str, check: Callable[[], bool], process: subprocess.Popen[str], timeout: float = 60
) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if process.poll() is not None:
            out, err = process.communicate()
            pytest.fail(f"the process ended ({process.returncode}) before {what}:\n{out}\n{err}")
        if time.monotonic() > deadline:
            process.kill()
            out, err = process.communicate()
            pytest.fail(f"timed out waiting for {what}:\n{out}\n{err}")
        time.sleep(0.05)


def mid_erasure(scene: Scene) -> bool:
    """The fast steps are done and stored; the slow one has been called and is blocked."""
    steps = scene.steps()
    calls = scene.calls()
    return (
        len(steps) == 4
        and all(steps[k].status == "done" for k in FAST)
        and steps[SLOW].status == "running"
        and calls[SLOW] == [(0, None)]
    )


def kill(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    if process.stdout:
        process.stdout.close()
    if process.stderr:
        process.stderr.close()


def assert_every_step_ran_once_to_completion(scene: Scene) -> None:
    assert scene.status() == "completed"
    steps = scene.steps()
    assert {k: s.status for k, s in steps.items()} == dict.fromkeys([*FAST, SLOW], "done")
    # Finished steps were not run again: one attempt, one call each.
    for key in FAST:
        assert steps[key].attempts == 1
        assert scene.calls()[key] == [(1, 1)]
    # The killed attempt shows as started and never finished; the second one erased.
    assert steps[SLOW].attempts == 2
    assert scene.calls()[SLOW] == [(0, None), (1, 1)]
    # Every erasure effect applied exactly once.
    assert scene.erased() == dict.fromkeys([*FAST, SLOW], 1)
    results = {k: json.loads(s.result or "{}") for k, s in steps.items()}
    assert all(r["deleted"] == {"people": 1} for r in results.values())
    started = [
        json.loads(e.details)
        for e in scene.runtime.audit.entries()
        if e.action == "request.step.started" and json.loads(e.details)["system"] == SLOW
    ]
    assert [d["resumed"] for d in started] == [False, True]
    assert scene.runtime.audit.verify().ok


def test_kill_the_in_process_runner_mid_erasure_on_sqlite(scene: Scene, backend: str) -> None:
    if backend != "sqlite":
        pytest.skip("the in-process runner is SQLite's; PostgreSQL has personvern worker")
    run = [sys.executable, "-m", "personvern.jobs", "run", scene.request_id]
    first = scene.start(*run)
    wait_for("the slow step to be mid-erasure", lambda: mid_erasure(scene), first)
    kill(first)
    assert scene.status() == "running"
    scene.gate.touch()  # the slow system answers from now on
    second = scene.start(*run)
    out, err = second.communicate(timeout=90)
    assert second.returncode == 0, out + err
    assert out.strip() == "completed"
    assert_every_step_ran_once_to_completion(scene)


def test_kill_the_worker_mid_erasure_on_postgresql(scene: Scene, backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("personvern worker runs on PostgreSQL")
    from personvern.jobs import enqueue_request

    assert enqueue_request(scene.runtime, scene.request_id, registry=scene.registry) == "running"
    worker = [str(BIN / "personvern"), "worker", "--concurrency", "2"]
    first = scene.start(*worker, "--name", "first")
    wait_for("the slow step to be mid-erasure", lambda: mid_erasure(scene), first)
    kill(first)
    scene.gate.touch()
    second = scene.start(*worker, "--name", "second")
    try:
        wait_for("the request to complete", lambda: scene.status() == "completed", second)
    finally:
        second.send_signal(signal.SIGTERM)
        out, err = second.communicate(timeout=60)
    assert second.returncode == 0, out + err
    assert_every_step_ran_once_to_completion(scene)
    actors = {e.actor for e in scene.runtime.audit.entries() if e.action == "request.step.done"}
    assert actors == {"worker:first", "worker:second"}
