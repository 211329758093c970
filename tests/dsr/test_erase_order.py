"""``erase_before``: which erasure steps wait for which (personvern.dsr.ordering)."""

from __future__ import annotations

import pytest

from personvern.dsr.ordering import erase_order
from personvern.dsr.progress import StepView
from personvern.runtime import Runtime

SYSTEMS = ("woocommerce", "google_analytics", "mailchimp", "email")


def _steps(action: str) -> list[StepView]:
    return [
        StepView(i, "r", key, None, action, "pending", 0, None, {})
        for i, key in enumerate(SYSTEMS, start=1)
    ]


def test_the_shop_waits_for_google_analytics_in_an_erasure(runtime: Runtime) -> None:
    # The Assemble inventory: GA finds its user id in the shop, so it goes first.
    assert erase_order(runtime, "erase", _steps("erase")) == {1: {2}}


@pytest.mark.parametrize("kind", ["access", "rectify", "object", "restrict"])
def test_nothing_else_is_ordered(runtime: Runtime, kind: str) -> None:
    assert erase_order(runtime, kind, _steps("access")) == {}


def test_a_system_missing_from_the_request_orders_nothing(runtime: Runtime) -> None:
    only_shop = [s for s in _steps("erase") if s.system_key != "google_analytics"]
    assert erase_order(runtime, "erase", only_shop) == {}
