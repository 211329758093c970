"""Which erasure steps wait for which: ``erase_before`` in a system's connector settings.

Steps of a request run concurrently (issue 5: a request takes about as long as its slowest
system). One exception: a connector that finds the person *through another system* before
erasing — Google Analytics maps the address to its user id (the shop's customer number) in
the shop's database — must run before that system's erasure removes what it looks for.
The system says so in its settings::

    connector:
      type: google_analytics
      settings:
        erase_before: [woocommerce]

and the woocommerce step of an erasure then waits until the google_analytics step has
finished (done, skipped, failed or waiting for a person). Only erasures are ordered;
access and the other kinds change nothing another step looks up.
"""

from __future__ import annotations

from collections.abc import Sequence

from personvern.dsr.holds import ERASE_BEFORE_SETTING
from personvern.dsr.progress import StepView
from personvern.runtime import Runtime


def erase_order(runtime: Runtime, kind: str, steps: Sequence[StepView]) -> dict[int, set[int]]:
    """Step id → the ids of the steps it must wait for; empty unless ``kind`` is erase."""
    if kind != "erase":
        return {}
    inventory = runtime.inventory()
    by_system = {s.system_key: s for s in steps}
    blockers: dict[int, set[int]] = {}
    for step in steps:
        try:
            ref = inventory.system(step.system_key).connector
        except KeyError:
            continue
        before = ref.settings.get(ERASE_BEFORE_SETTING, []) if ref is not None else []
        for key in before if isinstance(before, list) else [before]:
            later = by_system.get(str(key))
            if later is not None and later.id != step.id:
                blockers.setdefault(later.id, set()).add(step.id)
    return blockers
