"""Shared by the notices tests: paths, the fixed version and date, and golden files.

Set ``PERSONVERN_UPDATE_GOLDEN=1`` to rewrite the golden files instead of comparing with
them, then review the diff.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"
GOLDEN = HERE / "golden"
EXAMPLE = HERE.parent.parent / "examples" / "assemble" / "privacy.yaml"
PUBLISHED = date(2025, 11, 25)
VERSION = "3"
KINDS = ("policy", "cookies", "records")
LANGS = ("nb", "en")


def compare_golden(name: str, actual: str) -> None:
    """Compare ``actual`` with ``golden/<name>``, or write it when updating golden files."""
    path = GOLDEN / name
    if os.environ.get("PERSONVERN_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    assert path.exists(), f"no golden file {path}; run with PERSONVERN_UPDATE_GOLDEN=1"
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, (
        f"{name} differs from its golden file; if the change is intended, "
        "run PERSONVERN_UPDATE_GOLDEN=1 pytest tests/notices and review the diff"
    )
