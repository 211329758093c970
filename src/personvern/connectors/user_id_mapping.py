"""The user-id mapping a shop keeps: a person's e-mail address → the ids it sends to a vendor.

A shop that tells Google Analytics who a logged-in visitor is sends its own customer number
as GA's ``user_id`` (https://developers.google.com/analytics/devguides/collection/ga4/user-id).
A data-subject request knows the person's e-mail address, not that number, so the
``google_analytics`` connector asks the shop's database, with one SQL query that takes the
address as its only bound parameter (``:email``) and returns the ids in its first column:
several rows give several ids (two accounts), none means a guest, who has no user id.

The query runs through SQLAlchemy ``text()`` with the address bound, never formatted into
the SQL; in a worker thread (``asyncio.to_thread``: the drivers are synchronous); in a
transaction that is rolled back, so even a query that writes changes nothing. Errors are
sorted as the ``sql`` connector sorts them (:func:`personvern.connectors.sql.errors.classify`):
a database that cannot be reached is :class:`Retriable`, a bad URL or a failing query is
:class:`Fatal`, and no message carries the URL, its password or the address looked up.
"""

from __future__ import annotations

import asyncio
import re
import threading
from pathlib import Path
from typing import Final

from pydantic import SecretStr
from sqlalchemy import Engine, NullPool, create_engine, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, make_url

from personvern.connectors.base import Fatal, Retriable
from personvern.connectors.sql.errors import classify

DEFAULT_QUERY: Final = "SELECT id FROM customers WHERE lower(email) = lower(:email)"
"""The demo shop's schema (:mod:`personvern.demo.shop`): the customer number by address."""

# An address nobody has (RFC 2606 reserves .invalid): check() runs the query with it.
CHECK_ADDRESS: Final = "personvern-check@example.invalid"

_SETTING: Final = "user_id_url_env"  # how the inventory names the URL, for messages


def query_problem(query: str) -> str | None:
    """What is wrong with a ``user_id_query``, or None: it must bind ``:email`` and only that."""
    try:
        params = set(text(query).compile().params)
    except sa_exc.SQLAlchemyError as exc:
        return f"user_id_query cannot be read as SQL ({exc})"
    if params != {"email"}:
        found = ", ".join(f":{p}" for p in sorted(params)) or "none"
        return (
            "user_id_query must take the e-mail address as its one parameter, written "
            f":email (it has {found}), e.g. {DEFAULT_QUERY}"
        )
    return None


class UserIdMapping:
    """Looks a person's user ids up in the shop's database; one engine per instance.

    ``timeout`` bounds the connection attempt (a database that does not answer is
    retriable, like a vendor that hangs). Call :meth:`aclose` when done.
    """

    def __init__(self, url: SecretStr, query: str, *, timeout: float = 15.0) -> None:
        self._url = url
        self._query = text(query)
        self._timeout = timeout
        self._lock = threading.Lock()
        self._engine: Engine | None = None

    async def user_ids(self, email: str) -> list[str]:
        """The ids the query returns for ``email``, as text, in order, without repeats."""
        return await asyncio.to_thread(self._lookup, email)

    async def check(self) -> None:
        """Run the query once for an address nobody has: the URL and the query work."""
        await self.user_ids(CHECK_ADDRESS)

    async def aclose(self) -> None:
        with self._lock:
            engine, self._engine = self._engine, None
        if engine is not None:
            await asyncio.to_thread(engine.dispose)

    # --- in a worker thread ------------------------------------------------------------

    def _lookup(self, email: str) -> list[str]:
        engine = self._engine_()
        try:
            # connect(), never begin(): closing without commit rolls back whatever ran.
            with engine.connect() as conn:
                result = conn.execute(self._query, {"email": email})
                if not result.returns_rows:
                    raise Fatal(
                        "user_id_query returned no rows at all (it is not a SELECT); write a "
                        f"SELECT whose first column is the user id, e.g. {DEFAULT_QUERY}"
                    )
                found = [str(row[0]) for row in result if row and row[0] is not None]
        except sa_exc.SQLAlchemyError as exc:
            raise _classified(exc, email) from None
        return list(dict.fromkeys(v.strip() for v in found if v.strip()))

    def _engine_(self) -> Engine:
        with self._lock:
            if self._engine is None:
                self._engine = _make_engine(self._url.get_secret_value(), self._timeout)
            return self._engine


def _classified(error: sa_exc.SQLAlchemyError, email: str) -> Fatal | Retriable:
    """The connector error for a database error, without the address that was looked up."""
    sorted_ = classify(error, "looking up the person's user id in the shop's database")
    # A driver may quote the bound value ("invalid input syntax for type integer: …").
    message = _without(str(sorted_), email)
    if isinstance(sorted_, Retriable):
        return Retriable(message, retry_after=sorted_.retry_after)
    return Fatal(
        f"{message.removesuffix('; check the settings and dataset')}. Nothing was deleted. "
        f"Check user_id_query and the database {_SETTING} names"
    )


def _without(message: str, email: str) -> str:
    if not email:
        return message
    return re.sub(re.escape(email), "…", message, flags=re.IGNORECASE)


def _make_engine(url: str, timeout: float) -> Engine:
    try:
        parsed = make_url(url)
    except (sa_exc.ArgumentError, ValueError):
        # Not the value itself in the message: a URL carries a password.
        raise Fatal(
            f"the variable {_SETTING} names does not hold a SQLAlchemy database URL (like "
            "postgresql://user:password@host/shop or mysql+pymysql://…); fix the variable"
        ) from None
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")  # the driver personvern ships
    if parsed.drivername == "mysql":
        parsed = parsed.set(drivername="mysql+pymysql")
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        _sqlite_exists(parsed)
    # Bound the connection attempt, so a silent database is retriable, not a hang.
    seconds = max(1, round(timeout))
    connect_args: dict[str, object] = (
        {"timeout": timeout}
        if backend == "sqlite"
        else {"connect_timeout": seconds}
        if backend in ("postgresql", "mysql", "mariadb")
        else {}
    )
    try:
        return create_engine(parsed, poolclass=NullPool, connect_args=connect_args)
    except (sa_exc.NoSuchModuleError, ImportError) as exc:
        raise Fatal(
            f"no database driver for {parsed.drivername} ({type(exc).__name__}), the kind "
            f"of database the variable {_SETTING} names; for MariaDB/MySQL install "
            "personvern[mysql]"
        ) from None


def _sqlite_exists(parsed: URL) -> None:
    database = parsed.database or ""
    if database in ("", ":memory:") or not Path(database).is_file():
        # SQLite would create an empty file and find no one: a guest for everybody.
        raise Fatal(
            f"the SQLite database the variable {_SETTING} names does not exist; point it "
            "at the shop's database file"
        )
