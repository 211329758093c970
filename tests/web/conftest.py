"""Fixtures for the web app: the real app on the test's own store, driven over HTTP.

``client`` is a TestClient on a real app (``create_app``) with the ``runtime`` fixture's
store — SQLite or PostgreSQL, whichever the run is on. ``make_client`` builds another app
with changed settings (smaller limits, another inventory) on the same store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from web_support import ADMIN_EMAIL, ADMIN_PASSWORD, VIEWER_EMAIL, VIEWER_PASSWORD

from personvern.runtime import Runtime
from personvern.settings import Settings
from personvern.web.admin.users import create_user
from personvern.web.app import create_app


@pytest.fixture
def app(settings: Settings, runtime: Runtime) -> FastAPI:
    return create_app(settings, runtime=runtime)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def admin(runtime: Runtime) -> str:
    create_user(runtime, ADMIN_EMAIL, ADMIN_PASSWORD, "admin")
    return ADMIN_EMAIL


@pytest.fixture
def viewer(runtime: Runtime) -> str:
    create_user(runtime, VIEWER_EMAIL, VIEWER_PASSWORD, "viewer")
    return VIEWER_EMAIL


@pytest.fixture
def make_client(settings: Settings) -> Iterator[Callable[..., tuple[TestClient, Runtime]]]:
    """``make_client(base_url=..., **setting_overrides)``: another app on the same store."""
    with ExitStack() as stack:

        def make(
            base_url: str = "http://testserver", **overrides: Any
        ) -> tuple[TestClient, Runtime]:
            changed = settings.model_copy(update=overrides)
            runtime = Runtime.open(changed, migrate=False)
            stack.callback(runtime.close)
            test_client = TestClient(create_app(changed, runtime=runtime), base_url=base_url)
            stack.enter_context(test_client)
            return test_client, runtime

        yield make
