"""What the plan and executor tests share: a small inventory, requests, a clock the test
moves, and a connector that reaches a real HTTP server on loopback.

Nothing of personvern's own is replaced: the connector is a real one (registered in a
registry the test builds), talking HTTP to a server in this process whose answers the test
scripts (429 with Retry-After, 503, 403, slow answers), and counting what it receives.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Coroutine, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import httpx
import yaml
from pydantic import BaseModel

from personvern.connectors.base import (
    AccessResult,
    Capability,
    Connector,
    ErasurePlan,
    ErasureResult,
    Fatal,
    Identity,
    Record,
    Retriable,
)
from personvern.runtime import Runtime
from personvern.store.requests import DataRequest

T = TypeVar("T")

# --- a scripted HTTP server ---------------------------------------------------------------


@dataclass
class Answer:
    status: int = 200
    retry_after: str | None = None
    delay: float = 0.0  # seconds the server takes to answer (real time)


@dataclass
class HttpLog:
    """What the server saw: requests per path, and the most that were in flight at once."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    hits: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    in_flight: int = 0
    max_in_flight: int = 0
    scripts: dict[str, list[Answer]] = field(default_factory=dict)

    def count(self, path: str) -> int:
        with self.lock:
            return len(self.hits.get(path, []))


class ScriptedServer:
    """A real HTTP server on a free loopback port; each path answers from its script."""

    def __init__(self) -> None:
        self.log = HttpLog()
        log = self.log

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return None

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                with log.lock:
                    log.in_flight += 1
                    log.max_in_flight = max(log.max_in_flight, log.in_flight)
                    log.hits.setdefault(self.path, []).append(body)
                    script = log.scripts.get(self.path, [])
                    answer = script.pop(0) if script else Answer()
                try:
                    if answer.delay:
                        time.sleep(answer.delay)
                    payload = json.dumps({"deleted": 1, "records": 1}).encode()
                    self.send_response(answer.status)
                    if answer.retry_after is not None:
                        self.send_header("Retry-After", answer.retry_after)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                finally:
                    with log.lock:
                        log.in_flight -= 1

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def script(self, path: str, *answers: Answer) -> None:
        with self.log.lock:
            self.log.scripts[path] = list(answers)

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


# --- a connector that reaches it ----------------------------------------------------------


class HttpSettings(BaseModel):
    url: str
    system: str


class HttpConnector(Connector):
    """Erases and looks up over HTTP, mapping status codes the way vendor connectors do."""

    name: ClassVar[str] = "http_test"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({"access", "erase"})
    Settings: ClassVar[type[BaseModel]] = HttpSettings

    async def check(self) -> None:
        return None

    async def _post(self, action: str, body: dict[str, Any]) -> dict[str, Any]:
        settings = self.settings
        assert isinstance(settings, HttpSettings)
        async with httpx.AsyncClient(timeout=30) as client:
            response = await client.post(f"{settings.url}/{action}/{settings.system}", json=body)
        if response.status_code == 429 or response.status_code >= 500:
            header = response.headers.get("Retry-After")
            raise Retriable(
                f"the test system answered {response.status_code}",
                retry_after=float(header) if header else None,
            )
        if response.status_code >= 400:
            raise Fatal(f"the test system refused with {response.status_code}; check the key")
        data: dict[str, Any] = response.json()
        return data

    async def erase(self, identity: Identity, plan: ErasurePlan) -> ErasureResult:
        body = {
            "email": identity.email,
            "action": plan.action,
            "holds": [
                {
                    "collection": h.collection,
                    "fields": list(h.fields),
                    "until": h.until.isoformat() if h.until else None,
                }
                for h in plan.holds
            ],
        }
        data = await self._post("erase", body)
        return ErasureResult(deleted={"people": int(data["deleted"])}, kept=plan.holds)

    async def access(self, identity: Identity) -> AccessResult:
        await self._post("access", {"email": identity.email})
        record = Record(collection="people", fields={"email": identity.email}, key="1")
        return AccessResult(records=[record])


# --- a clock the test moves -----------------------------------------------------------------


class FakeClock:
    """Starts at the real time; ``sleep`` moves it on at once and remembers how far."""

    def __init__(self) -> None:
        self.at = datetime.now(UTC)
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        return self.at

    async def sleep(self, seconds: float) -> None:
        import asyncio

        self.sleeps.append(seconds)
        self.at += timedelta(seconds=max(0.0, seconds))
        await asyncio.sleep(0)

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


# --- inventories and requests ---------------------------------------------------------------

