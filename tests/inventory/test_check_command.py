"""``personvern check PATH``: directly through ``check_command``, and as a real process."""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from personvern.inventory.loader import check_command

PERSONVERN = Path(sys.executable).parent / "personvern"


def test_valid_inventory(tmp_path: Path, valid_yaml: str) -> None:
    path = tmp_path / "privacy.yaml"
    path.write_text(valid_yaml, encoding="utf-8")
    out = io.StringIO()

    code = check_command(path, out)

    assert code == 0
    assert out.getvalue() == (
        f"{path}: valid — 3 systems, 2 activities, 2 cookies, 2 retention rules, 1 site\n"
    )


def test_invalid_inventory(tmp_path: Path, broken: Callable[..., str]) -> None:
    path = tmp_path / "privacy.yaml"
    path.write_text(
        broken("kind: internal", "kind: intern", "retention: analytics", "retention: x")
    )
    out = io.StringIO()

    code = check_command(path, out)

    assert code == 1
    lines = out.getvalue().splitlines()
    assert lines[0].startswith(f"{path}:19:11: error: 'intern' is not a valid 'kind'")
    assert lines[1].startswith(f"{path}:80:16: error: activity 'analytics' uses retention")
    assert lines[2] == f"{path}: 2 problems"


def test_missing_file(tmp_path: Path) -> None:
    out = io.StringIO()

    assert check_command(tmp_path / "privacy.yaml", out) == 1
    assert out.getvalue().endswith(": 1 problem\n")


def test_check_writes_nothing(tmp_path: Path, valid_yaml: str) -> None:
    (tmp_path / "privacy.yaml").write_text(valid_yaml, encoding="utf-8")

    check_command(tmp_path / "privacy.yaml", io.StringIO())

    assert [p.name for p in tmp_path.iterdir()] == ["privacy.yaml"]


@pytest.mark.skipif(not PERSONVERN.exists(), reason="the personvern script is not installed")
def test_the_command(tmp_path: Path, valid_yaml: str, broken: Callable[..., str]) -> None:
    (tmp_path / "good.yaml").write_text(valid_yaml, encoding="utf-8")
    (tmp_path / "bad.yaml").write_text(broken("lifetime: P2Y", "lifetime: 2y"), encoding="utf-8")

    good = subprocess.run(
        [str(PERSONVERN), "check", "good.yaml"], cwd=tmp_path, capture_output=True, text=True
    )
    bad = subprocess.run(
        [str(PERSONVERN), "check", "bad.yaml"], cwd=tmp_path, capture_output=True, text=True
    )

    assert (good.returncode, good.stdout) == (
        0,
        "good.yaml: valid — 3 systems, 2 activities, 2 cookies, 2 retention rules, 1 site\n",
    )
    assert bad.returncode == 1
    assert bad.stdout == (
        "bad.yaml:94:15: error: '2y' is not a duration (hint: write ISO 8601 such as P2Y, P13M, "
        "P30D or PT30M, or 'session' for a cookie that ends with the browser session)\n"
        "bad.yaml: 1 problem\n"
    )
