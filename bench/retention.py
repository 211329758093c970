"""A retention sweep anonymizing a million expired orders through the sql connector (issue 7).

For each store (SQLite file, fresh PostgreSQL database) and each size (expired orders), it
creates the demo shop's tables (``personvern.demo.shop``, one customer), adds the orders
set-based in SQL (``generate_series`` / a recursive CTE: building must not dominate), all
completed and dated 2015–2019, and in a **fresh process** (so its memory is the sweep's
alone) runs the Assemble rule ``order_records`` (bokføringsloven § 13: anonymized five years
after the end of the accounting year) through ``SqlConnector.sweep`` with 13 fields masked:

- times the sweep and reports rows, seconds and rows per second;
- reports the peak of Python allocations during the sweep (``tracemalloc``) and the
  process's peak resident memory (``ru_maxrss``): both should be flat in the row count,
  since the table is walked in batches by primary key;
- runs it a second time: nothing is left to change (resumable, idempotent).

Goal: under 60 s for 1,000,000 rows on each store.

    .venv/bin/python bench/retention.py                                 # 250k and 1M, both
    .venv/bin/python bench/retention.py --sizes 20000 --stores sqlite
    .venv/bin/python bench/retention.py --pg postgresql://postgres@127.0.0.1:5432/postgres

The SQLite files live in a temporary folder; the PostgreSQL database is created next to
the one ``--pg`` names and dropped afterwards, whatever happens.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from personvern.connectors.base import SweepRule
from personvern.connectors.sql import SqlConnector, SqlSettings
from personvern.demo.shop import build_shop

ROOT = Path(__file__).resolve().parents[1]
DATASET = ROOT / "src" / "personvern" / "demo" / "assemble" / "shop_dataset.yml"
MASKED = (
    "customer_id",
    "billing_email",
    "billing_name",
    "billing_address",
    "billing_postal_code",
    "billing_city",
    "billing_phone",
    "shipping_name",
    "shipping_address",
    "shipping_postal_code",
    "shipping_city",
    "customer_ip",
    "customer_note",
)
COLUMNS = (
    "id, order_number, customer_id, billing_email, billing_name, billing_address, "
    "billing_postal_code, billing_city, billing_phone, shipping_name, shipping_address, "
    "shipping_postal_code, shipping_city, created_at, status, payment_method, currency, "
    "total, vat, customer_ip, customer_note"
)
FIRST_ID = 10_000_000  # above the one customer's own orders
BATCH = 10_000


def _values(i: str, sqlite: bool) -> str:
    """The SELECT list of one synthetic order numbered ``i`` (an SQL expression)."""
    cat = "||"
    day = (
        f"datetime('2015-01-01', '+' {cat} ({i} % 1800) {cat} ' days')"
        if sqlite
        else f"timestamp '2015-01-01' + ({i} % 1800) * interval '1 day'"
    )
    text_i = i if sqlite else f"{i}::text"
    return (
        f"{FIRST_ID} + {i}, 'B' {cat} {text_i}, 1, 'kunde' {cat} {text_i} {cat} '@example.no', "
        f"'Kari Nordmann', 'Storgata 1', '0155', 'Oslo', '+4791234567', 'Kari Nordmann', "
        f"'Storgata 1', '0155', 'Oslo', {day}, 'completed', 'card', 'NOK', 499.00, 99.80, "
        f"'10.0.0.1', 'Ring på'"
    )


def fill(url: str, rows: int) -> float:
    """The shop's tables with ``rows`` expired orders added set-based; seconds taken."""
    started = time.perf_counter()
    build_shop(url, customers=1)
    engine = create_engine(url)
    sqlite = engine.dialect.name == "sqlite"
    # Built from constants and an int: nothing from outside reaches the SQL text.
    if sqlite:
        insert = (
            f"INSERT INTO orders ({COLUMNS}) WITH RECURSIVE seq(i) AS "  # noqa: S608
            f"(SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < {rows}) "
            f"SELECT {_values('i', True)} FROM seq"
        )
    else:
        insert = (
            f"INSERT INTO orders ({COLUMNS}) SELECT {_values('i', False)} "  # noqa: S608
            f"FROM generate_series(1, {rows}) AS i"
        )
    with engine.begin() as conn:
        conn.execute(text(insert))
        if not sqlite:
            conn.execute(text("ANALYZE orders"))
    engine.dispose()
    return time.perf_counter() - started


def rule() -> SweepRule:
    return SweepRule(
        rule="order_records",
        collection="orders",
        date_field="created_at",
        cutoff=datetime(2021, 1, 1, tzinfo=ZoneInfo("Europe/Oslo")),
        action="anonymize",
        fields=dict.fromkeys(MASKED, "null_rewrite"),
        where={"status": ("completed", "refunded", "cancelled")},
    )


def measure(url: str) -> dict[str, float]:
    """Run in a fresh process: sweep twice, time the first, peak memory of both."""

    async def run() -> dict[str, float]:
        connector = SqlConnector(SqlSettings(url=url, dataset=DATASET, batch_size=BATCH))
        try:
            await connector.check()
            tracemalloc.start()
            started = time.perf_counter()
            first = await connector.sweep(rule())
            seconds = time.perf_counter() - started
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            second = await connector.sweep(rule())
        finally:
            await connector.aclose()
        return {
            "rows": first.anonymized,
            "seconds": seconds,
            "traced_peak_mb": peak / 2**20,
            "rss_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "second_run_changed": second.anonymized,
        }

    return asyncio.run(run())


@contextmanager
def postgres(base: str) -> Iterator[str]:
    url = make_url(base).set(drivername="postgresql+psycopg")
    name = f"pv_bench_retention_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def sqlite() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="pv-bench-retention-") as folder:
        yield f"sqlite:///{folder}/shop.sqlite3"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[250_000, 1_000_000])
    parser.add_argument("--stores", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return
    print(
        f"{'store':<11}{'rows':>10}{'build s':>9}{'sweep s':>9}{'rows/s':>10}"
        f"{'traced MB':>11}{'RSS MB':>8}{'2nd run':>9}"
    )
    for store in args.stores:
        for size in args.sizes:
            place = sqlite() if store == "sqlite" else postgres(args.pg)
            with place as url:
                built = fill(url, size)
                child = subprocess.run(  # noqa: S603 - this script, our own arguments
                    [sys.executable, __file__, "--measure", url],
                    check=True,
                    capture_output=True,
                    text=True,
                )
                m = json.loads(child.stdout)
                print(
                    f"{store:<11}{int(m['rows']):>10}{built:>9.1f}{m['seconds']:>9.1f}"
                    f"{m['rows'] / m['seconds']:>10.0f}{m['traced_peak_mb']:>11.1f}"
                    f"{m['rss_peak_mb']:>8.0f}{int(m['second_run_changed']):>9}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
