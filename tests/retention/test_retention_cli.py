"""``personvern retention plan|run|hold …`` on the demo shop, through the real command."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from retention_support import shop_inventory, shop_rows
from typer.testing import CliRunner

from personvern.cli import app
from personvern.demo.shop import build_shop
from personvern.retention import reports
from personvern.retention.holds import list_holds
from personvern.runtime import Runtime
from personvern.settings import Settings


@pytest.fixture(scope="module")
def template_shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli-shop") / "shop.sqlite3"
    build_shop(f"sqlite:///{path}", customers=40)
    return path


@pytest.fixture
def shop_url(template_shop: Path, tmp_path: Path) -> str:
    copy = tmp_path / "shop.sqlite3"
    shutil.copyfile(template_shop, copy)
    return f"sqlite:///{copy}"


@pytest.fixture
def env(settings: Settings, runtime: Runtime, shop_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "PERSONVERN_DATABASE_URL": settings.resolved_database_url(),
        "PERSONVERN_DATA_DIR": str(settings.data_dir),
        "PERSONVERN_SECRET_KEY": settings.secret_bytes().decode(),
        "PERSONVERN_INVENTORY": str(shop_inventory(tmp_path / "inventory")),
        "PERSONVERN_RETENTION_MAX_SHARE": "0.1",
        "SHOP_DATABASE_URL": shop_url,
    }


def invoke(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_plan_shows_what_would_go_and_changes_nothing(
    env: dict[str, str], runtime: Runtime, shop_url: str
) -> None:
    before = shop_rows(shop_url)
    code, out, err = invoke(env, "retention", "plan")
    assert code == 0, err
    assert "order_records:\n  woocommerce › orders (anonymize, before 2023-01-01)" in out
    assert "would anonymize" in out
    assert "held 0" in out
    assert "fields kept for other rules: order_number, created_at, billing_name" in out
    assert "sample: " in out
    assert "support_cases:" in out
    assert "people under a legal hold: none" in out
    assert shop_rows(shop_url) == before
    [run] = reports.recent_runs(runtime)
    assert run.dry_run
    assert run.trigger == "cli"
    assert len(run.rows) == 2
    assert f"report: run {run.id}" in out


def test_run_stops_for_a_large_share_until_confirmed(
    env: dict[str, str], runtime: Runtime, shop_url: str
) -> None:
    before = shop_rows(shop_url)
    code, out, err = invoke(env, "retention", "run", "--rule", "order_records")
    assert code == 2
    assert "confirm: would change" in out
    assert "run again with --confirm" in err
    assert shop_rows(shop_url) == before
    code, out, err = invoke(env, "retention", "run", "--rule", "order_records", "--confirm")
    assert code == 0, err
    assert "woocommerce › orders" in out
    assert "anonymized" in out
    assert "support_cases" not in out
    assert shop_rows(shop_url)["orders"] != before["orders"]
    assert shop_rows(shop_url)["support_tickets"] == before["support_tickets"]


def test_an_unknown_rule_is_named(env: dict[str, str]) -> None:
    code, _, err = invoke(env, "retention", "plan", "--rule", "order_record")
    assert code == 1
    assert "no retention rule 'order_record'" in err
    assert "order_records, support_cases" in err


def test_holds_are_added_listed_and_released(env: dict[str, str], runtime: Runtime) -> None:
    code, out, err = invoke(
        env,
        "retention",
        "hold",
        "add",
        "--email",
        "kari@example.no",
        "--reason",
        "Reklamasjon",
        "--until",
        "2099-06-30",
        "--dispute",
    )
    assert code == 0, err
    hold_id = int(out.strip())
    code, out, _ = invoke(env, "retention", "hold", "list")
    assert f"{hold_id}\tdispute\tkari@example.no\t" in out
    assert "until 2099-06-30" in out
    [hold] = list_holds(runtime)
    assert hold.until is not None
    assert hold.until.isoformat() == "2099-06-30T22:00:00+00:00"
    code, out, _ = invoke(env, "retention", "plan")
    assert "people under a legal hold: 1 (dispute)" in out
    code, out, _ = invoke(env, "retention", "hold", "release", str(hold_id))
    assert code == 0
    assert f"released hold {hold_id}" in out
    code, out, _ = invoke(env, "retention", "hold", "list")
    assert out.strip() == "no legal holds"
    code, out, _ = invoke(env, "retention", "hold", "list", "--all")
    assert "released" in out
    code, _, err = invoke(env, "retention", "hold", "release", str(hold_id))
    assert code == 1
    assert "already released" in err
    code, _, err = invoke(
        env,
        "retention",
        "hold",
        "add",
        "--email",
        "a@example.no",
        "--reason",
        "x",
        "--until",
        "30.06.2099",
    )
    assert code == 1
    assert "YYYY-MM-DD" in err
