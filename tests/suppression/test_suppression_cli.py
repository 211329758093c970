"""``personvern suppression``, run as a real process against a real store."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from suppression_support import audit_entries, rows

from personvern.runtime import Runtime
from personvern.settings import Settings


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "personvern", "suppression", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.delenv("MAILCHIMP_API_KEY", raising=False)  # the sync must not find it
    return {
        "PERSONVERN_DATABASE_URL": settings.resolved_database_url(),
        "PERSONVERN_DATA_DIR": str(settings.data_dir),
        "PERSONVERN_SECRET_KEY": settings.secret_bytes().decode(),
        "PERSONVERN_INVENTORY": str(settings.inventory),
    }


def test_add_list_remove(runtime: Runtime, env: dict[str, str]) -> None:
    added = run("add", "Tone.Berg@Example.no", env=env)
    assert added.returncode == 0, added.stderr
    assert "added" in added.stdout
    assert "already" in run("add", "tone.berg@example.no", env=env).stdout
    bad = run("add", "not-an-address", env=env)
    assert bad.returncode == 2
    assert "valid e-mail address" in bad.stderr

    listed = run("list", env=env)
    assert "admin" in listed.stdout
    assert "tone.berg@example.no" in listed.stdout
    assert "pending" in listed.stdout
    assert run("list", "--status", "synced", env=env).stdout.strip() == "none synced"
    assert run("list", "--status", "sideways", env=env).returncode == 2

    assert [r.source for r in rows(runtime)] == ["admin"]
    assert run("remove", "TONE.BERG@example.no", env=env).returncode == 0
    assert run("remove", "tone.berg@example.no", env=env).returncode == 1
    assert rows(runtime) == []
    assert [e.action for e in audit_entries(runtime)] == [
        "suppression.added",
        "suppression.removed",
    ]
    assert all(e.actor == "cli" for e in audit_entries(runtime))


def test_sync_says_why_nothing_was_pushed(runtime: Runtime, env: dict[str, str]) -> None:
    assert run("sync", env=env).stdout.strip().startswith("synced 0")  # nothing pending
    run("add", "tone.berg@example.no", env=env)
    result = run("sync", env=env)
    assert result.returncode == 1
    assert "MAILCHIMP_API_KEY" in result.stdout
    assert "pending 1" in result.stdout
    assert rows(runtime)[0].sync_status == "pending"
