"""One access and one erasure through the sql connector, in a shop of a million customers.

For each store (SQLite file, fresh PostgreSQL database) and each size (customers; orders
are about five per customer: 1,000,000 customers → ~5,000,000 orders, ~9,000,000 order
lines), it builds the demo shop (``personvern.demo.shop``), picks a random registered
customer, and in a **fresh process** (so its memory is the connector's alone):

- loads the dataset and reflects the tables (``check``; once per connector);
- times ``access`` of the person, then ``erase`` with a bookkeeping hold on their orders
  (bokføringsloven § 13), then a second ``erase`` (idempotent: changes nothing);
- reports the peak of Python allocations during each call (``tracemalloc``) and the
  process's peak resident memory (``ru_maxrss``).

Goal: under 1 s for access and for erasure at every size, with memory flat in the size
(the searches are indexed ``IN (...)`` queries; no table is read whole).

    .venv/bin/python bench/requests.py                                  # 100k and 1M, both
    .venv/bin/python bench/requests.py --sizes 20000 100000 --stores sqlite
    .venv/bin/python bench/requests.py --pg postgresql://postgres@127.0.0.1:5432/postgres

The SQLite files live in a temporary folder; the PostgreSQL database is created next to
the one ``--pg`` names and dropped afterwards, whatever happens.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
DATASET = ROOT / "examples" / "assemble" / "shop_dataset.yml"
HELD = ("order_number", "created_at", "total", "vat", "billing_name", "billing_address")


def measure(url: str, email: str) -> dict[str, Any]:
    """Run in the child process: time and measure the connector's calls for one person."""
    from personvern.connectors.base import ErasurePlan, Hold, Identity
    from personvern.connectors.sql import SqlConnector, SqlSettings

    hold = Hold("orders", HELD, "bokføringsloven § 13", date(date.today().year + 5, 12, 31))
    plan = ErasurePlan("anonymize", (hold,))
    who = Identity(email=email)
    out: dict[str, Any] = {}

    async def run() -> None:
        connector = SqlConnector(SqlSettings(url=url, dataset=DATASET))
        try:
            for label, call in (
                ("setup", connector.check),
                ("access", lambda: connector.access(who)),
                ("erase", lambda: connector.erase(who, plan)),
                ("erase again", lambda: connector.erase(who, plan)),
            ):
                tracemalloc.start()
                started = time.perf_counter()
                result = await call()
                seconds = time.perf_counter() - started
                _, peak = tracemalloc.get_traced_memory()
                tracemalloc.stop()
                out[label] = {"seconds": seconds, "peak_bytes": peak}
                if label == "access":
                    out["records"] = len(result.records)  # type: ignore[union-attr]
                elif label.startswith("erase"):
                    out[label]["changed"] = sum(result.deleted.values()) + sum(  # type: ignore[union-attr]
                        result.anonymized.values()  # type: ignore[union-attr]
                    )
        finally:
            await connector.aclose()

    asyncio.run(run())
    out["maxrss_kib"] = _peak_rss_kib()
    return out


def _peak_rss_kib() -> int:
    """This process's peak resident memory. Linux keeps ``ru_maxrss`` across ``exec`` (it
    would report the parent's, which built the shop); ``VmHWM`` starts afresh."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


@contextmanager
def store(kind: str, pg: str, folder: Path, customers: int) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{folder / f'shop-{customers}.sqlite3'}"
        return
    base = make_url(pg).set(drivername="postgresql+psycopg")
    name = f"pv_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--stores", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--measure", nargs=2, metavar=("URL", "EMAIL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(*args.measure)))
        return 0

    from personvern.demo.shop import build_shop, sample_people

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="pv-bench-") as tmp:
        for kind in args.stores:
            for customers in args.sizes:
                with store(kind, args.pg, Path(tmp), customers) as url:
                    print(f"{kind}: building {customers:,} customers…", flush=True)
                    summary = build_shop(url, customers=customers, seed=args.seed)
                    pick = random.Random(args.seed)  # noqa: S311 - picks a test person
                    person = pick.choice(sample_people(url, 50))
                    child = subprocess.run(  # noqa: S603 - this script, our own arguments
                        [sys.executable, __file__, "--measure", url, person.email],
                        capture_output=True,
                        text=True,
                        check=True,
                    )
                    result = json.loads(child.stdout)
                    rows.append({"store": kind, "summary": summary, **result})
                    print(
                        f"  built {summary.orders:,} orders in {summary.seconds:.0f} s", flush=True
                    )
    print()
    print(
        f"{'store':<10} {'customers':>10} {'orders':>10} {'build':>7} {'setup':>7} "
        f"{'access':>8} {'erase':>8} {'again':>8} {'records':>7} {'peak MiB':>9} {'rss MiB':>8}"
    )
    for r in rows:
        s = r["summary"]
        peak = max(r[k]["peak_bytes"] for k in ("access", "erase", "erase again")) / 2**20
        print(
            f"{r['store']:<10} {s.customers:>10,} {s.orders:>10,} {s.seconds:>6.0f}s "
            f"{r['setup']['seconds']:>6.2f}s {r['access']['seconds'] * 1000:>6.1f}ms "
            f"{r['erase']['seconds'] * 1000:>6.1f}ms {r['erase again']['seconds'] * 1000:>6.1f}ms "
            f"{r['records']:>7} {peak:>9.2f} {r['maxrss_kib'] / 1024:>8.1f}"
        )
    slow = [r for r in rows if r["access"]["seconds"] >= 1 or r["erase"]["seconds"] >= 1]
    wrong = [r for r in rows if r["erase again"]["changed"] != 0 or r["erase"]["changed"] == 0]
    return 1 if slow or wrong else 0


if __name__ == "__main__":
    sys.exit(main())
