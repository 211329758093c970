"""``personvern retention …``: plan and run the retention sweep, and manage legal holds.

Registered on the main command by ``personvern.cli``; only Typer is imported at import
time, so ``personvern --help`` stays fast. Every command is documented in ``docs/cli.md``.

``plan`` is a dry run: per rule and system, how many records would go, a few redacted
samples, the oldest date kept and who is held and why; it changes nothing. ``run`` applies
the rules; a rule that would change more than ``PERSONVERN_RETENTION_MAX_SHARE`` of a
collection stops before changing anything until it is run again with ``--confirm``. Both
write a report per rule × system to the store and the audit log.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from personvern.retention.engine import RunOutcome, TargetOutcome
    from personvern.runtime import Runtime

retention_app = typer.Typer(
    help="Retention: plan and run the sweep of expired data; legal holds.", no_args_is_help=True
)
hold_app = typer.Typer(
    help="Legal holds: people whose records are never swept.", no_args_is_help=True
)
retention_app.add_typer(hold_app, name="hold")

EXIT_FAILED = 1
EXIT_CONFIRM = 2
REASONS = {"request": "open request", "dispute": "dispute", "manual": "manual hold"}


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _runtime() -> Runtime:
    from personvern.runtime import Runtime
    from personvern.settings import Settings

    try:
        settings = Settings()
    except ValueError as exc:
        raise _fail(f"the PERSONVERN_* settings are invalid: {exc}") from exc
    return Runtime.open(settings)


def _when(value: datetime | None) -> str:
    """A date as the shop reads it: in Europe/Oslo (a cutoff is midnight there)."""
    from personvern.retention.engine import OSLO

    return value.astimezone(OSLO).strftime("%Y-%m-%d") if value else "—"


def _target_lines(outcome: TargetOutcome, dry_run: bool) -> list[str]:
    planned, result = outcome.planned, outcome.result
    sweep = planned.sweep
    head = f"  {planned.system} › {sweep.collection} ({sweep.action}, before {_when(sweep.cutoff)})"
    if result is None:
        return [head, f"    {outcome.status}: {outcome.error}"]
    changed = result.matched - result.held
    if dry_run:
        verb = "would delete" if sweep.action == "delete" else "would anonymize"
        counts = f"{verb} {changed} of {result.total}"
    else:
        counts = f"deleted {result.deleted}, anonymized {result.anonymized} of {result.total}"
    lines = [
        head,
        f"    {counts}; held {result.held}; oldest kept {_when(result.oldest_kept)}",
    ]
    if outcome.status != "ok":
        lines.append(f"    {outcome.status}: {outcome.error}")
    if sweep.holds:
        kept = ", ".join(f for hold in sweep.holds for f in hold.fields)
        lines.append(f"    fields kept for other rules: {kept}")
    for sample in result.samples[:3]:
        lines.append("    sample: " + ", ".join(f"{k}={v}" for k, v in sample.items()))
    for note in result.notes:
        lines.append(f"    note: {note}")
    return lines


def _print(outcome: RunOutcome) -> None:
    rule = None
    for item in outcome.outcomes:
        if item.planned.rule != rule:
            rule = item.planned.rule
            typer.echo(f"{rule}:")
        for line in _target_lines(item, outcome.dry_run):
            typer.echo(line)
    if not outcome.outcomes:
        typer.echo("no retention rule has targets: nothing to sweep")
    held = ", ".join(f"{n} ({REASONS.get(k, k)})" for k, n in outcome.held_people.items())
    typer.echo(f"people under a legal hold: {held or 'none'}")
    typer.echo(f"report: run {outcome.run_id}")


def _run(*, dry_run: bool, rule: str | None, confirm: bool) -> RunOutcome:
    import asyncio

    from personvern.connectors.registry import ConnectorRegistry
    from personvern.retention.engine import RetentionEngine, RetentionError

    runtime = _runtime()
    try:
        engine = RetentionEngine(runtime, ConnectorRegistry.from_entry_points())
        return asyncio.run(
            engine.run(dry_run=dry_run, rule=rule, confirm=confirm, trigger="cli", actor="cli")
        )
    except (RetentionError, LookupError) as exc:
        raise _fail(str(exc)) from exc
    finally:
        runtime.close()


@retention_app.command("plan")
def plan(
    rule: Annotated[str | None, typer.Option(help="Only this rule (its key).")] = None,
) -> None:
    """Dry run: what each rule would delete or anonymize in each system; changes nothing."""
    outcome = _run(dry_run=True, rule=rule, confirm=False)
    _print(outcome)
    raise typer.Exit(EXIT_FAILED if outcome.failed else 0)


@retention_app.command("run")
def run(
    rule: Annotated[str | None, typer.Option(help="Only this rule (its key).")] = None,
    confirm: Annotated[
        bool,
        typer.Option(
            "--confirm", help="Go ahead even where a rule changes a large share of a collection."
        ),
    ] = False,
) -> None:
    """Apply the retention rules now. Exits 2 when a rule waits for --confirm, 1 on errors."""
    outcome = _run(dry_run=False, rule=rule, confirm=confirm)
    _print(outcome)
    if outcome.needs_confirmation:
        typer.echo(
            "stopped before changing anything in: "
            + ", ".join(outcome.needs_confirmation)
            + "; check `personvern retention plan`, then run again with --confirm",
            err=True,
        )
    if outcome.failed:
        raise typer.Exit(EXIT_FAILED)
    raise typer.Exit(EXIT_CONFIRM if outcome.needs_confirmation else 0)


def _until(value: str | None) -> datetime | None:
    """``YYYY-MM-DD``: the hold lasts through that day (Europe/Oslo)."""
    if value is None:
        return None
    from datetime import date

    from personvern.retention.engine import OSLO

    try:
        day = date.fromisoformat(value)
    except ValueError as exc:
        raise _fail(f"--until {value!r}: write a date as YYYY-MM-DD, e.g. 2027-06-30") from exc
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=OSLO).astimezone(UTC)


@hold_app.command("add")
def hold_add(
    email: Annotated[str, typer.Option(help="The person's e-mail address.")],
    reason: Annotated[str, typer.Option(help="Why the records are held (kept for the record).")],
    until: Annotated[
        str | None, typer.Option(help="Last day of the hold, YYYY-MM-DD (default: until released).")
    ] = None,
    dispute: Annotated[
        bool, typer.Option("--dispute", help="The hold is for a dispute or legal claim.")
    ] = False,
) -> None:
    """Put a person under a legal hold: no sweep touches their records. Prints its id."""
    from personvern.retention.holds import HoldError, add_hold

    ends = _until(until)
    runtime = _runtime()
    try:
        hold = add_hold(
            runtime,
            email=email,
            reason=reason,
            until=ends,
            kind="dispute" if dispute else "manual",
            actor="cli",
        )
    except HoldError as exc:
        raise _fail(str(exc)) from exc
    finally:
        runtime.close()
    typer.echo(hold.id)


@hold_app.command("list")
def hold_list(
    all_: Annotated[bool, typer.Option("--all", help="Also released and ended holds.")] = False,
) -> None:
    """List legal holds, newest first: id, kind, e-mail, since, until, reason."""
    from personvern.retention.holds import list_holds

    runtime = _runtime()
    try:
        holds = list_holds(runtime, include_ended=all_)
    finally:
        runtime.close()
    if not holds:
        typer.echo("no legal holds")
    for hold in holds:
        ended = f" (released {_when(hold.released_at)})" if hold.released_at else ""
        until = _when(hold.until - timedelta(seconds=1)) if hold.until else "released"
        typer.echo(
            f"{hold.id}\t{hold.kind}\t{hold.email}\t{_when(hold.created_at)}\t"
            f"until {until}{ended}\t{hold.reason}"
        )


@hold_app.command("release")
def hold_release(hold_id: Annotated[int, typer.Argument(metavar="ID")]) -> None:
    """End a legal hold; the person's records follow the rules again from the next sweep."""
    from personvern.retention.holds import HoldError, release_hold

    runtime = _runtime()
    try:
        release_hold(runtime, hold_id, actor="cli")
    except HoldError as exc:
        raise _fail(str(exc)) from exc
    finally:
        runtime.close()
    typer.echo(f"released hold {hold_id}")
