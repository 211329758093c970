"""``personvern request …`` and ``personvern admin create-token`` / ``revoke-token``.

For the shop owner at a terminal: register a request received by letter or phone, run it,
see where it stands, list what is due, write its report. Registered on the main command by
``personvern.cli``; only Typer is imported at import time, so ``personvern --help`` stays
fast. Every command is documented in ``docs/cli.md``.

A request created here counts from now (GDPR Art. 12(3)). Without ``--verified`` the
person is e-mailed the usual verification link (EDPB Guidelines 01/2022 section 3.3); with
it, the operator vouches for the person's identity and ``--note`` says how.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from personvern.runtime import Runtime

request_app = typer.Typer(
    help="Data-subject requests: create, run, show, list, report.", no_args_is_help=True
)

DEFAULT_NOTE = "Identity vouched for by the operator on the command line."


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


def _changes(values: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep:
            raise _fail(f"--change {item!r}: write it as FIELD=VALUE, e.g. phone=+4790000000")
        out[key.strip()] = value
    return out


@request_app.command("create")
def create(
    kind: Annotated[
        str, typer.Argument(metavar="TYPE", help="access, rectify, erase, object or restrict.")
    ],
    email: Annotated[str, typer.Option(help="The person's e-mail address.")],
    name: Annotated[str | None, typer.Option(help="The person's name.")] = None,
    phone: Annotated[str | None, typer.Option(help="The person's phone number.")] = None,
    lang: Annotated[str, typer.Option(help="Language of the e-mails: nb or en.")] = "nb",
    verified: Annotated[
        bool, typer.Option("--verified", help="You have checked the person's identity.")
    ] = False,
    note: Annotated[
        str | None, typer.Option(help="With --verified: how you checked the identity.")
    ] = None,
    change: Annotated[
        list[str] | None,
        typer.Option(help="rectify: FIELD=VALUE (name, email, phone, address); repeatable."),
    ] = None,
    message: Annotated[str | None, typer.Option(help="What the person wrote.")] = None,
) -> None:
    """Register a request; prints its id."""
    from personvern.dsr import requests as lifecycle
    from personvern.dsr.intake import Intake, RequestError

    intake = Intake(
        kind=kind,
        email=email,
        name=name,
        phone=phone,
        lang=lang,
        changes=_changes(change or []),
        message=message,
    )
    if note is not None and not verified:
        raise _fail("--note says how identity was checked, so it needs --verified")
    runtime = _runtime()
    try:
        created = lifecycle.create(
            runtime,
            intake,
            channel="cli",
            actor="cli",
            verified_note=(note or DEFAULT_NOTE) if verified else None,
        )
    except RequestError as exc:
        where = f"--{exc.field.replace('_', '-')}: " if exc.field else ""
        raise _fail(where + str(exc)) from exc
    finally:
        runtime.close()
    typer.echo(created.request_id)


def _require(runtime: Runtime, request_id: str) -> None:
    from personvern.dsr import requests as lifecycle

    try:
        lifecycle.get(runtime, request_id)
    except lifecycle.RequestNotFound as exc:
        raise _fail(
            f"there is no request {request_id}; `personvern request list` shows them"
        ) from exc


@request_app.command("run")
def run(
    request_id: Annotated[str, typer.Argument(metavar="ID", help="The request's id.")],
    wait: Annotated[
        bool, typer.Option("--wait", help="Run it here until done or waiting for people.")
    ] = False,
    approve: Annotated[
        bool, typer.Option("--approve", help="Approve its plan first, if it awaits approval.")
    ] = False,
) -> None:
    """Hand a verified request to the executor (or run it here with --wait)."""
    from personvern.dsr import handoff
    from personvern.dsr import requests as lifecycle
    from personvern.dsr.intake import RequestError

    runtime = _runtime()
    try:
        _require(runtime, request_id)
        status = lifecycle.get(runtime, request_id).status
        if status == "awaiting_approval":
            if not approve:
                raise _fail(
                    "the request awaits approval of its plan: approve it in the admin "
                    f"(/admin/requests/{request_id}) or pass --approve"
                )
            try:
                lifecycle.approve(runtime, request_id, "cli")
            except RequestError as exc:
                raise _fail(str(exc)) from exc
        try:
            if wait:
                handoff.run_now(runtime, request_id)
            elif status != "awaiting_approval":
                handoff.enqueue(runtime, request_id)
        except ValueError as exc:
            raise _fail(str(exc)) from exc
        lifecycle.notify_completed(runtime, request_id, "cli")
        final = lifecycle.get(runtime, request_id).status
        on_sqlite = runtime.engine.dialect.name == "sqlite"
    finally:
        runtime.close()
    typer.echo(f"{request_id} {final}")
    if not wait and final == "running":
        runner = "`personvern serve`" if on_sqlite else "a `personvern worker`"
        typer.echo(f"queued: {runner} runs it (or run again with --wait)", err=True)


@request_app.command("show")
def show(
    request_id: Annotated[str, typer.Argument(metavar="ID", help="The request's id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Print a request: deadline, status, steps, e-mails and audit entries."""
    from personvern.dsr import requests as lifecycle
    from personvern.dsr.listing import timeline

    runtime = _runtime()
    try:
        try:
            found = timeline(runtime, request_id)
        except lifecycle.RequestNotFound as exc:
            raise _fail(
                f"there is no request {request_id}; `personvern request list` shows them"
            ) from exc
    finally:
        runtime.close()
    data = found.to_dict()
    if as_json:
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    lines = [
        f"request   {data['id']}",
        f"kind      {data['kind']}",
        f"status    {data['status']}",
        f"person    {data['email']}" + (f" ({data['name']})" if data["name"] else ""),
        f"received  {data['received_at']} via {data['channel']}",
        f"deadline  {data['deadline']} ({data['deadline_state']}, {data['days_left']} days)",
    ]
    if data["extension_reason"]:
        lines.append(f"extended  {data['extension_reason']}")
    if data["refusal_reason"]:
        lines.append(f"refused   {data['refusal_reason']}")
    for key, value in data["changes"].items():
        lines.append(f"change    {key} = {value}")
    lines.append(f"steps     {len(data['steps'])}")
    for step in data["steps"]:
        who = step["connector"] or "manual"
        error = f"  error: {step['last_error']}" if step["last_error"] else ""
        lines.append(
            f"  {step['system']:<20} {step['action']:<12} {who:<12} {step['status']:<8} "
            f"attempts {step['attempts']}{error}"
        )
    lines.append(f"e-mails   {', '.join(m['purpose'] for m in data['emails']) or 'none'}")
    for entry in data["audit"]:
        lines.append(f"  #{entry['seq']} {entry['at']} {entry['actor']} {entry['action']}")
    typer.echo("\n".join(lines))


