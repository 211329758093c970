"""``personvern request …`` and ``personvern admin create-token``, run as real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from request_support import messages

from personvern.dsr import requests as lifecycle
from personvern.runtime import Runtime
from personvern.settings import Settings

KARI = "kari.nordmann@example.no"


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "personvern", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def env(settings: Settings) -> dict[str, str]:
    return {
        "PERSONVERN_DATABASE_URL": settings.resolved_database_url(),
        "PERSONVERN_DATA_DIR": str(settings.data_dir),
        "PERSONVERN_SECRET_KEY": settings.secret_bytes().decode(),
        "PERSONVERN_INVENTORY": str(settings.inventory),
    }


def test_create_prints_the_id_and_sends_the_link(env: dict[str, str], runtime: Runtime) -> None:
    result = run("request", "create", "access", "--email", KARI, "--name", "Kari", env=env)
    assert result.returncode == 0, result.stderr
    request_id = result.stdout.strip()
    request = lifecycle.get(runtime, request_id)
    assert request.channel == "cli"
    assert request.status == "unverified"
    assert request.name == "Kari"
    [mail] = messages(runtime, "verify")
    assert mail.to_address == KARI


def test_create_verified_starts_it(env: dict[str, str], runtime: Runtime) -> None:
    result = run(
        "request",
        "create",
        "erase",
        "--email",
        KARI,
        "--lang",
        "en",
        "--verified",
        "--note",
        "Signed letter, address matches the customer record.",
        env=env,
    )
    assert result.returncode == 0, result.stderr
    request = lifecycle.get(runtime, result.stdout.strip())
    assert request.verified_at is not None
    assert request.lang == "en"
    assert request.status in {"running", "waiting", "completed"}
    assert messages(runtime, "verify") == []


def test_create_rectification_with_changes(env: dict[str, str], runtime: Runtime) -> None:
    result = run(
        "request",
        "create",
        "rectify",
        "--email",
        KARI,
        "--verified",
        "--change",
        "phone=+47 911 22 333",
        "--change",
        "name=Kari N.",
        env=env,
    )
    assert result.returncode == 0, result.stderr
    request = lifecycle.get(runtime, result.stdout.strip())
    assert lifecycle.changes_of(request) == {"phone": "+47 911 22 333", "name": "Kari N."}
    assert request.status == "awaiting_approval"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["delete", "--email", KARI], "Unknown kind of request"),
        (["access", "--email", "kari"], "--email: That is not an e-mail address"),
        (["access", "--email", KARI, "--lang", "sv"], "--lang: Unknown language"),
        (["access", "--email", KARI, "--note", "hello there"], "needs --verified"),
        (["rectify", "--email", KARI, "--change", "phone"], "FIELD=VALUE"),
    ],
)
def test_bad_input_exits_1_and_writes_nothing(
    env: dict[str, str], runtime: Runtime, args: list[str], message: str
) -> None:
    result = run("request", "create", *args, env=env)
    assert result.returncode == 1
    assert message in result.stderr
    assert messages(runtime) == []


def test_show_and_list(env: dict[str, str], runtime: Runtime) -> None:
    request_id = run(
        "request", "create", "object", "--email", KARI, "--verified", env=env
    ).stdout.strip()
    other = run("request", "create", "access", "--email", "ola@example.no", env=env).stdout.strip()
    shown = run("request", "show", request_id, env=env)
    assert shown.returncode == 0, shown.stderr
    assert f"request   {request_id}" in shown.stdout
    assert "kind      object" in shown.stdout
    assert KARI in shown.stdout
    assert "request.received" in shown.stdout
    as_json = json.loads(run("request", "show", request_id, "--json", env=env).stdout)
    assert as_json["id"] == request_id
    assert as_json["kind"] == "object"
    assert as_json["verification"]["channel"] == "cli"
    assert {e["action"] for e in as_json["audit"]} >= {"request.received", "request.verified"}
    listed = run("request", "list", env=env)
    assert listed.returncode == 0
    lines = listed.stdout.strip().splitlines()
    assert len(lines) == 2
    assert any(line.startswith(request_id) for line in lines)
    assert any(line.startswith(other) for line in lines)
    unverified = json.loads(
        run("request", "list", "--status", "unverified", "--json", env=env).stdout
    )
    assert [r["id"] for r in unverified] == [other]
    bad = run("request", "list", "--status", "sleeping", env=env)
    assert bad.returncode == 1
    assert "unknown status" in bad.stderr


def test_unknown_ids_exit_1(env: dict[str, str], tmp_path: Path) -> None:
    for command in (["show"], ["run"], ["report", "--output", str(tmp_path)]):
        result = run(
            "request", *command[:1], "00000000-0000-4000-8000-000000000000", *command[1:], env=env
        )
        assert result.returncode == 1
        assert "error:" in result.stderr


def test_run_wait(env: dict[str, str], runtime: Runtime) -> None:
    request_id = run(
        "request", "create", "access", "--email", KARI, "--verified", env=env
    ).stdout.strip()
    result = run("request", "run", request_id, "--wait", env=env)
    assert result.returncode == 0, result.stderr
    status = result.stdout.split()[-1]
    assert status in {"completed", "waiting", "failed"}
    assert lifecycle.get(runtime, request_id).status == status


def test_run_needs_approval_first(env: dict[str, str], runtime: Runtime) -> None:
    request_id = run(
        "request",
        "create",
        "rectify",
        "--email",
        KARI,
        "--verified",
        "--change",
        "name=Kari",
        env=env,
    ).stdout.strip()
    refused = run("request", "run", request_id, env=env)
    assert refused.returncode == 1
    assert "--approve" in refused.stderr
    approved = run("request", "run", request_id, "--approve", "--wait", env=env)
    assert approved.returncode == 0, approved.stderr
    assert lifecycle.get(runtime, request_id).approved_by == "cli"


def test_run_refuses_an_unverified_request(env: dict[str, str]) -> None:
    request_id = run("request", "create", "access", "--email", KARI, env=env).stdout.strip()
    result = run("request", "run", request_id, env=env)
    assert result.returncode == 1
    assert "unverified" in result.stderr


def test_report_without_or_with_reports(env: dict[str, str], tmp_path: Path) -> None:
    request_id = run(
        "request", "create", "access", "--email", KARI, "--verified", env=env
    ).stdout.strip()
    result = run("request", "report", request_id, "--output", str(tmp_path / "out"), env=env)
    try:
        import personvern.dsr.reports  # noqa: F401
    except ImportError:
        assert result.returncode == 1
        assert "reports are not part of this installation" in result.stderr
    else:
        assert "Traceback" not in result.stderr


def test_expire(env: dict[str, str]) -> None:
    result = run("request", "expire", env=env)
    assert result.returncode == 0
    assert result.stdout.strip() == "expired 0 unverified requests"


def test_create_and_revoke_a_token(env: dict[str, str]) -> None:
    made = run("admin", "create-token", "nettbutikk", env=env)
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip().startswith("pvt_")
    again = run("admin", "create-token", "nettbutikk", env=env)
    assert again.returncode == 1
    assert "exists already" in again.stderr
    assert run("admin", "revoke-token", "nettbutikk", env=env).returncode == 0
    assert run("admin", "revoke-token", "nettbutikk", env=env).returncode == 1
