"""``python -m personvern.jobs``: run one request in this process, or a worker.

``python -m personvern.jobs run REQUEST_ID`` runs a request to the end in this process, as
``personvern request run ID --wait`` does; it prints the final status and exits 0 when
``completed`` or ``waiting``, 1 when ``failed``. ``python -m personvern.jobs worker`` is
``personvern worker``. Settings come from the ``PERSONVERN_*`` environment.
"""

from __future__ import annotations

import typer

from personvern.jobs import cli

app = typer.Typer(no_args_is_help=True, add_completion=False)
app.add_typer(cli.app)


@app.command("run")
def run(request_id: str) -> None:
    """Run REQUEST_ID's steps in this process until finished or only manual tasks remain."""
    from personvern.jobs import run_request_now
    from personvern.runtime import Runtime
    from personvern.settings import Settings

    runtime = Runtime.open(Settings())
    try:
        status = run_request_now(runtime, request_id)
    finally:
        runtime.close()
    typer.echo(status)
    raise typer.Exit(0 if status in ("completed", "waiting") else 1)


if __name__ == "__main__":
    app()
