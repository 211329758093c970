"""``personvern worker``: runs request steps from the queue on PostgreSQL.

Registered on the main command by ``personvern.cli``. Start as many as you like, on as many
machines as you like, all with the same ``PERSONVERN_DATABASE_URL``,
``PERSONVERN_SECRET_KEY`` and inventory; each job is taken by one of them. This module
imports only Typer at import time, so ``personvern --help`` stays fast.
"""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer()


@app.command("worker")
def worker(
    concurrency: Annotated[
        int, typer.Option(min=1, help="Requests this worker runs at the same time.")
    ] = 10,
    name: Annotated[
        str | None, typer.Option(help="Name in logs and the audit log (default: host-pid).")
    ] = None,
) -> None:
    """Run the steps of data-subject requests on PostgreSQL, until stopped (Ctrl-C, SIGTERM).

    Resumes what a stopped or killed worker left, then takes jobs as they come. On SQLite
    there is nothing to start: `personvern serve` runs the steps itself.
    """
    import asyncio
    import logging
    import os
    import socket

    from personvern.connectors.registry import ConnectorRegistry
    from personvern.runtime import Runtime
    from personvern.settings import Settings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        settings = Settings()
    except ValueError as exc:
        typer.echo(f"error: the PERSONVERN_* settings are invalid: {exc}", err=True)
        raise typer.Exit(1) from exc
    runtime = Runtime.open(settings)
    try:
        if runtime.engine.dialect.name != "postgresql":
            typer.echo(
                "error: personvern worker needs PostgreSQL (PERSONVERN_DATABASE_URL); on "
                "SQLite, `personvern serve` runs request steps in its own process",
                err=True,
            )
            raise typer.Exit(2)
        runtime.inventory()  # fail now, with the loader's message, not at the first job
        from personvern.jobs.queue import run_worker

        asyncio.run(
            run_worker(
                runtime,
                ConnectorRegistry.from_entry_points(),
                concurrency=concurrency,
                name=name or f"{socket.gethostname()}-{os.getpid()}",
            )
        )
    finally:
        runtime.close()
