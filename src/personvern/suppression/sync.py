"""Pushing the suppression list to Mailchimp: every address not yet there is unsubscribed.

The targets are the inventory's systems whose connector type is ``mailchimp``, built with
the connector registry as the request executor builds them (secrets from the environment
variables the inventory names). Each pending address is handed to the connector's
``suppress(email)``, which sets the member ``unsubscribed`` in every audience and adds it
as unsubscribed where it is missing (Mailchimp Marketing API: ``PUT
/lists/{list_id}/members/{subscriber_hash}`` with ``status: unsubscribed``); so a person who
left by one-click is also kept out of the audiences they were never in.

- Each address is *claimed* before it is pushed, by a conditional UPDATE that moves its
  ``next_sync_at`` a lease ahead: two processes (the app and a cron'd ``personvern
  suppression sync``) never push one address at the same time, and one that died mid-way
  leaves the address due again once the lease ends. No transaction is open while Mailchimp
  is talked to. Pushing twice is harmless anyway: unsubscribing is idempotent.
- :class:`~personvern.connectors.base.Retriable` (timeout, 429, 5xx): tried again after
  the executor's backoff (:func:`personvern.dsr.executor.backoff`: exponential with jitter
  from ``PERSONVERN_JOBS_BACKOFF_SECONDS`` up to ``PERSONVERN_JOBS_BACKOFF_MAX_SECONDS``,
  never sooner than a ``Retry-After``), and without limit: an objection must be honoured,
  so the address is never given up on for a passing fault. The batch stops there, since the
  next address would meet the same fault.
- :class:`~personvern.connectors.base.Fatal` (bad key, a refused address): the row is
  ``failed`` with the message, for an admin (``personvern suppression list --status
  failed``; ``sync --retry-failed`` once fixed).
- A configuration problem (no ``mailchimp`` system, a missing environment variable) stops
  the run and leaves every address pending, for it is no address's fault.

The app runs :func:`run_sync` in the background (:func:`background_sync`), so a one-click
unsubscribe reaches Mailchimp within seconds; ``personvern suppression sync`` runs
:func:`sync_due` once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol, runtime_checkable

from sqlalchemy import ColumnElement, and_, func, or_, select, update

from personvern.connectors.base import Connector, Fatal, Retriable
from personvern.connectors.registry import (
    ConnectorRegistry,
    ConnectorSettingsError,
    UnknownConnector,
)
from personvern.dsr.executor import backoff
from personvern.dsr.holds import connector_settings
from personvern.inventory.loader import InventoryError
from personvern.runtime import Runtime
from personvern.store.base import utcnow
from personvern.store.suppressions import Suppression

log = logging.getLogger(__name__)

ACTOR = "system:suppression-sync"
CONNECTOR_TYPE = "mailchimp"
# Far longer than one push takes (a few HTTP calls, each within the connector's timeout),
# so that a claim is only taken over from a process that is really gone.
LEASE = timedelta(minutes=5)
POLL_SECONDS = 5.0
# A vendor's error text may quote the address; the log gets it without (never in clear).
_ADDRESS = re.compile(r"[^\s<>\"'@]+@[^\s<>\"'@]+")


def scrub(text: str) -> str:
    """``text`` with anything that looks like an e-mail address replaced by ``[address]``."""
    return _ADDRESS.sub("[address]", text)


@runtime_checkable
class Suppresses(Protocol):
    """A connector that can keep an address from getting marketing e-mail."""

    async def suppress(self, email: str) -> int: ...


class NoTarget(LookupError):
    """Nothing to push to; the message says how to set it up."""


@dataclass(frozen=True)
class SyncReport:
    """What one :func:`sync_due` did; ``problem`` is why it stopped early (or did nothing)."""

    systems: tuple[str, ...] = ()
    synced: int = 0
    retrying: int = 0
    failed: int = 0
    pending: int = 0
    problem: str | None = None

    def describe(self) -> str:
        text = (
            f"synced {self.synced}, to retry {self.retrying}, failed {self.failed}, "
            f"pending {self.pending}"
        )
        if self.systems:
            text += f" (to {', '.join(self.systems)})"
        return f"{text}; stopped: {self.problem}" if self.problem else text


def _targets(
    runtime: Runtime, registry: ConnectorRegistry, environ: Mapping[str, str] | None
) -> list[tuple[str, Connector]]:
    """The connectors to push to, one per ``mailchimp`` system; :class:`NoTarget` if none."""
    try:
        inventory = runtime.inventory()
    except (LookupError, InventoryError) as exc:
        raise NoTarget(str(exc)) from exc
    systems = [s for s in inventory.systems if s.connector and s.connector.type == CONNECTOR_TYPE]
    if not systems:
        raise NoTarget(
            "no system in the inventory has a mailchimp connector; add `connector: {type: "
            "mailchimp, ...}` to the Mailchimp system of privacy.yaml"
        )
    inventory_file = runtime.settings.inventory
    base_dir = Path(inventory_file).resolve().parent if inventory_file else None
    built: list[tuple[str, Connector]] = []
    for system in systems:
        assert system.connector is not None
        try:
            connector = registry.build(
                system.connector.type,
                connector_settings(system.connector),
                environ,
                base_dir=base_dir,
            )
        except (UnknownConnector, ConnectorSettingsError) as exc:
            raise NoTarget(f"system {system.key}: {exc}") from exc
        if not isinstance(connector, Suppresses):
            raise NoTarget(
                f"system {system.key}: the {system.connector.type} connector has no "
                "suppress(email); upgrade it"
            )
        built.append((system.key, connector))
    return built


def _due(at: datetime) -> ColumnElement[bool]:
    return and_(
        Suppression.sync_status == "pending",
        or_(Suppression.next_sync_at.is_(None), Suppression.next_sync_at <= at),
    )


def _claim(runtime: Runtime, at: datetime) -> tuple[int, str, int] | None:
    """Claim the next due address: (id, address, attempt number), or None."""
    with runtime.sessions() as session:
        session.connection(execution_options={"sqlite_immediate": True})
        candidate = (
            select(Suppression.id)
            .where(_due(at))
            .order_by(Suppression.next_sync_at, Suppression.id)
            .limit(1)
        )
        if session.get_bind().dialect.name == "postgresql":
            candidate = candidate.with_for_update(skip_locked=True)
        row_id = session.scalar(candidate)
        if row_id is None:
            return None
        result = session.execute(
            update(Suppression)
            .where(Suppression.id == row_id, _due(at))
            .values(next_sync_at=at + LEASE, sync_attempts=Suppression.sync_attempts + 1)
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0) != 1:
            session.rollback()
            return None
        session.commit()
        row = session.get(Suppression, row_id, populate_existing=True)
        assert row is not None
        return row.id, row.address, row.sync_attempts


def _settle(
    runtime: Runtime,
    row_id: int,
    *,
    status: str,
    at: datetime,
    next_at: datetime | None = None,
    error: str | None = None,
    details: Mapping[str, object] | None = None,
) -> None:
    with runtime.audit.session() as session:
        row = session.get(Suppression, row_id, with_for_update=True)
        if row is None:  # removed by an admin meanwhile
            return
        row.sync_status = status
        row.sync_error = error
        row.next_sync_at = next_at
        if status == "synced":
            row.synced_at = at
        if status != "pending":
            runtime.audit.append(
                session,
                actor=ACTOR,
                action=f"suppression.{'synced' if status == 'synced' else 'sync_failed'}",
                subject=row.address,
                object_type="suppression",
                object_id=str(row.id),
                details=dict(details or {}),
            )


def _pending(runtime: Runtime) -> int:
    with runtime.sessions() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(Suppression)
                .where(Suppression.sync_status == "pending")
            )
            or 0
        )


def retry_failed(runtime: Runtime) -> int:
    """Make every ``failed`` address pending again (after fixing the cause); how many."""
    with runtime.sessions() as session:
        result = session.execute(
            update(Suppression)
            .where(Suppression.sync_status == "failed")
            .values(sync_status="pending", next_sync_at=utcnow(), sync_attempts=0)
            .execution_options(synchronize_session=False)
        )
        session.commit()
        return int(getattr(result, "rowcount", 0))


async def sync_due(
    runtime: Runtime,
    *,
    registry: ConnectorRegistry | None = None,
    environ: Mapping[str, str] | None = None,
    limit: int = 100,
    now: datetime | None = None,
    rng: random.Random | None = None,
) -> SyncReport:
    """Push up to ``limit`` due addresses to every ``mailchimp`` system; see the module.

    ``environ`` stands in for the environment variables the inventory names, ``now`` for
    the clock and ``rng`` for the backoff's jitter (tests).
    """
    if await asyncio.to_thread(_pending, runtime) == 0:
        return SyncReport()
    registry = registry or ConnectorRegistry.from_entry_points()
    try:
        targets = _targets(runtime, registry, environ)
    except NoTarget as exc:
        return SyncReport(pending=await asyncio.to_thread(_pending, runtime), problem=str(exc))
    settings = runtime.settings
    jitter = rng or random.Random()  # noqa: S311 - jitter, not a secret
    synced = retrying = failed = 0
    problem: str | None = None
    try:
        for _ in range(limit):
            at = now or utcnow()
            claimed = await asyncio.to_thread(_claim, runtime, at)
            if claimed is None:
                break
            row_id, address, attempt = claimed
            audiences: dict[str, int] = {}
            try:
                for key, connector in targets:
                    assert isinstance(connector, Suppresses)
                    audiences[key] = await connector.suppress(address)
            except (Retriable, TimeoutError, ConnectionError) as exc:
                retry_after = exc.retry_after if isinstance(exc, Retriable) else None
                delay = backoff(
                    attempt,
                    base=settings.jobs_backoff_seconds,
                    cap=settings.jobs_backoff_max_seconds,
                    retry_after=retry_after,
                    rng=jitter,
                )
                message = str(exc) or type(exc).__name__
                await asyncio.to_thread(
                    _settle,
                    runtime,
                    row_id,
                    status="pending",
                    at=at,
                    next_at=at + timedelta(seconds=delay),
                    error=message,
                )
                retrying += 1
                problem = f"{message} (retried in {delay:.0f} s)"
                break
            except Exception as exc:
                # Fatal, or a connector bug (anything else): retrying will not fix it.
                message = str(exc) if isinstance(exc, Fatal) else f"unexpected {exc!r}"
                await asyncio.to_thread(
                    _settle,
                    runtime,
                    row_id,
                    status="failed",
                    at=at,
                    error=message,
                    details={"systems": [k for k, _ in targets], "kind": type(exc).__name__},
                )
                failed += 1
                continue
            await asyncio.to_thread(
                _settle,
                runtime,
                row_id,
                status="synced",
                at=at,
                details={"audiences": audiences},
            )
            synced += 1
    finally:
        for _, connector in targets:
            with contextlib.suppress(Exception):
                await connector.aclose()
    if synced or retrying or failed:
        log.info("suppression: synced %d, to retry %d, failed %d", synced, retrying, failed)
    return SyncReport(
        systems=tuple(k for k, _ in targets),
        synced=synced,
        retrying=retrying,
        failed=failed,
        pending=await asyncio.to_thread(_pending, runtime),
        problem=problem,
    )


async def run_sync(
    runtime: Runtime,
    *,
    stop: asyncio.Event,
    interval: float = POLL_SECONDS,
    registry: ConnectorRegistry | None = None,
) -> None:
    """Run :func:`sync_due` every ``interval`` seconds until ``stop`` is set.

    A problem is logged once until it changes (a missing Mailchimp key would otherwise fill
    the log every few seconds), by its text, which names no address.
    """
    last_problem: str | None = None
    while not stop.is_set():
        try:
            # The registry is built on the first pass with work, so an app whose list is
            # all pushed (most of the time) never loads the connectors for it.
            if registry is None and await asyncio.to_thread(_pending, runtime) > 0:
                registry = ConnectorRegistry.from_entry_points()
            report = await sync_due(runtime, registry=registry)
            if report.problem and report.problem != last_problem:
                log.warning("suppression: %s", scrub(report.problem))
            last_problem = report.problem
        except Exception as exc:
            log.error("suppression: the sync failed (%s); trying again", type(exc).__name__)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)


@contextlib.asynccontextmanager
async def background_sync(
    runtime: Runtime, *, interval: float = POLL_SECONDS, registry: ConnectorRegistry | None = None
) -> AsyncIterator[asyncio.Task[None]]:
    """Run :func:`run_sync` while the block runs (the app's lifespan uses this)."""
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_sync(runtime, stop=stop, interval=interval, registry=registry),
        name="personvern-suppression-sync",
    )
    try:
        yield task
    finally:
        stop.set()
        await task
