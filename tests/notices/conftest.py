"""Fixtures for the notices: a fixed inventory and the shipped example inventory.

``assemble`` is ``fixtures/assemble.yaml``, kept for these tests so the golden files change
only when the notices do; ``example`` is examples/assemble/privacy.yaml, loaded as the CLI
loads it.
"""

from __future__ import annotations

import pytest
import yaml
from notices_support import EXAMPLE, FIXTURES

from personvern.inventory.schema import Inventory


@pytest.fixture(autouse=True)
def _once(backend: str) -> None:
    # Nothing here touches the store: run in the SQLite pass only.
    if backend != "sqlite":
        pytest.skip("does not depend on the store; checked in the SQLite pass")


@pytest.fixture(scope="session")
def assemble() -> Inventory:
    data = yaml.safe_load((FIXTURES / "assemble.yaml").read_text(encoding="utf-8"))
    return Inventory.model_validate(data)


@pytest.fixture(scope="session")
def example() -> Inventory:
    from personvern.inventory.loader import require_inventory

    return require_inventory(EXAMPLE)
