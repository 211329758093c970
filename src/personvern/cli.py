"""The ``personvern`` command.

Each command builds :class:`Settings` from the environment (``PERSONVERN_*``), and from it
whatever it needs; nothing is set up at import time. Every command is documented in
``docs/cli.md``; a test fails when one is not.
"""

from __future__ import annotations

import gc
import json
import shutil
import sys
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, cast

import typer

from personvern import __version__
from personvern.dsr.cli import create_token, request_app, revoke_token
from personvern.jobs.cli import app as worker_app
from personvern.mail.cli import mail_app
from personvern.retention.cli import retention_app
from personvern.sandbox.cli import sandbox, start_for_demo
from personvern.settings import Settings
from personvern.suppression.cli import suppression_app

if TYPE_CHECKING:
    from personvern.runtime import Runtime

app = typer.Typer(
    help="personvern: privacy operations for a small online business.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="The store (SQLite or PostgreSQL).", no_args_is_help=True)
config_app = typer.Typer(help="The effective settings.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
admin_app = typer.Typer(help="Admin users of the web app.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(config_app, name="config")
app.add_typer(audit_app, name="audit")
app.add_typer(admin_app, name="admin")
app.add_typer(request_app, name="request")
admin_app.command("create-token")(create_token)
admin_app.command("revoke-token")(revoke_token)
app.add_typer(mail_app, name="mail")
app.add_typer(worker_app)  # personvern worker
app.add_typer(suppression_app, name="suppression")
app.add_typer(retention_app, name="retention")
app.command()(sandbox)  # personvern sandbox

DEMO_ADMIN = "admin@assemble.no"


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _settings() -> Settings:
    try:
        return Settings()
    except ValueError as exc:
        raise _fail(f"the PERSONVERN_* settings are invalid: {exc}") from exc


def _runtime(settings: Settings | None = None) -> Runtime:
    # Imported here so that `personvern check` and `--help` stay fast.
    from personvern.runtime import Runtime

    return Runtime.open(settings or _settings())


@app.callback(invoke_without_command=True)
def _root(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    if version:
        typer.echo(f"personvern {__version__}")
        raise typer.Exit(0)


@app.command()
def check(path: Annotated[Path, typer.Argument(help="The privacy.yaml to check.")]) -> None:
    """Validate an inventory: every problem with file, line, column and a hint.

    Exits 0 when valid, 1 otherwise. Writes nothing anywhere.
    """
    from personvern.inventory.loader import check_command

    raise typer.Exit(check_command(path, sys.stdout))


Kind = Literal["policy", "cookies", "records"]
Lang = Literal["nb", "en"]
Format = Literal["html", "md", "pdf"]


@app.command()
def notice(
    inventory: Annotated[Path, typer.Option(help="The privacy.yaml to render from.")],
    kind: Annotated[str, typer.Option(help="policy, cookies or records.")] = "policy",
    lang: Annotated[str, typer.Option(help="nb (bokmål) or en.")] = "nb",
    fmt: Annotated[str, typer.Option("--format", help="html, md or pdf.")] = "html",
    output: Annotated[
        Path | None, typer.Option(help="File to write; standard output when left out.")
    ] = None,
    version: Annotated[
        str | None, typer.Option(help="Version to print on the document (default: none).")
    ] = None,
) -> None:
    """Render the privacy policy, the cookie declaration or the record of processing."""
    from datetime import date

    from personvern.inventory.loader import InventoryError, require_inventory
    from personvern.notices import render_notice

    for value, allowed, option in (
        (kind, ("policy", "cookies", "records"), "--kind"),
        (lang, ("nb", "en"), "--lang"),
        (fmt, ("html", "md", "pdf"), "--format"),
    ):
        if value not in allowed:
            raise _fail(f"{option} must be one of {', '.join(allowed)}, not {value!r}")
    if fmt == "pdf" and output is None:
        raise _fail("a PDF needs --output FILE")
    try:
        inv = require_inventory(inventory)
    except InventoryError as exc:
        for problem in exc.problems:
            typer.echo(problem.format(), err=True)
        raise _fail(f"{inventory} is not a valid inventory; run `personvern check`") from exc
    data = render_notice(
        inv,
        cast(Kind, kind),
        cast(Lang, lang),
        cast(Format, fmt),
        version=version,
        published=date.today() if version else None,
    )
    if output is None:
        sys.stdout.write(data.decode())
        return
    output.write_bytes(data)
    typer.echo(f"wrote {output} ({len(data):,} bytes)")


@app.command("lint-notice")
def lint_notice(
    file: Annotated[
        Path | None, typer.Argument(help="A notice as plain text, Markdown or HTML.")
    ] = None,
    inventory: Annotated[
        Path | None, typer.Option(help="Lint an inventory instead of a notice.")
    ] = None,
    lang: Annotated[str, typer.Option(help="Language of the notice and the report.")] = "nb",
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Check a notice (or an inventory) against GDPR Art. 13/14 and Norwegian law.

    Exits 1 when any item is missing or a statement is wrong in law.
    """
    from personvern.inventory.loader import InventoryError, require_inventory
    from personvern.notices import lint_inventory, lint_text

    if lang not in ("nb", "en"):
        raise _fail(f"--lang must be nb or en, not {lang!r}")
    if (file is None) == (inventory is None):
        raise _fail("give either a notice FILE or --inventory PATH")
    if inventory is not None:
        try:
            report = lint_inventory(require_inventory(inventory), cast(Lang, lang))
        except InventoryError as exc:
            for problem in exc.problems:
                typer.echo(problem.format(), err=True)
            raise _fail(f"{inventory} is not a valid inventory") from exc
    else:
        assert file is not None
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise _fail(f"cannot read {file} as UTF-8 text: {exc}") from exc
        report = lint_text(text, cast(Lang, lang), filename=str(file))
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    else:
        typer.echo(report.format(lang))
    raise typer.Exit(0 if report.ok else 1)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the store to the latest revision (also done on every start)."""
    from personvern.store.engine import make_engine
    from personvern.store.migrate import current_revision, upgrade

    settings = _settings()
    engine = make_engine(settings.resolved_database_url())
    try:
        before = current_revision(engine)
        upgrade(engine)
        after = current_revision(engine)
    finally:
        engine.dispose()
    if before == after:
        typer.echo(f"store already at revision {after}")
    else:
        typer.echo(f"store upgraded from {before or 'empty'} to {after}")


@db_app.command("current")
def db_current() -> None:
    """Print the store's revision and the newest one this version knows."""
    from personvern.store.engine import make_engine
    from personvern.store.migrate import current_revision, head_revision

    engine = make_engine(_settings().resolved_database_url())
    try:
        typer.echo(f"current: {current_revision(engine) or 'empty'}")
        typer.echo(f"latest:  {head_revision(engine)}")
    finally:
        engine.dispose()


@config_app.command("show")
def config_show(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Print the effective settings, with secrets masked."""
    values = _settings().masked()
    if as_json:
        typer.echo(json.dumps(values, indent=2, ensure_ascii=False))
        return
    width = max(len(k) for k in values)
    for key, value in values.items():
        env = f"PERSONVERN_{key.upper()}"
        typer.echo(f"{env:<{width + 11}}  {value}")


@audit_app.command("verify")
def audit_verify(
    expect_head: Annotated[
        str | None,
        typer.Option(help="A head taken earlier with `personvern audit head`; fail if lost."),
    ] = None,
) -> None:
    """Check the whole chain; exit 1 naming the first entry that was changed or removed."""
    runtime = _runtime()
    try:
        result = runtime.audit.verify(expect_head=expect_head)
    finally:
        runtime.close()
    typer.echo(result.describe())
    raise typer.Exit(0 if result.ok else 1)


@audit_app.command("head")
def audit_head() -> None:
    """Print the newest entry's number and hash, to keep outside the database."""
    runtime = _runtime()
    try:
        seq, digest = runtime.audit.head()
    finally:
        runtime.close()
    typer.echo(f"{seq}:{digest}")


def _read_password(confirm: bool = True) -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=confirm)
    return password


@admin_app.command("create-user")
def admin_create_user(
    email: Annotated[str, typer.Argument(help="The user's e-mail address.")],
    role: Annotated[str, typer.Option(help="admin (may change things) or viewer (reads).")] = (
        "viewer"
    ),
) -> None:
    """Create an admin user; the password is read from a prompt, or from stdin."""
    from personvern.web.admin.users import UserError, create_user

    password = _read_password()
    runtime = _runtime()
    try:
        user = create_user(runtime, email, password, role)
    except UserError as exc:
        raise _fail(str(exc)) from exc
    finally:
        runtime.close()
    typer.echo(f"created {user.role} {user.email}")


@admin_app.command("set-password")
def admin_set_password(
    email: Annotated[str, typer.Argument(help="The user's e-mail address.")],
) -> None:
    """Set a new password for an admin user (from a prompt, or from stdin)."""
    from personvern.web.admin.users import UserError, set_password

    password = _read_password()
    runtime = _runtime()
    try:
        set_password(runtime, email, password)
    except UserError as exc:
        raise _fail(str(exc)) from exc
    finally:
        runtime.close()
    typer.echo(f"password changed for {email}")


def _serve(settings: Settings, host: str, port: int) -> None:
    import uvicorn

    from personvern.web.app import create_app

    app = create_app(settings)
    # Everything built so far lives as long as the process: take it out of the cyclic
    # collector's sight, so its full collections don't stall requests (p99 latency).
    gc.collect()
    gc.freeze()
    uvicorn.run(app, host=host, port=port, proxy_headers=True)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Run the web app: privacy center, consent API and admin."""
    _serve(_settings(), host, port)


@app.command()
def demo(
    directory: Annotated[
        Path, typer.Option("--dir", help="Data directory of the demo (reused if it exists).")
    ] = Path("personvern-demo"),
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    serve_app: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the app after setting up.")
    ] = True,
    customers: Annotated[
        int, typer.Option(min=1, help="Customers in the synthetic shop database (first run).")
    ] = 2000,
    sandbox: Annotated[
        bool,
        typer.Option(
            "--sandbox/--no-sandbox", help="Serve the vendor sandboxes and point the demo at them."
        ),
    ] = True,
    sandbox_port: Annotated[
        int, typer.Option(min=0, help="Port of the vendor sandboxes (0: a free one).")
    ] = 0,
) -> None:
    """Set up the demo shop (Assemble Prosjekt AS) on SQLite, with vendor sandboxes; serve it."""
    import os

    from personvern.demo.shop import build_shop, shop_exists
    from personvern.runtime import Runtime
    from personvern.web.admin.users import create_user, find_user, set_password

    directory.mkdir(parents=True, exist_ok=True)
    inventory = directory / "privacy.yaml"
    for name in ("privacy.yaml", "shop_dataset.yml"):
        target = directory / name
        if not target.exists():
            source = resources.files("personvern.demo").joinpath(f"assemble/{name}")
            with resources.as_file(source) as path:
                shutil.copyfile(path, target)
            typer.echo(f"copied the Assemble example's {name} to {target}")
        else:
            typer.echo(f"using {target}")
    # The shop's own database (WooCommerce-like, synthetic people from Faker), which the
    # inventory's shop system reaches through the SQL connector.
    shop_url = f"sqlite:///{(directory / 'shop.sqlite3').resolve()}"
    if not shop_exists(shop_url):
        summary = build_shop(shop_url, customers=customers)
        typer.echo(
            f"shop: built {summary.customers:,} customers and {summary.orders:,} orders "
            f"in {summary.seconds:.1f} s"
        )
    else:
        typer.echo("shop: reusing the shop database")
    os.environ.setdefault("SHOP_DATABASE_URL", shop_url)
    vendors = start_for_demo(shop_url, directory, sandbox_port) if sandbox else None
    settings = Settings(
        data_dir=directory,
        database_url=None,
        inventory=inventory,
        base_url=f"http://{host}:{port}",
    )
    runtime = Runtime.open(settings)
    try:
        runtime.inventory()  # fail now, with the loader's message, if it was edited badly
        password = _demo_password()
        if find_user(runtime, DEMO_ADMIN) is None:
            create_user(runtime, DEMO_ADMIN, password, "admin")
        else:
            set_password(runtime, DEMO_ADMIN, password)
    finally:
        runtime.close()
    typer.echo(f"store: {settings.masked()['database_url']}")
    typer.echo(f"admin: {DEMO_ADMIN}")
    typer.echo(f"one-time password (new on every demo start): {password}")
    typer.echo(f"open: {settings.base_url}/admin")
    try:
        if serve_app:
            _serve(settings, host, port)
    finally:
        if vendors is not None:
            vendors.stop()


def _demo_password() -> str:
    import secrets

    return secrets.token_urlsafe(12)


def main() -> None:
    app()
