"""Database errors sorted into Retriable and Fatal, without personal data in the message."""

from __future__ import annotations

import pytest
from sqlalchemy import exc as sa_exc

from personvern.connectors.base import Fatal, Retriable
from personvern.connectors.sql.errors import classify


class PgError(Exception):
    def __init__(self, message: str, sqlstate: str | None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


class MyError(Exception):
    pass


def wrap(kind: type[sa_exc.DBAPIError], orig: Exception) -> sa_exc.DBAPIError:
    return kind("SELECT 1", {}, orig)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (wrap(sa_exc.OperationalError, PgError("deadlock detected", "40P01")), Retriable),
        (wrap(sa_exc.OperationalError, PgError("could not serialize", "40001")), Retriable),
        (wrap(sa_exc.OperationalError, PgError("terminating connection", "57P01")), Retriable),
        (wrap(sa_exc.OperationalError, PgError("password authentication failed", "28P01")), Fatal),
        (wrap(sa_exc.OperationalError, PgError('database "x" does not exist', None)), Fatal),
        (wrap(sa_exc.OperationalError, PgError("connection refused", None)), Retriable),
        (wrap(sa_exc.OperationalError, MyError(1213, "Deadlock found")), Retriable),
        (wrap(sa_exc.OperationalError, MyError(1205, "Lock wait timeout exceeded")), Retriable),
        (wrap(sa_exc.OperationalError, MyError(2003, "Can't connect to MySQL server")), Retriable),
        (wrap(sa_exc.OperationalError, MyError(1045, "Access denied for user 'root'")), Fatal),
        (wrap(sa_exc.OperationalError, MyError(1049, "Unknown database 'x'")), Fatal),
        (wrap(sa_exc.OperationalError, Exception("database is locked")), Retriable),
        (wrap(sa_exc.OperationalError, Exception("unable to open database file")), Fatal),
        (wrap(sa_exc.ProgrammingError, PgError("relation does not exist", "42P01")), Fatal),
        (wrap(sa_exc.IntegrityError, PgError("violates foreign key", "23503")), Fatal),
    ],
)
def test_classify(error: Exception, expected: type[Exception]) -> None:
    assert type(classify(error, "testing")) is expected


def test_messages_leave_values_out() -> None:
    error = wrap(
        sa_exc.IntegrityError,
        MyError(1062, "Duplicate entry 'ola.nordmann@example.com' for key 'email'"),
    )
    assert "ola.nordmann" not in str(classify(error, "correcting"))
    error = wrap(
        sa_exc.IntegrityError,
        PgError("Key (email)=(ola.nordmann@example.com) already exists.", "23505"),
    )
    message = str(classify(error, "correcting"))
    assert "ola.nordmann" not in message
    assert "Nothing was changed" in message