@request_app.command("list")
def list_command(
    status: Annotated[
        str, typer.Option(help="open (default), all, or one status such as completed.")
    ] = "open",
    kind: Annotated[str | None, typer.Option(help="Only this kind.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List requests by deadline, soonest first, flagging those due soon or overdue."""
    from personvern.dsr.listing import list_requests

    runtime = _runtime()
    try:
        rows = list_requests(runtime, status=status, kind=kind)
    except ValueError as exc:
        raise _fail(str(exc)) from exc
    finally:
        runtime.close()
    if as_json:
        typer.echo(json.dumps([r.to_dict() for r in rows], indent=2, ensure_ascii=False))
        return
    if not rows:
        typer.echo("no requests")
        return
    for r in rows:
        flag = {"soon": "DUE SOON", "overdue": "OVERDUE"}.get(r.countdown.state, "")
        typer.echo(
            f"{r.id}  {r.kind:<8} {r.status:<17} due {r.deadline.date().isoformat()}  "
            f"{r.email}  {flag}".rstrip()
        )


@request_app.command("report")
def report(
    request_id: Annotated[str, typer.Argument(metavar="ID", help="The request's id.")],
    output: Annotated[Path, typer.Option(help="Folder to write the report files into.")],
) -> None:
    """Write a request's report (access: HTML, PDF, JSON, CSV) into a folder."""
    import importlib

    # Looked up by name: the reports capability is optional, and a clear message beats an
    # ImportError when it is not installed.
    try:
        reports = importlib.import_module("personvern.dsr.reports")
    except ImportError:
        reports = None
    write_report = getattr(reports, "write_report", None)
    if write_report is None:
        raise _fail("reports are not part of this installation (personvern.dsr.reports)")
    runtime = _runtime()
    try:
        _require(runtime, request_id)
        output.mkdir(parents=True, exist_ok=True)
        written = write_report(runtime, request_id, output)
    except (ValueError, LookupError) as exc:
        raise _fail(str(exc)) from exc
    finally:
        runtime.close()
    for path in written or []:
        typer.echo(str(path))


@request_app.command("expire")
def expire() -> None:
    """Close requests whose verification link was never followed in time."""
    from personvern.dsr.requests import expire_unverified

    runtime = _runtime()
    try:
        count = expire_unverified(runtime)
    finally:
        runtime.close()
    typer.echo(f"expired {count} unverified request{'s' if count != 1 else ''}")


def create_token(
    name: Annotated[str, typer.Argument(help="What the token is for, e.g. nettbutikk.")],
    role: Annotated[str, typer.Option(help="admin (creates requests) or viewer (reads).")] = (
        "admin"
    ),
) -> None:
    """Make an API token for POST /api/v1/requests; printed once, only its hash is kept."""
    from personvern.web.api.tokens import TokenError
    from personvern.web.api.tokens import create_token as make

    runtime = _runtime()
    try:
        token = make(runtime, name, role)
    except TokenError as exc:
        raise _fail(str(exc)) from exc
    finally:
        runtime.close()
    typer.echo(token)


def revoke_token(
    name: Annotated[str, typer.Argument(help="The token's name.")],
) -> None:
    """End an API token at once."""
    from personvern.web.api.tokens import TokenError
    from personvern.web.api.tokens import revoke_token as revoke

    runtime = _runtime()
    try:
        revoke(runtime, name)
    except TokenError as exc:
        raise _fail(str(exc)) from exc
    finally:
        runtime.close()
    typer.echo(f"revoked {name}")
