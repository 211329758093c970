"""A system whose connector is not set up where personvern runs becomes a manual task.

The inventory names a connector's secrets (and, for vendors, API roots) by environment
variable (``username_env: WORDPRESS_USERNAME``). Where *none* of a connector's variables is
set, that system is simply not connected in this installation — the demo has no WordPress,
a shop may not have made a Mailchimp key yet — and failing the whole request would block
every other system's answer. So the executor turns the step into a manual task, with the
reason and the variables to set, like a system without a connector (GDPR Art. 12(3): the
request is still answered within the month). A connector with *some* of its variables set
is a broken configuration instead, and fails with the registry's message naming the missing
one, for an admin to fix.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from personvern.connectors.registry import required_variables
from personvern.dsr.drafts import manual_task
from personvern.dsr.plan import PlannedStep, request_facts
from personvern.i18n import LANGUAGES, N_, translator
from personvern.inventory.schema import Inventory
from personvern.store.requests import DataRequest

_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")  # as the registry resolves them

_MISSING = N_("Set %(variables)s where personvern runs to let personvern do this.")


class NotConfigured(Exception):
    """None of the connector's environment variables is set; it names them."""

    def __init__(self, connector: str, variables: list[str]) -> None:
        super().__init__(
            f"the {connector} connector is not set up here: none of {', '.join(variables)} is set"
        )
        self.variables = variables


def unset_variables(settings: Mapping[str, Any], environ: Mapping[str, str]) -> list[str] | None:
    """The variables a connector's settings need (those with no written default), when not
    one of them is set; else None."""
    names = required_variables(settings)
    if names and not any(name in environ for name in names):
        return names
    return None


def manual_plan(
    inventory: Inventory,
    request: DataRequest,
    step: PlannedStep,
    variables: list[str],
) -> PlannedStep:
    """``step`` as a manual task: the reason says the connector is not set up, and how to."""
    system = inventory.system(step.system_key)
    task = manual_task(
        inventory, system, request_facts(request), step.action, "not_configured", holds=step.holds
    )
    names = ", ".join(variables)
    reason_text = {
        lang: task.reason_text[lang]
        + " "
        + translator(lang).gettext(_MISSING) % {"variables": names}
        for lang in LANGUAGES
    }
    return dataclasses.replace(
        step,
        connector=None,
        disposition="manual",
        erasure=None,
        manual=dataclasses.replace(task, reason_text=reason_text),
    )
