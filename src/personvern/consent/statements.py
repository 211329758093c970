"""The consent log's SQL, in the driver's own terms: the writer's statements and rows.

The writer thread shares the interpreter (and its lock) with the web requests, so it talks
to the database with plain driver calls: ``executemany`` on SQLite, ``COPY`` and one
statement for a batch's first choices on PostgreSQL (each round trip is a hand-over of the
interpreter lock between the writer and the event loop). Statements are built from this
module's constant table and column names only; every value is a bound parameter.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Connection, Table

from personvern.consent.chain import GENESIS, Pending, Written, entry_hash
from personvern.store.consents import ConsentEntry, ConsentReceipt

RECEIPTS = cast(Table, ConsentReceipt.__table__)
ENTRIES = cast(Table, ConsentEntry.__table__)


def first_entry(pending: Pending) -> tuple[dict[str, Any], Written]:
    """The row :data:`FIRST_ENTRIES` takes for a consent id's first entry, and its answer."""
    choice = pending.choice
    digest = pending.request_hash
    receipt_id = secrets.token_urlsafe(16)
    chained = entry_hash(
        consent_id=choice.consent_id,
        seq=1,
        at=pending.at,
        request=digest,
        ip_prefix=pending.ip_prefix,
        ua_family=pending.ua_family,
        prev_hash=GENESIS,
    )
    row = {
        "consent_id": choice.consent_id,
        "receipt_id": receipt_id,
        "at": pending.at.isoformat(),
        "site": choice.site,
        "policy_version": choice.policy_version,
        "texts_hash": choice.texts_hash,
        "method": choice.method,
        "granted": ",".join(choice.granted),
        "denied": ",".join(choice.denied),
        "gpc": choice.gpc,
        "language": choice.language,
        "page": choice.page,
        "ip_prefix": pending.ip_prefix,
        "ua_family": pending.ua_family,
        "request_hash": digest,
        "entry_hash": chained,
    }
    return row, Written(choice.consent_id, receipt_id, 1, pending.at, True)


# First entries of new consent ids, receipts and entries together, in one statement: the
# receipt is inserted unless its consent id exists (then the writer takes the general
# way for it), and the entry only where its receipt was. Foreign keys are checked at the
# end of the statement, when both are in. repeat('0', 64) is GENESIS.
FIRST_ENTRIES = """
WITH batch AS (
    SELECT * FROM json_to_recordset(%s::json) AS b(
        consent_id varchar, receipt_id varchar, at timestamptz, site varchar,
        policy_version integer, texts_hash varchar, method varchar, granted varchar,
        denied varchar, gpc boolean, language varchar, page varchar, ip_prefix varchar,
        ua_family varchar, request_hash varchar, entry_hash varchar)
), receipts AS (
    INSERT INTO consent_receipts (consent_id, receipt_id, site, created_at, updated_at,
                                  entries, request_hash, entry_hash)
    SELECT consent_id, receipt_id, site, at, at, 1, request_hash, entry_hash FROM batch
    ON CONFLICT (consent_id) DO NOTHING
    RETURNING consent_id
), entries AS (
    INSERT INTO consent_entries (consent_id, seq, at, site, policy_version, texts_hash,
                                 method, granted, denied, gpc, language, page, ip_prefix,
                                 ua_family, request_hash, prev_hash, entry_hash)
    SELECT b.consent_id, 1, b.at, b.site, b.policy_version, b.texts_hash, b.method,
           b.granted, b.denied, b.gpc, b.language, b.page, b.ip_prefix, b.ua_family,
           b.request_hash, repeat('0', 64), b.entry_hash
    FROM batch b JOIN receipts r USING (consent_id)
)
SELECT consent_id FROM receipts
"""


RECEIPT_COLUMNS = (
    "consent_id",
    "receipt_id",
    "site",
    "created_at",
    "updated_at",
    "entries",
    "request_hash",
    "entry_hash",
)
ENTRY_COLUMNS = (
    "consent_id",
    "seq",
    "at",
    "site",
    "policy_version",
    "texts_hash",
    "method",
    "granted",
    "denied",
    "gpc",
    "language",
    "page",
    "ip_prefix",
    "ua_family",
    "request_hash",
    "prev_hash",
    "entry_hash",
)


@dataclass(frozen=True)
class Statements:
    """The log's statements in the driver's own parameter style, and its time format.

    The statements are built from this module's constant table and column names only; every
    value is a bound parameter (hence the ``noqa: S608`` below).
    """

    mark: str
    sqlite: bool

    @classmethod
    def of(cls, conn: Connection) -> Statements:
        dialect = conn.dialect
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        return cls(mark, dialect.name == "sqlite")

    def _marks(self, n: int) -> str:
        return ", ".join([self.mark] * n)

    def select_receipts(self, n: int) -> str:
        return (
            "SELECT consent_id, receipt_id, entries, request_hash, entry_hash, "  # noqa: S608
            f"updated_at FROM {RECEIPTS.name} WHERE consent_id IN ({self._marks(n)})"
        )

    def insert(
        self, conn: Connection, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]
    ) -> None:
        """Insert ``rows``: SQLite's executemany loops in C; on PostgreSQL, ``COPY`` sends
        the rows in one stream, with far less driver work per row than a pipeline of
        INSERTs (psycopg writes each row in C)."""
        names = ", ".join(columns)
        if self.sqlite:
            marks = self._marks(len(columns))
            conn.exec_driver_sql(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)  # noqa: S608
            return
        # dbapi_connection is typed optional; on a checked-out connection it is always set.
        raw: Any = conn.connection.dbapi_connection
        with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    @property
    def update_receipts(self) -> str:
        m = self.mark
        return (
            f"UPDATE {RECEIPTS.name} SET updated_at = {m}, entries = {m}, "  # noqa: S608
            f"request_hash = {m}, "
            f"entry_hash = {m} WHERE consent_id = {m}"
        )

    def time(self, value: datetime) -> datetime | str:
        """A timestamp as :class:`personvern.store.base.UTCDateTime` would store it."""
        value = value.astimezone(UTC)
        if self.sqlite:  # SQLAlchemy's SQLite DATETIME text format, microseconds always
            return value.strftime("%Y-%m-%d %H:%M:%S.%f")
        return value

    def read_time(self, value: datetime | str) -> datetime:
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
