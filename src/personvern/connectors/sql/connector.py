"""The ``sql`` connector: a person in any database SQLAlchemy reaches, by a fideslang dataset.

SQLite, PostgreSQL (``postgresql+psycopg://``) and MariaDB/MySQL (``mysql+pymysql://``,
``pip install personvern[mysql]``) are tested; other SQLAlchemy dialects should work. The
dataset (fideslang Dataset YAML, :mod:`personvern.connectors.datasets`) says which tables
and columns hold what, where the search starts (``identity``) and how tables join
(``references``); the database is reflected for the rest.

Settings (in the inventory; secrets by environment variable, resolved by the registry):

- ``url_env`` — the variable holding the SQLAlchemy URL (``url`` itself only for a SQLite
  file, which holds no password);
- ``dataset`` — the dataset file; ``dataset_key`` picks one if it has several;
- ``db_schema`` — the schema (PostgreSQL), else the dataset's ``fides_meta.namespace.schema``;
- ``hmac_key_env`` — the variable holding the key of the ``hmac`` masking strategy;
- ``batch_size`` — how many values go into one ``IN (...)`` and one executemany;
- ``max_rows`` — more rows than this in one table for one person is an error, not an erasure.

Every call runs in its own thread (``asyncio.to_thread``; the drivers are synchronous) and
its own transaction: an erasure finds and changes the rows in one, so it is all or nothing.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from personvern.connectors.base import (
    AccessResult,
    Capability,
    Connector,
    ErasurePlan,
    ErasureResult,
    Fatal,
    Identity,
    IdentityType,
    RectifyResult,
    SweepResult,
    SweepRule,
)
from personvern.connectors.datasets import DatasetError, DatasetSpec, load_dataset
from personvern.connectors.masking import MaskingContext
from personvern.connectors.sql import erasure, finding, rectify, sweep
from personvern.connectors.sql.errors import translated
from personvern.connectors.sql.schema import BoundDataset, bind


class SqlSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: SecretStr = Field(description="SQLAlchemy URL of the database (set url_env)")
    dataset: Path = Field(description="fideslang dataset YAML describing the database")
    dataset_key: str | None = Field(default=None, description="which dataset in the file")
    db_schema: str | None = Field(default=None, description="database schema, if not default")
    hmac_key: SecretStr | None = Field(default=None, description="key for the hmac strategy")
    batch_size: int = Field(default=500, ge=1, le=10_000)
    max_rows: int = Field(default=100_000, ge=1)


class SqlConnector(Connector):
    """Finds, corrects and erases a person in a SQL database described by a fideslang dataset."""

    name: ClassVar[str] = "sql"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {"access", "erase", "rectify", "sweep"}
    )
    identity_types: ClassVar[frozenset[IdentityType]] = frozenset({"email", "phone", "customer_id"})
    Settings: ClassVar[type[BaseModel]] = SqlSettings

    def __init__(self, settings: BaseModel) -> None:
        if not isinstance(settings, SqlSettings):
            settings = SqlSettings.model_validate(settings.model_dump())
        super().__init__(settings)
        self.config: SqlSettings = settings
        self._lock = threading.Lock()
        self._engine: Engine | None = None
        self._bound: BoundDataset | None = None

    # --- the contract ---------------------------------------------------------------------

    async def check(self) -> None:
        await asyncio.to_thread(self._check)

    async def access(self, identity: Identity) -> AccessResult:
        return await asyncio.to_thread(self._access, identity)

    async def erase(self, identity: Identity, plan: ErasurePlan) -> ErasureResult:
        return await asyncio.to_thread(self._erase, identity, plan)

    async def rectify(self, identity: Identity, changes: Mapping[str, Any]) -> RectifyResult:
        return await asyncio.to_thread(self._rectify, identity, changes)

    async def sweep(self, rule: SweepRule, *, dry_run: bool = False) -> SweepResult:
        return await asyncio.to_thread(self._sweep, rule, dry_run)

    async def aclose(self) -> None:
        with self._lock:
            engine, self._engine, self._bound = self._engine, None, None
        if engine is not None:
            await asyncio.to_thread(engine.dispose)

    # --- the work, in a worker thread -----------------------------------------------------

    def _check(self) -> None:
        bound = self._bind()
        bound.masking_ok()
        if "hmac" in {s.name for s in _strategies(bound.spec)} and not self.config.hmac_key:
            raise Fatal(
                "the dataset masks with hmac but no key is set: set hmac_key_env to the name "
                "of an environment variable holding a long random secret"
            )

    def _access(self, identity: Identity) -> AccessResult:
        bound = self._bind()
        values = self._identities(identity)
        if not values:
            return AccessResult(records=[], notes=["no identity this dataset searches by"])
        with translated("looking the person up"), self._connect() as conn:
            found = self._find(conn, bound, values)
        return AccessResult(records=finding.records(bound, found), notes=found.notes)

    def _erase(self, identity: Identity, plan: ErasurePlan) -> ErasureResult:
        bound = self._bind()
        values = self._identities(identity)
        if not values:
            return ErasureResult(notes=("no identity this dataset searches by",))
        context = MaskingContext(
            self.config.hmac_key.get_secret_value().encode() if self.config.hmac_key else None
        )
        with translated("erasing the person"), self._begin() as conn:
            found = self._find(conn, bound, values, erasure.erase_columns(bound))
            return erasure.erase(
                conn, bound, found, plan, context, batch_size=self.config.batch_size
            )

    def _rectify(self, identity: Identity, changes: Mapping[str, Any]) -> RectifyResult:
        bound = self._bind()
        targets = rectify.targets(bound, changes)
        values = self._identities(identity)
        if not values:
            return RectifyResult(notes=("no identity this dataset searches by",))
        with translated("correcting the person's data"), self._begin() as conn:
            found = self._find(conn, bound, values)
            return rectify.rectify(conn, bound, found, targets, batch_size=self.config.batch_size)

    def _sweep(self, rule: SweepRule, dry_run: bool) -> SweepResult:
        bound = self._bind()
        limits = sweep.Limits(self.config.batch_size, self.config.max_rows, self.identity_types)
        with translated(f"applying the retention rule {rule.rule}"):
            return sweep.sweep(
                self._engine_(), bound, rule, self._masking(), limits, dry_run=dry_run
            )

    def _masking(self) -> MaskingContext:
        key = self.config.hmac_key
        return MaskingContext(key.get_secret_value().encode() if key else None)

    def _find(
        self,
        conn: Connection,
        bound: BoundDataset,
        values: Mapping[str, str],
        extra: Mapping[str, tuple[str, ...]] | None = None,
    ) -> finding.Found:
        plan = bound.spec.graph.plan(values)
        return finding.find(
            conn,
            bound,
            plan,
            values,
            batch_size=self.config.batch_size,
            max_rows=self.config.max_rows,
            extra_columns=extra,
        )

    def _identities(self, identity: Identity) -> dict[str, str]:
        return {k: v for k, v in identity.values().items() if k in self.identity_types}

    # --- engine and dataset, made once per connector -------------------------------------

    def _bind(self) -> BoundDataset:
        with self._lock:
            if self._bound is not None:
                return self._bound
        spec = self._load()
        engine = self._engine_()
        with translated("reading the database's tables"), engine.connect() as conn:
            bound = bind(conn, spec, self.config.db_schema or spec.schema)
        with self._lock:
            self._bound = bound
        return bound

    def _load(self) -> DatasetSpec:
        try:
            return load_dataset(self.config.dataset, key=self.config.dataset_key)
        except DatasetError as exc:
            raise Fatal(str(exc)) from None

    def _engine_(self) -> Engine:
        with self._lock:
            if self._engine is None:
                self._engine = _make_engine(self.config.url.get_secret_value())
            return self._engine

    def _connect(self) -> Any:
        return self._engine_().connect()

    def _begin(self) -> Any:
        return self._engine_().begin()


def _make_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise Fatal("the url setting is not a SQLAlchemy database URL") from None
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")  # the driver personvern ships
    if parsed.drivername == "mysql":
        parsed = parsed.set(drivername="mysql+pymysql")
    sqlite = parsed.get_backend_name() == "sqlite"
    if sqlite:
        database = parsed.database or ""
        if database in ("", ":memory:") or not Path(database).is_file():
            # SQLite would create an empty file and find no one: say so instead.
            raise Fatal(f"there is no SQLite database at {database or '(no path)'}; check url")
    try:
        engine = create_engine(
            parsed,
            pool_pre_ping=True,
            connect_args={"timeout": 30} if sqlite else {},
        )
    except (NoSuchModuleError, ImportError) as exc:
        raise Fatal(
            f"no driver for {parsed.drivername}: {exc}; for MariaDB/MySQL install personvern[mysql]"
        ) from None
    if sqlite:
        # SQLite checks foreign keys only when asked; ask, so erasure is held to them too.
        event.listen(engine, "connect", _sqlite_foreign_keys)
    return engine


def _sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def _strategies(spec: DatasetSpec) -> list[Any]:
    return [f.masking for c in spec.collections.values() for f in c.fields if f.masking]
