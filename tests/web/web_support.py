"""Helpers shared by the web tests: sign in as a browser would, read a form's token, count
rows. (A module of its own, not conftest, so tests can import it.)"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from personvern.runtime import Runtime
from personvern.store.base import Base

HERE = Path(__file__).resolve().parent
SMALL_INVENTORY = HERE / "small_privacy.yaml"

ADMIN_EMAIL = "eier@assemble.no"
ADMIN_PASSWORD = "korrekt hest batteri stift"
VIEWER_EMAIL = "regnskap@assemble.no"
VIEWER_PASSWORD = "en annen lang passordfrase"

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    """The CSRF token of the (first) form on a page."""
    match = _CSRF.search(html)
    assert match, "the page has no form with a csrf_token"
    return match.group(1)


def sign_in(client: TestClient, email: str, password: str, *, next_path: str | None = None) -> Any:
    """Open the sign-in form and post it, as a browser would; returns the POST's response."""
    form = client.get("/admin/login")
    assert form.status_code == 200, form.text
    data = {"email": email, "password": password, "csrf_token": csrf_from(form.text)}
    if next_path is not None:
        data["next"] = next_path
    return client.post("/admin/login", data=data, follow_redirects=False)


def count(runtime: Runtime, table: type[Base]) -> int:
    with runtime.sessions() as db:
        return int(db.scalar(select(func.count()).select_from(table)) or 0)
