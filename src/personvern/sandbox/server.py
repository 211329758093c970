"""One app serving every vendor sandbox, each under its own prefix, and a server to run it.

A vendor module (``personvern.sandbox.<name>``) exposes ``VENDOR``, a :class:`Vendor`: its
name, its error body (for injected faults), and ``build(context)`` returning a
:class:`VendorApp` — the ASGI app and a ``snapshot()`` of its state, which the conformance
kit uses to prove that an erasure touched nobody else. Vendors are looked up by name in
:data:`VENDOR_MODULES` and imported only when asked for.

Control endpoints (loopback only; the sandbox holds synthetic people and no secrets):

- ``GET /_sandbox`` — the vendors served, their prefixes and credentials to use;
- ``POST /_sandbox/faults`` — ``{"vendor": "mailchimp", "latency_ms": 200,
  "fail": {"status": 429, "times": 1, "retry_after": "2"}}``; ``{"reset": true}`` clears.
"""

from __future__ import annotations

import importlib
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Final

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route
from starlette.types import ASGIApp

from personvern.sandbox.faults import ErrorBody, FaultMiddleware, Faults
from personvern.sandbox.people import Person, people_from_shop

# name → module; the module's VENDOR is a Vendor. Prefixes are "/" + name with "_" → "-".
VENDOR_MODULES: Final[Mapping[str, str]] = {
    "woocommerce": "personvern.sandbox.woocommerce",
    "mailchimp": "personvern.sandbox.mailchimp",
    "google_analytics": "personvern.sandbox.google_analytics",
    "visma_eaccounting": "personvern.sandbox.visma_eaccounting",
    "klarna": "personvern.sandbox.klarna",
    "vipps": "personvern.sandbox.vipps",
}


@dataclass
class SandboxContext:
    """What a vendor sandbox is built from: the demo shop it mirrors."""

    shop_url: str

    @cached_property
    def people(self) -> list[Person]:
        return people_from_shop(self.shop_url)


@dataclass
class VendorApp:
    app: ASGIApp
    snapshot: Callable[[], Mapping[str, Mapping[str, Any]]]
    # Credentials a connector uses against this sandbox: setting name → value (e.g.
    # {"consumer_key": "ck_…", "consumer_secret": "cs_…"}); shown by GET /_sandbox.
    credentials: Mapping[str, str] = field(default_factory=dict)
    # The state object itself, for tests that need to look inside.
    state: Any = None


@dataclass(frozen=True)
class Vendor:
    name: str
    reference: str  # the published API reference the sandbox follows (URL)
    build: Callable[[SandboxContext], VendorApp]
    error_body: ErrorBody

    @property
    def prefix(self) -> str:
        return "/" + self.name.replace("_", "-")


def load_vendor(name: str) -> Vendor:
    try:
        module = VENDOR_MODULES[name]
    except KeyError:
        raise LookupError(
            f"no sandbox is named {name!r}; there are {', '.join(sorted(VENDOR_MODULES))}"
        ) from None
    vendor = importlib.import_module(module).VENDOR
    if not isinstance(vendor, Vendor):
        raise TypeError(f"{module}.VENDOR is not a Vendor")
    return vendor


class Sandbox:
    """The composed app: every vendor asked for, with its faults and state."""

    def __init__(self, context: SandboxContext, names: Iterable[str] | None = None) -> None:
        self.context = context
        self.vendors: dict[str, Vendor] = {}
        self.apps: dict[str, VendorApp] = {}
        self.faults: dict[str, Faults] = {}
        routes: list[Route | Mount] = [
            Route("/_sandbox", self._describe, methods=["GET"]),
            Route("/_sandbox/faults", self._set_faults, methods=["POST"]),
        ]
        for name in names if names is not None else VENDOR_MODULES:
            vendor = load_vendor(name)
            built = vendor.build(context)
            self.vendors[name] = vendor
            self.apps[name] = built
            self.faults[name] = Faults()
            routes.append(
                Mount(
                    vendor.prefix,
                    app=FaultMiddleware(built.app, self.faults[name], vendor.error_body),
                )
            )
        self.app = Starlette(routes=routes)

    async def _describe(self, request: Request) -> JSONResponse:
        base = str(request.base_url).rstrip("/")
        return JSONResponse(
            {
                name: {
                    "url": base + vendor.prefix,
                    "reference": vendor.reference,
                    "credentials": dict(self.apps[name].credentials),
                }
                for name, vendor in self.vendors.items()
            }
        )

    async def _set_faults(self, request: Request) -> JSONResponse:
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"detail": "send a JSON object"}, status_code=400)
        if not isinstance(body, dict) or body.get("vendor") not in self.faults:
            return JSONResponse(
                {"detail": f"name a vendor: one of {', '.join(sorted(self.faults))}"},
                status_code=400,
            )
        faults = self.faults[body["vendor"]]
        if body.get("reset"):
            faults.reset()
        if "latency_ms" in body:
            faults.latency = max(0.0, float(body["latency_ms"]) / 1000)
        fail = body.get("fail")
        if isinstance(fail, dict) and isinstance(fail.get("status"), int):
            faults.fail_next(
                fail["status"],
                times=int(fail.get("times", 1)),
                retry_after=fail.get("retry_after"),
                hang=float(fail.get("hang", 0)),
            )
        return JSONResponse({"latency_ms": faults.latency * 1000, "pending": faults.pending})

    def url(self, base: str, name: str) -> str:
        return base.rstrip("/") + self.vendors[name].prefix


class SandboxServer:
    """A :class:`Sandbox` served by uvicorn on loopback, in a thread of this process.

    ``port=0`` picks a free port. Used by ``personvern sandbox``, ``personvern demo`` and
    the tests (as a context manager).
    """

    def __init__(
        self,
        context: SandboxContext,
        names: Sequence[str] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        import uvicorn

        self.sandbox = Sandbox(context, names)
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        self.port = sock.getsockname()[1]
        self.url = f"http://{host}:{self.port}"
        config = uvicorn.Config(self.sandbox.app, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._sock = sock
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True
        )

    def vendor_url(self, name: str) -> str:
        return self.sandbox.url(self.url, name)

    def faults(self, name: str) -> Faults:
        return self.sandbox.faults[name]

    def app(self, name: str) -> VendorApp:
        return self.sandbox.apps[name]

    def start(self) -> SandboxServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the sandbox did not start within 10 s")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
