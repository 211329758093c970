"""``personvern mail``: deliver the outbox now, or list it.

Added to the ``personvern`` command as ``app.add_typer(mail_app, name="mail")``; each
command builds its settings and runtime from the environment, as every command does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from personvern.runtime import Runtime

mail_app = typer.Typer(help="The outbox: e-mail personvern sends.", no_args_is_help=True)


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


@mail_app.command("send")
def mail_send(
    limit: Annotated[int, typer.Option(min=1, help="Send at most this many messages.")] = 500,
) -> None:
    """Send the messages that are due now, and print how it went.

    Exits 1 when a message could not be sent this time (it is retried later, or marked
    failed), 0 otherwise — also when no SMTP server is configured.
    """
    from personvern.mail.sender import deliver_due

    runtime = _runtime()
    try:
        report = deliver_due(runtime, limit=limit)
    finally:
        runtime.close()
    typer.echo(report.describe())
    raise typer.Exit(1 if report.retrying or report.failed or report.problem else 0)


@mail_app.command("list")
def mail_list(
    status: Annotated[
        str | None,
        typer.Option(help="Only messages in this status: queued, sending, sent, failed."),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many, newest first.")] = 50,
) -> None:
    """List the outbox, newest first: id, status, purpose, attempts, created, to, subject."""
    from personvern.mail.outbox import check_status, list_messages

    if status is not None:
        try:
            check_status(status)
        except ValueError as exc:
            typer.echo(f"error: --status: {exc}", err=True)
            raise typer.Exit(2) from exc
    runtime = _runtime()
    try:
        with runtime.sessions() as session:
            messages = list_messages(session, status=status, limit=limit)
    finally:
        runtime.close()
    if not messages:
        typer.echo("the outbox is empty" if status is None else f"no {status} messages")
        return
    for m in messages:
        created = m.created_at.strftime("%Y-%m-%d %H:%M")
        typer.echo(
            f"{m.id:>6}  {m.status:<7}  {m.purpose:<10}  {m.attempts:>2}  {created}  "
            f"{m.to_address}  {m.subject}"
        )