CONTROLLER = {
    "name": "Strikkeloftet AS",
    "org_number": "923 609 016",
    "address": {"street": "Garnveien 3", "postal_code": "0150", "city": "Oslo"},
    "contacts": [{"purpose": "privacy", "email": "personvern@strikkeloftet.no"}],
    "no_dpo_statement": {"nb": "Vi trenger ikke personvernombud.", "en": "We need no DPO."},
}


def system(key: str, connector: Mapping[str, Any] | None, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "key": key,
        "name": f"System {key}",
        "kind": "internal",
        "role": "controller",
        "description": {"nb": "Et system.", "en": "A system."},
        "country": "NO",
        "data_categories": ["user.name", "user.contact.email"],
        **extra,
    }
    if connector is not None:
        data["connector"] = dict(connector)
    return data


def write_inventory(
    path: Path,
    systems: list[dict[str, Any]],
    *,
    bookkeeping_on: Sequence[str] = (),
) -> Path:
    """A valid inventory: every system in a customer activity; optionally bookkeeping."""
    activities: list[dict[str, Any]] = [
        {
            "key": "orders",
            "name": {"nb": "Ordrer", "en": "Orders"},
            "purpose": {"nb": "Levere varer.", "en": "Deliver goods."},
            "data_use": "essential.service",
            "legal_basis": {"article_6_1": "b"},
            "data_subjects": ["customer"],
            "data_categories": ["user.name", "user.contact.email"],
            "systems": [s["key"] for s in systems],
            "retention": "orders",
        }
    ]
    retention: list[dict[str, Any]] = [
        {
            "key": "orders",
            "name": {"nb": "Ordrer", "en": "Orders"},
            "period": "P3Y",
            "counted_from": "order_completed",
            "action": "delete",
            "legal_ground": {"nb": "Avtalen.", "en": "The contract."},
        }
    ]
    if bookkeeping_on:
        activities.append(
            {
                "key": "bookkeeping",
                "name": {"nb": "Bokføring", "en": "Bookkeeping"},
                "purpose": {"nb": "Oppfylle bokføringsplikten.", "en": "Keep the books."},
                "data_use": "essential.legal_obligation",
                "legal_basis": {"article_6_1": "c", "national": ["bokføringsloven § 13"]},
                "data_subjects": ["customer"],
                "data_categories": ["user.name", "user.contact.email"],
                "systems": list(bookkeeping_on),
                "retention": "bookkeeping_primary",
            }
        )
        retention.append(
            {
                "key": "bookkeeping_primary",
                "name": {"nb": "Primærdokumentasjon", "en": "Primary documentation"},
                "period": "P5Y",
                "counted_from": "end_of_accounting_year",
                "action": "delete",
                "legal_ground": {"nb": "Bokføringsloven § 13.", "en": "Bookkeeping Act § 13."},
            }
        )
    document = {
        "version": 1,
        "controller": CONTROLLER,
        "systems": systems,
        "activities": activities,
        "retention": retention,
    }
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False))
    return path


def make_request(
    runtime: Runtime,
    *,
    kind: str = "erase",
    status: str = "verified",
    email: str = "kari.nordmann@example.no",
    name: str | None = "Kari Nordmann",
    received: datetime | None = None,
    changes: Mapping[str, Any] | None = None,
) -> str:
    """A request row as the lifecycle leaves it, written straight to the store."""
    received = received or datetime.now(UTC)
    request_id = str(uuid.uuid4())
    with runtime.sessions() as session, session.begin():
        session.add(
            DataRequest(
                id=request_id,
                kind=kind,
                status=status,
                email=email,
                email_key=runtime.audit.subject_key(email),
                name=name,
                lang="nb",
                channel="admin",
                received_at=received,
                due_at=received + timedelta(days=30),
                verified_at=received,
                changes=json.dumps(dict(changes or {})),
                details="{}",
            )
        )
    return request_id


def audit_details(runtime: Runtime) -> Iterator[tuple[str, str]]:
    """Every audit entry as (action, details JSON text)."""
    for entry in runtime.audit.entries():
        yield entry.action, entry.details


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to the end on an event loop of its own, in a thread of its own.

    Not pytest-asyncio: the session's browser (Playwright's sync API, ``conftest.browser``)
    keeps an event loop running in the main thread once a browser test has run, and asyncio
    allows one running loop per thread, so async tests after it could not start theirs.
    """
    outcome: list[T] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            outcome.append(asyncio.run(coro))
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=target, name="test-event-loop")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return outcome[0]
