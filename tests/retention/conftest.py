"""Fixtures of the retention tests: a store whose inventory is retention_privacy.yaml."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from retention_support import INVENTORY, Memory

from personvern.runtime import Runtime
from personvern.settings import Settings


@pytest.fixture
def memory() -> Memory:
    return Memory()


@pytest.fixture
def small(settings: Settings) -> Iterator[Runtime]:
    """A runtime on the test's store with the small retention inventory."""
    rt = Runtime.open(settings.model_copy(update={"inventory": INVENTORY}), migrate=False)
    try:
        yield rt
    finally:
        rt.close()
