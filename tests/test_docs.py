"""Every CLI command and every setting is documented; these tests fail when one is not."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import typer

from personvern.cli import app
from personvern.runtime import Runtime
from personvern.settings import Settings

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _commands(group: Any, prefix: str) -> list[str]:
    out: list[str] = []
    for name, command in group.commands.items():
        path = f"{prefix} {name}"
        if hasattr(command, "commands"):
            out.extend(_commands(command, path))
        else:
            out.append(path)
    return out


def test_every_cli_command_has_a_section_in_docs_cli() -> None:
    root = typer.main.get_command(app)
    commands = _commands(root, "personvern")
    assert "personvern check" in commands
    headings = set(re.findall(r"^## (personvern[\w -]+?)\s*$", (DOCS / "cli.md").read_text(), re.M))
    missing = sorted(set(commands) - headings)
    assert missing == [], f"document these commands in docs/cli.md: {missing}"
    stale = sorted(headings - set(commands))
    assert stale == [], f"docs/cli.md describes commands that do not exist: {stale}"


def test_every_setting_is_documented() -> None:
    text = (DOCS / "settings.md").read_text()
    for name in Settings.model_fields:
        assert f"`PERSONVERN_{name.upper()}`" in text, f"document PERSONVERN_{name.upper()}"


def test_every_http_endpoint_is_documented(runtime: Runtime, settings: Settings) -> None:
    from fastapi.routing import APIRoute
    from starlette.routing import Mount

    from personvern.web.app import create_app

    text = (DOCS / "http.md").read_text()
    app = create_app(settings, runtime=runtime)
    missing = []
    for route in app.routes:
        if isinstance(route, APIRoute):
            for method in sorted(route.methods - {"HEAD"}):
                if f"`{method} {route.path}`" not in text:
                    missing.append(f"{method} {route.path}")
        elif isinstance(route, Mount):
            if f"`GET {route.path}/…`" not in text:
                missing.append(f"GET {route.path}/…")
        elif getattr(route, "path", None) and f" {route.path}`" not in text:
            missing.append(str(route.path))
    assert missing == [], f"document these endpoints in docs/http.md: {missing}"
