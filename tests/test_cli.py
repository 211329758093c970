"""The ``personvern`` command, run as a real process against a real store."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from personvern.runtime import Runtime
from personvern.settings import Settings


def run(
    *args: str, env: dict[str, str], stdin: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "personvern", *args],
        env={**os.environ, **env},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
    )


@pytest.fixture
def env(settings: Settings) -> dict[str, str]:
    return {
        "PERSONVERN_DATABASE_URL": settings.resolved_database_url(),
        "PERSONVERN_DATA_DIR": str(settings.data_dir),
        "PERSONVERN_SECRET_KEY": settings.secret_bytes().decode(),
        "PERSONVERN_INVENTORY": str(settings.inventory),
    }


def test_version() -> None:
    result = run("--version", env={})
    assert result.returncode == 0
    assert result.stdout.startswith("personvern ")


def test_config_show_masks_secrets(env: dict[str, str]) -> None:
    env = {
        **env,
        "PERSONVERN_DATABASE_URL": "postgresql://shop:hunter2hunter2@db.example/shop",
        "PERSONVERN_SECRET_KEY": "very-secret-value-123",
    }
    result = run("config", "show", env=env)
    assert result.returncode == 0, result.stderr
    assert "hunter2hunter2" not in result.stdout
    assert "very-secret-value-123" not in result.stdout
    assert "PERSONVERN_SECRET_KEY" in result.stdout
    assert "********" in result.stdout
    as_json = run("config", "show", "--json", env=env)
    assert '"secret_key": "********"' in as_json.stdout


def test_bad_setting_is_named(env: dict[str, str]) -> None:
    result = run("config", "show", env={**env, "PERSONVERN_SESSION_HOURS": "forever"})
    assert result.returncode == 1
    assert "session_hours" in result.stderr


def test_db_upgrade_is_idempotent(env: dict[str, str]) -> None:
    result = run("db", "upgrade", env=env)
    assert result.returncode == 0, result.stderr
    assert "already at revision" in result.stdout
    current = run("db", "current", env=env)
    lines = current.stdout.splitlines()
    assert lines[0].split()[-1] == lines[1].split()[-1]


def test_db_upgrade_creates_a_new_sqlite_store(tmp_path: Path) -> None:
    env = {"PERSONVERN_DATA_DIR": str(tmp_path / "fresh"), "PERSONVERN_DATABASE_URL": ""}
    result = run("db", "upgrade", env=env)
    assert result.returncode == 0, result.stderr
    assert "upgraded from empty" in result.stdout
    assert (tmp_path / "fresh" / "personvern.sqlite3").exists()


def test_audit_verify_exit_codes(runtime: Runtime, env: dict[str, str]) -> None:
    for i in range(3):
        runtime.audit.record(actor="test", action="tick", details={"i": i})
    ok = run("audit", "verify", env=env)
    assert ok.returncode == 0, ok.stderr
    assert "intact: 3 entries" in ok.stdout
    head = run("audit", "head", env=env).stdout.strip()
    assert head.startswith("3:")
    assert run("audit", "verify", "--expect-head", head, env=env).returncode == 0

    with runtime.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_entries DISABLE TRIGGER USER"))
        else:
            conn.execute(text("DROP TRIGGER audit_entries_no_update"))
        conn.execute(text("UPDATE audit_entries SET action = 'tock' WHERE seq = 2"))
    broken = run("audit", "verify", env=env)
    assert broken.returncode == 1
    assert "broken at entry #2" in broken.stdout


def test_admin_create_user_reads_the_password_from_stdin(
    runtime: Runtime, env: dict[str, str]
) -> None:
    from personvern.web.admin.users import find_user

    result = run(
        "admin",
        "create-user",
        "Eier@Assemble.no",
        "--role",
        "admin",
        env=env,
        stdin="correct horse battery staple\n",
    )
    assert result.returncode == 0, result.stderr
    user = find_user(runtime, "eier@assemble.no")
    assert user is not None
    assert user.role == "admin"
    assert "correct horse" not in user.password_hash

    again = run(
        "admin", "create-user", "eier@assemble.no", env=env, stdin="another long password\n"
    )
    assert again.returncode == 1
    assert "already" in again.stderr

    short = run("admin", "create-user", "x@assemble.no", env=env, stdin="short\n")
    assert short.returncode == 1
    assert "12" in short.stderr
    assert find_user(runtime, "x@assemble.no") is None


def test_demo_sets_up_and_reuses(tmp_path: Path) -> None:
    env = {"PERSONVERN_DATABASE_URL": "", "PERSONVERN_SECRET_KEY": "", "PERSONVERN_INVENTORY": ""}
    first = run("demo", "--dir", str(tmp_path / "demo"), "--no-serve", "--customers", "50", env=env)
    assert first.returncode == 0, first.stderr
    assert "copied the Assemble example's privacy.yaml" in first.stdout
    assert "shop: built 50 customers" in first.stdout
    assert (tmp_path / "demo" / "shop_dataset.yml").exists()
    assert "one-time password" in first.stdout
    assert (tmp_path / "demo" / "personvern.sqlite3").exists()
    assert (tmp_path / "demo" / "secret.key").stat().st_mode & 0o077 == 0
    second = run("demo", "--dir", str(tmp_path / "demo"), "--no-serve", env=env)
    assert second.returncode == 0, second.stderr
    assert "using" in second.stdout
    assert "reusing the shop database" in second.stdout
    password = second.stdout.split("one-time password (new on every demo start): ")[1].split()[0]
    assert password not in first.stdout


ROOT = Path(__file__).resolve().parent.parent
ASSEMBLE = ROOT / "examples" / "assemble" / "privacy.yaml"
SEED = ROOT / "tests" / "notices" / "fixtures" / "seed_nb.txt"


def test_notice_renders_and_the_linter_passes_it(tmp_path: Path) -> None:
    for lang in ("nb", "en"):
        out = tmp_path / f"policy.{lang}.html"
        made = run(
            "notice",
            "--inventory",
            str(ASSEMBLE),
            "--kind",
            "policy",
            "--lang",
            lang,
            "--format",
            "html",
            "--output",
            str(out),
            env={},
        )
        assert made.returncode == 0, made.stderr
        assert f'<html lang="{lang}">' in out.read_text()
        linted = run("lint-notice", str(out), "--lang", lang, env={})
        assert linted.returncode == 0, linted.stdout
    md = run("notice", "--inventory", str(ASSEMBLE), "--kind", "records", "--format", "md", env={})
    assert md.returncode == 0
    assert "Assemble Prosjekt AS" in md.stdout
    pdf = tmp_path / "cookies.pdf"
    made = run(
        "notice",
        "--inventory",
        str(ASSEMBLE),
        "--kind",
        "cookies",
        "--format",
        "pdf",
        "--output",
        str(pdf),
        env={},
    )
    assert made.returncode == 0, made.stderr
    assert pdf.read_bytes().startswith(b"%PDF")


def test_notice_rejects_bad_options_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "x.html"
    bad = run(
        "notice", "--inventory", str(ASSEMBLE), "--kind", "menu", "--output", str(out), env={}
    )
    assert bad.returncode == 1
    assert "--kind must be one of policy, cookies, records" in bad.stderr
    assert not out.exists()
    missing = run("notice", "--inventory", str(tmp_path / "none.yaml"), env={})
    assert missing.returncode == 1
    assert "none.yaml" in missing.stderr


def test_lint_notice_on_the_seed_fails_and_explains(tmp_path: Path) -> None:
    result = run("lint-notice", str(SEED), "--lang", "nb", "--json", env={})
    assert result.returncode == 1
    import json

    report = json.loads(result.stdout)
    statuses = {item["id"]: item["status"] for item in report["items"]}
    assert "wrong" in statuses.values()
    assert "covered" in statuses.values()
    assert "missing" in statuses.values()
    neither = run("lint-notice", env={})
    assert neither.returncode == 1
    assert "either a notice FILE or --inventory" in neither.stderr
