"""``personvern suppression``: the suppression list from the command line.

Added to the ``personvern`` command as ``app.add_typer(suppression_app, name="suppression")``;
each command builds its settings and runtime from the environment, as every command does.
Addresses are printed here in clear: this is the admin's own view of the list.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from personvern.runtime import Runtime

suppression_app = typer.Typer(
    help="The suppression list: addresses that get no marketing e-mail.", no_args_is_help=True
)
ACTOR = "cli"


def _runtime() -> Runtime:
    # Imported here so that `personvern --help` stays fast.
    from personvern.runtime import Runtime
    from personvern.settings import Settings

    try:
        settings = Settings()
    except ValueError as exc:
        typer.echo(f"error: the PERSONVERN_* settings are invalid: {exc}", err=True)
        raise typer.Exit(1) from exc
    return Runtime.open(settings)


@suppression_app.command("list")
def suppression_list(
    status: Annotated[
        str | None,
        typer.Option(help="Only addresses whose push to Mailchimp is pending, synced or failed."),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many, newest first.")] = 100,
) -> None:
    """List the suppressed addresses, newest first: when, source, list, Mailchimp status."""
    from personvern.store.suppressions import SYNC_STATUSES
    from personvern.suppression.entries import list_suppressions

    if status is not None and status not in SYNC_STATUSES:
        typer.echo(f"error: --status must be one of {', '.join(SYNC_STATUSES)}", err=True)
        raise typer.Exit(2)
    runtime = _runtime()
    try:
        rows = list_suppressions(runtime, status=status, limit=limit)
    finally:
        runtime.close()
    if not rows:
        typer.echo("the suppression list is empty" if status is None else f"none {status}")
        return
    for row in rows:
        created = row.created_at.strftime("%Y-%m-%d %H:%M")
        line = (
            f"{created}  {row.source:<9}  {row.list_key:<20}  {row.sync_status:<7}  {row.address}"
        )
        if row.sync_error:
            line += f"  ({row.sync_error})"
        typer.echo(line)


@suppression_app.command("add")
def suppression_add(
    address: Annotated[str, typer.Argument(help="The e-mail address to suppress.")],
) -> None:
    """Put an address on the list (e.g. someone who asked by phone); it is pushed to Mailchimp.

    Adding an address that is already there changes nothing.
    """
    from personvern.suppression.entries import suppress

    runtime = _runtime()
    try:
        added = suppress(runtime, address, source="admin", actor=ACTOR)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    finally:
        runtime.close()
    typer.echo(
        "added; it is pushed to Mailchimp by the app or `personvern suppression sync`"
        if added.created
        else "already on the list; nothing changed"
    )


@suppression_app.command("remove")
def suppression_remove(
    address: Annotated[str, typer.Argument(help="The e-mail address to take off the list.")],
) -> None:
    """Take an address off the list, when it was put there by mistake.

    Mailchimp is not told: a member who unsubscribed there comes back only by signing up
    again through a Mailchimp form. Exits 1 when the address was not on the list.
    """
    from personvern.suppression.entries import unsuppress

    runtime = _runtime()
    try:
        removed = unsuppress(runtime, address, actor=ACTOR)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    finally:
        runtime.close()
    typer.echo("removed" if removed else "not on the list; nothing changed")
    raise typer.Exit(0 if removed else 1)


@suppression_app.command("sync")
def suppression_sync(
    retry_failed: Annotated[
        bool, typer.Option(help="First make failed addresses pending again (after a fix).")
    ] = False,
    limit: Annotated[int, typer.Option(min=1, help="Push at most this many addresses.")] = 500,
) -> None:
    """Push pending addresses to Mailchimp now (unsubscribed in every audience).

    Exits 0 when nothing is left to do, 1 when an address failed or waits for a retry, or
    when nothing could be pushed (the message says why: no mailchimp system, a missing key).
    """
    import asyncio

    from personvern.suppression.sync import retry_failed as make_pending
    from personvern.suppression.sync import sync_due

    runtime = _runtime()
    try:
        if retry_failed:
            typer.echo(f"{make_pending(runtime)} failed address(es) made pending again")
        report = asyncio.run(sync_due(runtime, limit=limit))
    finally:
        runtime.close()
    typer.echo(report.describe())
    raise typer.Exit(1 if report.failed or report.retrying or report.problem else 0)
