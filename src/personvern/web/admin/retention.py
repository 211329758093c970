"""The admin's retention page (``/admin/retention``): rules, next run, last runs, holds.

- ``GET /admin/retention``: each retention rule of the inventory with its period, the event
  it counts from, its action and legal ground, its preset and whether the period is the
  shop's own assumption; the targets where it is applied; when the daily run comes next;
  the last runs from their reports; and the legal holds in force. Any signed-in user.
- ``POST /admin/retention/plan``: an admin starts a dry run (all rules, or one) and sees
  what each rule would delete or anonymize, where, and what is held; it changes nothing,
  and is reported and audited like any run (:mod:`personvern.retention.reports`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends
from starlette.requests import Request
from starlette.responses import HTMLResponse

from personvern.connectors.registry import ConnectorRegistry
from personvern.i18n import N_, Translator
from personvern.i18n.terms import COUNTED_FROM, RETENTION_ACTION, label, period
from personvern.inventory.loader import InventoryError
from personvern.inventory.schema import Inventory
from personvern.retention import reports
from personvern.retention.engine import RetentionEngine, RetentionError, RunOutcome
from personvern.retention.holds import list_holds
from personvern.retention.schedule import next_run
from personvern.web.admin.sessions import SignedIn, require_admin, require_user
from personvern.web.pages import request_translator
from personvern.web.state import WebState, web_state

TRIGGER: Mapping[str, str] = {
    "schedule": N_("Daily schedule"),
    "cli": N_("Command line"),
    "admin": N_("Admin page"),
}
STATUS: Mapping[str, str] = {
    "ok": N_("Done"),
    "confirm": N_("Waits for confirmation"),
    "failed": N_("Failed"),
    "running": N_("Running"),
}
HOLD_KIND: Mapping[str, str] = {
    "manual": N_("Manual hold"),
    "dispute": N_("Dispute"),
    "request": N_("Open request"),
}
NO_INVENTORY = N_("No inventory is loaded, so there are no retention rules to show.")


def _rules(inventory: Inventory, tr: Translator) -> list[dict[str, Any]]:
    systems = {s.key: s.name for s in inventory.systems}
    return [
        {
            "key": rule.key,
            "name": rule.name.get(tr.lang),
            "period": period(tr, rule.period),
            "counted_from": label(tr, COUNTED_FROM, rule.counted_from),
            "action": label(tr, RETENTION_ACTION, rule.action),
            "legal_ground": rule.legal_ground.get(tr.lang),
            "assumption": rule.assumption,
            "preset": rule.preset,
            "deviations": ", ".join(rule.deviations()),
            "exceptions": rule.exceptions.get(tr.lang) if rule.exceptions else None,
            "targets": [
                {
                    "system": systems.get(target.system, target.system),
                    "collection": target.collection,
                    "date_field": target.date_field,
                    "where": "; ".join(f"{k}: {', '.join(v)}" for k, v in target.where.items()),
                    "action": label(tr, RETENTION_ACTION, rule.action_for(target)),
                    "fields": ", ".join(target.fields),
                }
                for target in rule.targets
            ],
        }
        for rule in inventory.retention
    ]


def _row(tr: Translator, row: reports.ReportRow) -> dict[str, Any]:
    return {
        "rule": row.rule,
        "system": row.system,
        "collection": row.collection,
        "action": label(tr, RETENTION_ACTION, row.action),
        "cutoff": tr.format_datetime(row.cutoff),
        "status": row.status,
        "status_name": label(tr, STATUS, row.status),
        "matched": row.matched,
        "changed": row.deleted + row.anonymized,
        "held": row.held,
        "total": row.total,
        "oldest_kept": tr.format_datetime(row.oldest_kept) if row.oldest_kept else None,
        "error": row.error,
    }


def _plan_view(tr: Translator, outcome: RunOutcome) -> dict[str, Any]:
    rows = []
    for item in outcome.outcomes:
        view = _row(tr, item.report())
        result = item.result
        view["would_change"] = (result.matched - result.held) if result else 0
        view["samples"] = [
            ", ".join(f"{k}: {v}" for k, v in sample.items())
            for sample in (result.samples[:3] if result else ())
        ]
        view["kept_fields"] = ", ".join(f for hold in item.planned.sweep.holds for f in hold.fields)
        rows.append(view)
    return {
        "rows": rows,
        "held": [
            {"reason": label(tr, HOLD_KIND, reason), "count": count}
            for reason, count in outcome.held_people.items()
        ],
    }


def _page(
    request: Request,
    state: WebState,
    user: SignedIn,
    *,
    plan: dict[str, Any] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    tr = request_translator(request)
    runtime = state.runtime
    now = datetime.now(UTC)
    try:
        rules = _rules(runtime.inventory(), tr)
        problem = None
    except (LookupError, InventoryError):
        rules, problem = [], tr.gettext(NO_INVENTORY)
    runs = [
        {
            "id": run.id,
            "started": tr.format_datetime(run.started_at),
            "trigger": label(tr, TRIGGER, run.trigger),
            "dry_run": run.dry_run,
            "status": run.status,
            "status_name": label(tr, STATUS, run.status),
            "rows": [_row(tr, row) for row in run.rows],
        }
        for run in reports.recent_runs(runtime, limit=10)
    ]
    holds = [
        {
            "id": hold.id,
            "kind": label(tr, HOLD_KIND, hold.kind),
            "email": hold.email,
            "reason": hold.reason,
            "since": tr.format_datetime(hold.created_at),
            "until": tr.format_datetime(hold.until) if hold.until else None,
        }
        for hold in list_holds(runtime, now=now)
    ]
    return state.pages.render(
        request,
        "admin/retention.html",
        {
            "user": user,
            "csrf_token": user.csrf_token,
            "rules": rules,
            "problem": problem,
            "next_run": tr.format_datetime(next_run(runtime, now)),
            "in_process": runtime.engine.dialect.name != "postgresql",
            "runs": runs,
            "holds": holds,
            "plan": plan,
            "error": error,
            "max_share": f"{runtime.settings.retention_max_share:.0%}",
        },
        status_code=status_code,
    )


def retention_page(
    request: Request,
    user: Annotated[SignedIn, Depends(require_user)],
    state: Annotated[WebState, Depends(web_state)],
) -> HTMLResponse:
    """``GET /admin/retention``."""
    return _page(request, state, user)


async def start_plan(
    request: Request,
    user: Annotated[SignedIn, Depends(require_admin)],
    state: Annotated[WebState, Depends(web_state)],
) -> HTMLResponse:
    """``POST /admin/retention/plan``: a dry run now; the page with its result."""
    form = await request.form()
    rule = form.get("rule")
    chosen = rule if isinstance(rule, str) and rule else None
    engine = RetentionEngine(state.runtime, ConnectorRegistry.from_entry_points())
    tr = request_translator(request)
    try:
        outcome = await engine.run(dry_run=True, rule=chosen, trigger="admin", actor=user.actor)
    except (RetentionError, LookupError) as exc:
        return _page(request, state, user, error=str(exc), status_code=400)
    return _page(request, state, user, plan=_plan_view(tr, outcome))


def retention_pages() -> list[tuple[str, str, Callable[..., Any]]]:
    """The admin router's entries for this page."""
    return [
        ("GET", "/retention", retention_page),
        ("POST", "/retention/plan", start_plan),
    ]
