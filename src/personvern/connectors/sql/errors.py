"""Database errors sorted into the connector's two kinds: worth retrying, or not.

SQLAlchemy wraps every driver's exceptions; the driver's own code says what happened:
PostgreSQL's SQLSTATE (psycopg ``sqlstate``: class 08 connection, 40 serialization and
deadlock, 53 resources, 57P0x shutdown are transient; 28 credentials and 3D000 unknown
database are not), MySQL/MariaDB's error number (PyMySQL ``args[0]``: 1205 lock wait,
1213 deadlock, 2002/2003/2006/2013 connection are transient; 1044/1045 access, 1049 unknown
database are not), SQLite's message ("database is locked" is transient).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import exc as sa_exc

from personvern.connectors.base import ConnectorError, Fatal, Retriable

_PG_TRANSIENT = ("08", "40", "53", "57P01", "57P02", "57P03", "55P03")
_MYSQL_TRANSIENT = {1040, 1205, 1213, 2002, 2003, 2006, 2013, 2055}
_SQLITE_TRANSIENT = ("database is locked", "database table is locked", "busy")
# Connection failures often come without a code (the session never started): by message.
_UNREACHABLE = (
    "connection refused",
    "could not connect",
    "timed out",
    "timeout",
    "closed the connection",
)


def classify(error: BaseException, doing: str) -> ConnectorError:
    """The connector error for a database error met while ``doing`` something."""
    if isinstance(error, ConnectorError):
        return error
    orig = getattr(error, "orig", None)
    detail = _first_line(orig if orig is not None else error)
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return Retriable(f"the database connection broke while {doing}: {detail}; retrying")
    state = getattr(orig, "sqlstate", None)
    if isinstance(state, str) and state.startswith(_PG_TRANSIENT):
        return Retriable(f"the database was busy while {doing} ({detail}); retrying")
    code = orig.args[0] if orig is not None and getattr(orig, "args", None) else None
    if isinstance(code, int) and code in _MYSQL_TRANSIENT:
        return Retriable(f"the database was busy while {doing} ({detail}); retrying")
    if any(s in detail.lower() for s in _SQLITE_TRANSIENT):
        return Retriable(f"the database was locked while {doing} ({detail}); retrying")
    if isinstance(error, sa_exc.IntegrityError):
        return Fatal(
            f"the database refused a change while {doing}: {detail}. Nothing was changed. "
            "Usually another table refers to these rows: add it to the dataset with a "
            "reference, or let its rows be kept"
        )
    if isinstance(error, sa_exc.OperationalError) and any(
        s in detail.lower() for s in _UNREACHABLE
    ):
        return Retriable(f"the database could not be reached while {doing}: {detail}")
    return Fatal(f"the database failed while {doing}: {detail}; check the settings and dataset")


@contextmanager
def translated(doing: str) -> Iterator[None]:
    """Turn SQLAlchemy errors inside the block into :class:`Retriable` or :class:`Fatal`."""
    try:
        yield
    except sa_exc.SQLAlchemyError as error:
        raise classify(error, doing) from error


def _first_line(error: BaseException) -> str:
    """The driver's message, first line, with quoted values taken out.

    Drivers quote the offending value (MariaDB: ``Duplicate entry 'ola@example.com'``,
    PostgreSQL: ``Key (email)=(ola@example.com)``); the message may end up in a log or a
    request's history, where personal data must not be written in clear.
    """
    lines = str(error).strip().splitlines()
    text = lines[0] if lines else type(error).__name__
    text = re.sub(r"=\([^)]*\)", "=(…)", text)
    return re.sub(r"'[^']*'", "'…'", text)  # "…" quotes names (PostgreSQL): kept
