"""Consent writes under load, against ``personvern serve``, next to a trivial endpoint.

Starts ``personvern serve`` (a real process: uvicorn, one worker) on a fresh store, first
SQLite, then PostgreSQL, and drives it from 50 concurrent keep-alive clients (aiohttp,
asyncio; httpx's pool tops out near 500 requests/s here and would measure itself) on
loopback. In the same run and against the same server it measures:

- the ceiling: ``GET /api/v1/ping``, which does nothing;
- consent writes: ``POST /api/v1/consents``, each a new consent id (the most work: a new
  receipt and its first entry), acknowledged only once durable (SQLite
  ``synchronous=FULL``, PostgreSQL ``synchronous_commit=on``; see ``docs/consent.md``).

Phases alternate (ping, consent, ping, consent…) so drift hits both. Bounded: a fixed
number of requests per phase and a deadline per run. Prints throughput and p50/p99 latency
per phase and the ratio of consent writes to the ceiling. Goal: ≥ 50 % of the ceiling and
p99 < 50 ms on both stores.

    .venv/bin/python bench/consent_load.py                    # both stores
    .venv/bin/python bench/consent_load.py --store sqlite --requests 5000
    .venv/bin/python bench/consent_load.py --pg postgresql://postgres@127.0.0.1:5432/test

The PostgreSQL run creates a database of its own next to the one ``--pg`` names and drops
it afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import httpx

ROOT = Path(__file__).resolve().parent.parent
INVENTORY = ROOT / "examples" / "assemble" / "privacy.yaml"
SITE = "https://www.assemble.no"
DEADLINE = 600.0  # seconds per store, whatever happens


@dataclass(frozen=True)
class Result:
    name: str
    requests: int
    errors: int
    seconds: float
    latencies: list[float]
    cpu: float = 0.0  # seconds of the server process's CPU (user + system) in the phase

    @property
    def cpu_us(self) -> float:
        """Server CPU per request, in microseconds: robust to other load on the machine."""
        return self.cpu / self.requests * 1e6

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def postgres_database(base: str) -> Iterator[str]:
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(base)
    name = f"personvern_bench_{os.getpid()}"
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(drivername="postgresql+psycopg", database=name).render_as_string(
            hide_password=False
        )
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system, all threads) the process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Server:
    url: str
    pid: int


@contextmanager
def serve(database_url: str | None, folder: Path) -> Iterator[Server]:
    """``personvern serve`` on a free loopback port; yields its base URL and process id."""
    port = free_port()
    env = {
        **os.environ,
        "PERSONVERN_DATA_DIR": str(folder),
        "PERSONVERN_INVENTORY": str(INVENTORY),
        "PERSONVERN_SECRET_KEY": "bench-secret-key-bench-secret-key-0123456789",
    }
    env.pop("PERSONVERN_DATABASE_URL", None)
    if database_url:
        env["PERSONVERN_DATABASE_URL"] = database_url
    command = Path(sys.executable).parent / "personvern"
    log = (folder / "serve.log").open("wb")
    process = subprocess.Popen(  # noqa: S603  # our own console script, fixed arguments
        [str(command), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with suppress(httpx.HTTPError):
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"personvern serve did not start; see {folder / 'serve.log'}")
            time.sleep(0.2)
        yield Server(url, process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


Call = Any  # async (session) -> status code


async def phase(
    session: aiohttp.ClientSession,
    name: str,
    total: int,
    clients: int,
    make: Call,
    pid: int | None = None,
) -> Result:
    remaining = total
    latencies: list[float] = []
    errors = 0

    async def worker() -> None:
        nonlocal remaining, errors
        while remaining > 0:
            remaining -= 1
            started = time.perf_counter()
            status = await make(session)
            latencies.append(time.perf_counter() - started)
            if status not in (200, 201):
                errors += 1

    cpu = process_cpu(pid) if pid else 0.0
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    cpu = process_cpu(pid) - cpu if pid else 0.0
    return Result(name, total, errors, elapsed, latencies, cpu)


async def drive(server: Server, clients: int, requests: int, rounds: int) -> list[Result]:
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(server.url, connector=connector) as session:
        params = {"site": SITE, "lang": "nb"}
        async with session.get("/consent/config.json", params=params) as response:
            config = await response.json()
        keys = [c["k"] for c in config["cats"] if not c["l"]]
        headers = {"Origin": SITE, "User-Agent": "Mozilla/5.0 Firefox/133.0"}

        async def ping(s: aiohttp.ClientSession) -> int:
            async with s.get("/api/v1/ping") as response:
                await response.read()
                return response.status

        async def consent(s: aiohttp.ClientSession) -> int:
            body = {
                "consent_id": str(uuid.uuid4()),
                "site": SITE,
                "policy_version": config["v"],
                "texts_hash": config["h"],
                "granted": keys,
                "denied": [],
                "method": "accept_all",
                "gpc": False,
                "language": "nb",
                "page": "/",
            }
            async with s.post("/api/v1/consents", json=body, headers=headers) as response:
                await response.read()
                return response.status

        await phase(session, "warm-up", 500, clients, ping)
        await phase(session, "warm-up", 500, clients, consent)
        results = []
        for _ in range(rounds):
            for name, call in (("ping", ping), ("consent", consent)):
                results.append(await phase(session, name, requests, clients, call, server.pid))
        return results


def report(store: str, results: list[Result]) -> None:
    print(f"\n## {store}\n")
    print("| phase | requests | errors | req/s | p50 ms | p99 ms | server CPU µs/req |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r.name} | {r.requests} | {r.errors} | {r.rate:,.0f} | "
            f"{r.pct(0.50):.1f} | {r.pct(0.99):.1f} | {r.cpu_us:,.0f} |"
        )
    ping = statistics.mean(r.rate for r in results if r.name == "ping")
    writes = [r for r in results if r.name == "consent"]
    rate = statistics.mean(r.rate for r in writes)
    p99 = max(r.pct(0.99) for r in writes)
    ok = rate >= 0.5 * ping and p99 < 50
    print(
        f"\nconsent writes: {rate:,.0f}/s = {rate / ping:.0%} of the ceiling ({ping:,.0f}/s); "
        f"worst p99 {p99:.1f} ms — goal (≥ 50 %, p99 < 50 ms) {'met' if ok else 'NOT met'}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=4000, help="per phase")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--pg",
        default=os.environ.get(
            "PERSONVERN_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
        ),
        help="a PostgreSQL database to create the benchmark's own database next to",
    )
    args = parser.parse_args()
    print(
        f"{args.clients} concurrent clients, {args.requests} requests per phase, "
        f"{args.rounds} rounds; personvern serve (uvicorn, 1 worker) on loopback; "
        f"{os.cpu_count()} CPUs shared by server and clients"
    )
    stores = ["sqlite", "postgresql"] if args.store == "both" else [args.store]
    for store in stores:
        folder = Path(tempfile.mkdtemp(prefix=f"consent-load-{store}-"))
        try:
            if store == "sqlite":
                with serve(None, folder) as server:
                    results = asyncio.run(
                        asyncio.wait_for(
                            drive(server, args.clients, args.requests, args.rounds), DEADLINE
                        )
                    )
            else:
                with postgres_database(args.pg) as database, serve(database, folder) as server:
                    results = asyncio.run(
                        asyncio.wait_for(
                            drive(server, args.clients, args.requests, args.rounds), DEADLINE
                        )
                    )
            report(store, results)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
