"""``personvern sandbox``: serve the vendor sandboxes on loopback until Ctrl-C.

For a developer trying a connector by hand, or running ``personvern serve`` against
sandboxes instead of the real vendors: it prints each vendor's URL and credentials (the
``GET /_sandbox`` data) and the ``export`` lines that point the Assemble inventory's
``*_env`` settings at them (:mod:`personvern.sandbox.wiring`). The sandboxes hold the
people of a demo shop database: the one given with ``--shop``, or a small one built in a
temporary folder.
"""

from __future__ import annotations

import json
import signal
import tempfile
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from personvern.sandbox.server import SandboxServer


def sandbox(
    port: Annotated[int, typer.Option(help="Port to listen on (0: a free one).")] = 8765,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    shop: Annotated[
        str | None,
        typer.Option(help="URL of a demo shop database to seed from (personvern demo's)."),
    ] = None,
    customers: Annotated[
        int, typer.Option(min=1, help="Customers in the shop built when --shop is not given.")
    ] = 200,
    vendors: Annotated[
        list[str] | None,
        typer.Option("--vendor", help="Serve only this vendor (repeat for more); default all."),
    ] = None,
) -> None:
    """Serve the vendor sandboxes (WooCommerce, Mailchimp, GA, Visma, Klarna, Vipps)."""
    import httpx

    from personvern.demo.shop import build_shop, shop_exists
    from personvern.sandbox.server import VENDOR_MODULES, SandboxContext, SandboxServer
    from personvern.sandbox.wiring import demo_environment, export_lines, showcase_person

    names = list(dict.fromkeys(vendors or VENDOR_MODULES))
    unknown = [n for n in names if n not in VENDOR_MODULES]
    if unknown:
        typer.echo(
            f"error: no sandbox is named {', '.join(unknown)}; there are "
            f"{', '.join(sorted(VENDOR_MODULES))}",
            err=True,
        )
        raise typer.Exit(2)
    with tempfile.TemporaryDirectory(prefix="personvern-sandbox-") as scratch:
        folder = Path(scratch)
        if shop is None:
            shop = f"sqlite:///{folder / 'shop.sqlite3'}"
            summary = build_shop(shop, customers=customers)
            typer.echo(f"shop: built {summary.customers:,} customers in {folder}")
        elif not shop_exists(shop):
            typer.echo(f"error: {shop} holds no demo shop; run `personvern demo` first", err=True)
            raise typer.Exit(1)
        try:
            server = SandboxServer(SandboxContext(shop), names, host=host, port=port)
        except OSError as exc:
            typer.echo(f"error: cannot listen on {host}:{port} ({exc}); try --port 0", err=True)
            raise typer.Exit(1) from exc
        with server:
            described = httpx.get(server.url + "/_sandbox", timeout=10).json()
            typer.echo(f"sandbox: {server.url} (GET /_sandbox describes it; Ctrl-C stops it)")
            for name, vendor in described.items():
                typer.echo(f"  {name}: {vendor['url']}")
                typer.echo(f"    credentials: {json.dumps(vendor['credentials'])}")
            if (person := showcase_person(server)) is not None:
                typer.echo(f"found in every sandbox: {person.name} <{person.email}>")
            typer.echo("# for the Assemble inventory (privacy.yaml):")
            environment = {"SHOP_DATABASE_URL": shop, **demo_environment(server, folder)}
            for line in export_lines(environment):
                typer.echo(line)
            _wait_for_a_signal()
        typer.echo("sandbox: stopped")


def _wait_for_a_signal() -> None:
    """Block until Ctrl-C (SIGINT) or SIGTERM, so that either stops the server cleanly."""
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        stop.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def start_for_demo(shop_url: str, directory: Path, port: int = 0) -> SandboxServer:
    """Serve every sandbox for ``personvern demo`` and point this process's environment at it.

    The variables are set in ``os.environ`` (overriding any already set: a demo must not
    mix a real vendor's key with a sandbox's address), so the demo's executor builds the
    Assemble inventory's connectors against the sandboxes. Prints what it started.
    """
    import os

    from personvern.sandbox.server import SandboxContext, SandboxServer
    from personvern.sandbox.wiring import demo_environment, showcase_person

    server = SandboxServer(SandboxContext(shop_url), port=port).start()
    environment = demo_environment(server, directory)
    os.environ.update(environment)
    typer.echo(f"sandbox: {', '.join(server.sandbox.vendors)} at {server.url}")
    if (person := showcase_person(server)) is not None:
        typer.echo(f"sandbox: try a request for {person.name} <{person.email}>, found in each")
    typer.echo(
        f"sandbox: set {len(environment)} variables so the inventory's connectors reach it "
        "(personvern sandbox prints them); WordPress has no sandbox and stays a manual task"
    )
    return server
