"""Fan-out: an access request reaches the vendors concurrently, not one after another.

Builds the demo shop, serves every vendor sandbox from it with ``--latency`` seconds (200 ms
by default) added to **every** answer of every vendor (``server.faults(name).latency``),
points the Assemble inventory at them (:mod:`personvern.sandbox.wiring`) and, for the
person found in every sandbox, in each of ``--rounds`` rounds:

- **request**: the wall time of a real access request through the real executor
  (``Executor.run`` after planning: every step of the plan, manual tasks included, on a
  SQLite store);
- **sum**: each automatic system's connector built from the same inventory settings and
  its ``access`` timed alone, one system after another; the sum of those times is what a
  request would take if it visited the systems in turn.

It prints the median of each, each connector's median, and sum ÷ request. With the fan-out
concurrent the request takes about the slowest connector's time (Klarna and Vipps make
several calls each: WooCommerce first, then the provider), so the ratio is well above 1.

    .venv/bin/python bench/fanout.py                    # 200 ms, 60 customers, 5 rounds
    .venv/bin/python bench/fanout.py --latency 0.5 --rounds 3 --customers 200
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import SecretStr

from personvern.connectors.base import Identity
from personvern.connectors.registry import ConnectorRegistry
from personvern.demo.shop import build_shop
from personvern.dsr.control import queue_request
from personvern.dsr.executor import Executor
from personvern.dsr.holds import connector_settings
from personvern.runtime import Runtime
from personvern.sandbox.people import Person
from personvern.sandbox.server import SandboxContext, SandboxServer
from personvern.sandbox.wiring import demo_environment, showcase_person
from personvern.settings import Settings
from personvern.store.requests import DataRequest, RequestStep

ROOT = Path(__file__).resolve().parent.parent
ASSEMBLE = ROOT / "examples" / "assemble" / "privacy.yaml"


def _request(runtime: Runtime, person: Person) -> str:
    now = datetime.now(UTC)
    request_id = str(uuid.uuid4())
    with runtime.sessions() as session, session.begin():
        session.add(
            DataRequest(
                id=request_id,
                kind="access",
                status="verified",
                email=person.email,
                email_key=runtime.audit.subject_key(person.email),
                name=person.name,
                lang="nb",
                channel="admin",
                received_at=now,
                due_at=now + timedelta(days=30),
                verified_at=now,
                changes="{}",
                details="{}",
            )
        )
    return request_id


async def _through_the_executor(
    runtime: Runtime, registry: ConnectorRegistry, environ: dict[str, str], person: Person
) -> tuple[float, list[str]]:
    """The request's wall time, and the systems whose connectors ran (done)."""
    request_id = _request(runtime, person)
    await asyncio.to_thread(queue_request, runtime, request_id, registry)
    executor = Executor(runtime, registry, environ=environ)
    started = time.perf_counter()
    outcome = await executor.run(request_id)
    took = time.perf_counter() - started
    with runtime.sessions() as session:
        steps = session.query(RequestStep).filter_by(request_id=request_id).all()
        failed = {s.system_key: s.last_error for s in steps if s.status == "failed"}
        ran = sorted(s.system_key for s in steps if s.status == "done")
    if failed or outcome.status != "waiting":
        raise SystemExit(f"the request ended {outcome.status}; failed steps: {failed}")
    return took, ran


async def _one_after_another(
    runtime: Runtime,
    registry: ConnectorRegistry,
    environ: dict[str, str],
    person: Person,
    systems: list[str],
) -> dict[str, float]:
    """Each system's connector alone, in turn: seconds per system."""
    inventory = runtime.inventory()
    base_dir = ASSEMBLE.resolve().parent
    identity = Identity(email=person.email, name=person.name)
    times: dict[str, float] = {}
    for key in systems:
        ref = inventory.system(key).connector
        assert ref is not None
        connector = registry.build(ref.type, connector_settings(ref), environ, base_dir=base_dir)
        try:
            started = time.perf_counter()
            result = await connector.access(identity)
            times[key] = time.perf_counter() - started
        finally:
            await connector.aclose()
        if not result.records:
            raise SystemExit(f"{key} found nothing for {person.email}")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per answer")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--customers", type=int, default=60)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="personvern-fanout-") as scratch:
        folder = Path(scratch)
        shop_url = f"sqlite:///{folder / 'shop.sqlite3'}"
        build_shop(shop_url, customers=args.customers)
        settings = Settings(
            data_dir=folder / "data",
            database_url=None,
            inventory=ASSEMBLE,
            secret_key=SecretStr("fanout-bench-secret-key-0123456789abcdef"),
        )
        runtime = Runtime.open(settings)
        registry = ConnectorRegistry.from_entry_points()
        try:
            with SandboxServer(SandboxContext(shop_url)) as server:
                person = showcase_person(server)
                if person is None:
                    raise SystemExit("no one in this shop is in every sandbox; add --customers")
                environ = {
                    "SHOP_DATABASE_URL": shop_url,
                    **demo_environment(server, folder / "secrets"),
                }
                for name in server.sandbox.vendors:
                    server.faults(name).latency = args.latency
                walls: list[float] = []
                sums: list[float] = []
                per: dict[str, list[float]] = {}
                for _ in range(args.rounds):
                    wall, ran = asyncio.run(
                        _through_the_executor(runtime, registry, environ, person)
                    )
                    alone = asyncio.run(_one_after_another(runtime, registry, environ, person, ran))
                    walls.append(wall)
                    sums.append(sum(alone.values()))
                    for key, took in alone.items():
                        per.setdefault(key, []).append(took)
        finally:
            runtime.close()

    wall, total = statistics.median(walls), statistics.median(sums)
    print(f"latency per answer: {args.latency * 1000:.0f} ms; rounds: {args.rounds}; median")
    for key, times in sorted(per.items()):
        print(f"  {key:<20} {statistics.median(times) * 1000:7.0f} ms alone")
    slowest = max(statistics.median(t) for t in per.values())
    print(f"  {'slowest connector':<20} {slowest * 1000:7.0f} ms")
    print(f"  {'sum, one by one':<20} {total * 1000:7.0f} ms")
    print(f"  {'request (executor)':<20} {wall * 1000:7.0f} ms")
    print(f"  sum / request: {total / wall:.2f}×; request / slowest: {wall / slowest:.2f}×")


if __name__ == "__main__":
    main()
