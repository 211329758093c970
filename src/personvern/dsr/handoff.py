"""Where the request lifecycle hands over to the planner and the executor.

The plan (:mod:`personvern.dsr.plan`), the executor (:mod:`personvern.dsr.executor`,
:mod:`personvern.dsr.control`) and the job layer (:mod:`personvern.jobs`) are imported here,
when they are needed, so importing the intake stays light (the CLI's ``--help``, the web
app's start) and a failure to plan shows as a request left ``verified`` for an admin, with
the reason in the log, rather than as a lost request.
"""

from __future__ import annotations

import logging
from pathlib import Path

from personvern.runtime import Runtime

log = logging.getLogger(__name__)


def plan(runtime: Runtime, request_id: str) -> bool:
    """Plan the request from the inventory (once; audited by the planner); ``False`` if not.

    A request that cannot be planned (no inventory, a bad ``holds`` setting) stays as it
    is; the admin sees it and ``personvern request run`` tries again.
    """
    from personvern.connectors.registry import ConnectorRegistry
    from personvern.dsr.plan import PlanError, plan_request

    try:
        plan_request(runtime, request_id, ConnectorRegistry.from_entry_points())
    except (PlanError, LookupError) as exc:
        # The message names systems and settings, never the person.
        log.warning("request %s could not be planned: %s", request_id, exc)
        return False
    return True


def enqueue(runtime: Runtime, request_id: str) -> None:
    """Hand a verified (and, if reviewed, approved) request to the job layer to run.

    Raises what the job layer raises (:class:`ValueError` for a request that may not run).
    """
    from personvern.jobs import enqueue_request

    enqueue_request(runtime, request_id)


def start_quietly(runtime: Runtime, request_id: str, step: str) -> bool:
    """Run ``plan`` or ``enqueue`` where the caller must not fail because of it.

    Used right after a person confirms: their confirmation is committed, so whatever goes
    wrong next is the shop's to fix and must not turn their page into an error. Only the
    exception's type is logged, since its message may quote data.
    """
    try:
        if step == "plan":
            return plan(runtime, request_id)
        enqueue(runtime, request_id)
    except Exception as exc:
        log.error("request %s: %s failed (%s)", request_id, step, type(exc).__name__)
        return False
    return True


def run_now(runtime: Runtime, request_id: str) -> None:
    """Run a request's steps in this process until they are done or wait for people."""
    from personvern.jobs import run_request_now

    run_request_now(runtime, request_id)


def complete_manual_step(
    runtime: Runtime, step_id: int, by: str, note: str, attachment: Path | None
) -> str:
    """Mark a manual task done through the executor, which moves the request on."""
    from personvern.dsr.control import complete_manual_step as complete_step

    return complete_step(runtime, step_id, by, note, attachment=attachment)


def retry_step(runtime: Runtime, step_id: int, by: str) -> None:
    """Give a failed step another round, and hand the request back to the job layer."""
    from personvern.dsr.control import retry_step as retry

    with runtime.sessions() as db:
        from personvern.store.requests import RequestStep

        step = db.get(RequestStep, step_id)
        request_id = step.request_id if step is not None else None
    retry(runtime, step_id, by)
    if request_id is not None:
        enqueue(runtime, request_id)
