"""The retention engine: the inventory's rules → one sweep per target, run by its connector.

Each rule of the inventory's ``retention:`` list that has ``targets`` becomes one
:class:`~personvern.connectors.base.SweepRule` per target, which the target system's
connector applies (``Connector.sweep``, issue 7):

- **cutoff** — a record dated before it has outlived the rule. Counted from the end of the
  accounting year (bokføringsloven § 13(2)): a record dated in year *Y* expires at the end
  of 31 December *Y* plus the period, so the cutoff is 1 January of the year of
  (now − period), midnight in Europe/Oslo (P5Y on 1 March 2031: 1 January 2026, so
  everything from 2025 and before goes). Counted from anything else (created, last
  activity, unsubscribed, …): now − period, the ``date_field`` holding that event. A rule
  with no period ("until the event") expires at the event itself: the cutoff is now. The
  accounting year is the calendar year (regnskapsloven § 1-7, the default for small
  enterprises).
- **holds** — the fields *other* rules keep in that collection, from the system's
  connector setting ``holds`` (:mod:`personvern.dsr.holds`): a bookkeeping field is never
  changed by a marketing rule, and a row that keeps one is anonymized, not deleted;
- **exclude** — people under a legal hold (:mod:`personvern.retention.holds`).

**Safety.** Before a rule changes anything, each of its targets is swept dry to count; if
any would touch more than ``PERSONVERN_RETENTION_MAX_SHARE`` of its collection, the whole
rule stops with status ``confirm`` and nothing of it is changed until it is run with
``confirm=True`` (``--confirm``). A :class:`~personvern.connectors.base.Retriable` error is
tried again with backoff (``PERSONVERN_JOBS_BACKOFF_SECONDS``, doubled, up to
``PERSONVERN_JOBS_MAX_ATTEMPTS`` attempts); a :class:`~personvern.connectors.base.Fatal`
is reported on the target's row. Connectors work in batches of their own transactions, so
a batch that fails is rolled back and retrying carries on where it stopped.
"""

from __future__ import annotations

import asyncio
import calendar
import contextlib
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

from personvern.connectors.base import Connector, Fatal, Hold, Retriable, SweepResult, SweepRule
from personvern.connectors.registry import (
    ConnectorRegistry,
    ConnectorSettingsError,
    UnknownConnector,
)
from personvern.dsr.executor import Clock, SystemClock
from personvern.dsr.holds import HoldsError, connector_settings, parse_holds, rule_holds
from personvern.inventory.durations import Period
from personvern.inventory.schema import Inventory, RetentionRule, System
from personvern.retention import holds as legal
from personvern.retention import reports
from personvern.retention.rules import ends_no_later

if TYPE_CHECKING:
    from personvern.runtime import Runtime

OSLO = ZoneInfo("Europe/Oslo")
Status = Literal["ok", "confirm", "failed"]


class RetentionError(ValueError):
    """The run cannot start (an unknown rule, no inventory); the message says what to do."""


def _minus(period: Period, start: datetime) -> datetime:
    """``start`` minus ``period`` in calendar terms (31 March − P1M is 28/29 February)."""
    month_index = start.month - 1 - period.months - 12 * period.years
    year = start.year + month_index // 12
    month = month_index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    moved = start.replace(year=year, month=month, day=day)
    return moved - timedelta(days=period.days, seconds=period.seconds)


def cutoff(period: Period | None, counted_from: str, now: datetime) -> datetime:
    """The moment before which a record has outlived a rule, as an aware UTC datetime."""
    local = now.astimezone(OSLO)
    if period is None:
        return now.astimezone(UTC)
    before = _minus(period, local)
    if counted_from == "end_of_accounting_year":
        return datetime(before.year, 1, 1, tzinfo=OSLO).astimezone(UTC)
    return before.astimezone(UTC)


@dataclass(frozen=True)
class PlannedSweep:
    """One target of one rule: the system, its connector type and the sweep to run."""

    rule: str
    system: str
    connector: str | None  # None: the system has no connector
    sweep: SweepRule
    problem: str | None = None  # set: the sweep cannot run, and this says why


def _rule_or_none(inventory: Inventory, key: str) -> RetentionRule | None:
    try:
        return inventory.rule(key)
    except KeyError:
        return None


def _field_holds(
    inventory: Inventory, system: System, rule_key: str, collection: str, today: date
) -> tuple[Hold, ...]:
    """The fields other rules keep in ``collection`` of ``system`` (raises HoldsError).

    A rule whose time runs out no later than the sweeping rule's (same starting event, a
    period no longer) holds nothing: every record the sweep reaches is past it too. So an
    order anonymized five years after its accounting year no longer keeps the fields the
    five-year bookkeeping rule held (bokføringsloven § 13).
    """
    mapping = parse_holds(inventory, system)
    grounds = {h.rule: h for h in rule_holds(inventory, system, inventory.activities, today)}
    sweeping = _rule_or_none(inventory, rule_key)
    out: list[Hold] = []
    for key, field_map in mapping.items():
        if key == rule_key:
            continue
        holder = _rule_or_none(inventory, key)
        if sweeping is not None and holder is not None and ends_no_later(holder, sweeping):
            continue
        for place, fields in field_map.places:
            if place == collection:
                held = grounds.get(key)
                out.append(
                    Hold(
                        collection=place,
                        fields=fields,
                        ground=held.ground if held else key,
                        until=held.until if held else None,
                    )
                )
    return tuple(out)


def plan_sweeps(
    inventory: Inventory,
    *,
    now: datetime,
    exclude: tuple[Any, ...] = (),
    rule: str | None = None,
) -> list[PlannedSweep]:
    """Every target of every rule (or of ``rule``) as a :class:`SweepRule`, in rule order."""
    rules: Iterable[RetentionRule] = inventory.retention
    if rule is not None:
        try:
            rules = [inventory.rule(rule)]
        except KeyError:
            names = ", ".join(r.key for r in inventory.retention if r.targets) or "(none)"
            raise RetentionError(
                f"the inventory has no retention rule {rule!r}; rules with targets: {names}"
            ) from None
    today = now.astimezone(OSLO).date()
    planned: list[PlannedSweep] = []
    for item in rules:
        when = cutoff(item.period, item.counted_from, now)
        for target in item.targets:
            action = item.action_for(target)
            sweep = SweepRule(
                rule=item.key,
                collection=target.collection,
                date_field=target.date_field,
                cutoff=when,
                action=action,
                fields=dict(target.fields or {}) if action == "anonymize" else {},
                where={k: tuple(str(v) for v in vs) for k, vs in (target.where or {}).items()},
                exclude=exclude,
            )
            problem: str | None = None
            connector: str | None = None
            try:
                system = inventory.system(target.system)
            except KeyError:
                problem = (
                    f"the rule names the system {target.system!r}, which is not in the inventory"
                )
            else:
                if system.connector is None:
                    problem = f"the system {system.key!r} has no connector to sweep with"
                else:
                    connector = system.connector.type
                    try:
                        held = _field_holds(inventory, system, item.key, target.collection, today)
                        sweep = replace(sweep, holds=held)
                    except HoldsError as exc:
                        problem = str(exc)
            planned.append(PlannedSweep(item.key, target.system, connector, sweep, problem))
    return planned


@dataclass(frozen=True)
class TargetOutcome:
    """What became of one planned sweep in a run."""

    planned: PlannedSweep
    status: Status
    result: SweepResult | None = None
    error: str | None = None
    attempts: int = 0
    duration: float = 0.0

    @property
    def share(self) -> float:
        """The part of the collection this sweep changes (held records are not changed)."""
        if self.result is None or self.result.total <= 0:
            return 0.0
        return (self.result.matched - self.result.held) / self.result.total

    def report(self) -> reports.ReportRow:
        result = self.result
        return reports.ReportRow(
            rule=self.planned.rule,
            system=self.planned.system,
            collection=self.planned.sweep.collection,
            action=self.planned.sweep.action,
            cutoff=self.planned.sweep.cutoff,
            status=self.status,
            matched=result.matched if result else 0,
            deleted=result.deleted if result else 0,
            anonymized=result.anonymized if result else 0,
            held=result.held if result else 0,
            total=result.total if result else 0,
            attempts=self.attempts,
            duration_seconds=round(self.duration, 3),
            oldest_kept=result.oldest_kept if result else None,
            error=self.error,
        )


@dataclass(frozen=True)
class RunOutcome:
    """A whole run: its id, every target's outcome and the people held, by reason."""

    run_id: str
    dry_run: bool
    cutoff_now: datetime
    outcomes: tuple[TargetOutcome, ...]
    held_people: Mapping[str, int] = field(default_factory=dict)

    @property
    def needs_confirmation(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(o.planned.rule for o in self.outcomes if o.status == "confirm"))

    @property
    def failed(self) -> tuple[TargetOutcome, ...]:
        return tuple(o for o in self.outcomes if o.status == "failed")

    @property
    def status(self) -> str:
        if self.failed:
            return "failed"
        return "confirm" if self.needs_confirmation else "ok"


class RetentionEngine:
    """Runs the inventory's rules through the connectors; reports each target."""

    def __init__(
        self,
        runtime: Runtime,
        registry: ConnectorRegistry,
        *,
        clock: Clock | None = None,
        environ: Mapping[str, str] | None = None,
        max_share: float | None = None,
    ) -> None:
        self.runtime = runtime
        self.registry = registry
        self.clock: Clock = clock or SystemClock()
        self._environ = environ
        settings = runtime.settings
        self.max_share = settings.retention_max_share if max_share is None else max_share

    async def run(
        self,
        *,
        dry_run: bool,
        rule: str | None = None,
        confirm: bool = False,
        now: datetime | None = None,
        trigger: str = "cli",
        actor: str = "cli",
        scheduled_day: str | None = None,
    ) -> RunOutcome:
        """Plan, check and run; every target gets a report row. ``now`` ages the data."""
        now = now or self.clock.now()
        inventory = self.runtime.inventory()
        found = await asyncio.to_thread(legal.exclusions, self.runtime, now)
        planned = plan_sweeps(
            inventory, now=now, exclude=legal.excluded_identities(found), rule=rule
        )
        run_id = await asyncio.to_thread(
            lambda: reports.start_run(
                self.runtime,
                dry_run=dry_run,
                trigger=trigger,
                actor=actor,
                rule=rule,
                scheduled_day=scheduled_day,
                now=now,
            )
        )
        connectors: dict[str, Connector | str] = {}
        outcomes: list[TargetOutcome] = []
        try:
            by_rule: dict[str, list[PlannedSweep]] = {}
            for item in planned:
                by_rule.setdefault(item.rule, []).append(item)
            for group in by_rule.values():
                done = await self._rule(group, connectors, dry_run, confirm)
                # Reported rule by rule: a run stopped half-way still shows what it did.
                for target in done:
                    await asyncio.to_thread(
                        reports.write_report,
                        self.runtime,
                        run_id,
                        target.report(),
                        dry_run=dry_run,
                        actor=actor,
                    )
                outcomes.extend(done)
        except BaseException:
            await asyncio.to_thread(reports.finish_run, self.runtime, run_id, "failed")
            raise
        finally:
            for built in connectors.values():
                if isinstance(built, Connector):
                    # Closing is best effort: the run's work is done either way.
                    with contextlib.suppress(Exception):
                        await built.aclose()
        outcome = RunOutcome(run_id, dry_run, now, tuple(outcomes), legal.reasons(found))
        await asyncio.to_thread(reports.finish_run, self.runtime, run_id, outcome.status)
        return outcome

    async def _rule(
        self,
        group: list[PlannedSweep],
        connectors: dict[str, Connector | str],
        dry_run: bool,
        confirm: bool,
    ) -> list[TargetOutcome]:
        # Count first, everywhere the rule applies: a rule that would take too large a share
        # of a collection changes nothing anywhere until someone confirms it.
        counted = [await self._sweep(item, connectors, dry_run=True) for item in group]
        if dry_run:
            return counted
        too_large = [o for o in counted if o.status == "ok" and o.share > self.max_share]
        if too_large and not confirm:
            first = too_large[0].planned
            return [self._stopped(o, first) if o.status == "ok" else o for o in counted]
        done: list[TargetOutcome] = []
        for item, dry in zip(group, counted, strict=True):
            done.append(dry if dry.status != "ok" else await self._sweep(item, connectors))
        return done

    def _stopped(self, counted: TargetOutcome, first: PlannedSweep) -> TargetOutcome:
        """A target left alone because its rule waits for confirmation, and why."""
        if counted.share > self.max_share:
            error = (
                f"would change {counted.share:.0%} of {counted.planned.sweep.collection}, "
                f"more than the {self.max_share:.0%} allowed in one run "
                "(PERSONVERN_RETENTION_MAX_SHARE); check the plan, then run again with --confirm"
            )
        else:
            error = (
                f"not run: the rule waits for --confirm because of {first.system} › "
                f"{first.sweep.collection}"
            )
        return replace(counted, status="confirm", error=error)

    def _connector(self, item: PlannedSweep, connectors: dict[str, Connector | str]) -> Connector:
        """The system's connector, built once per run; raises Fatal if it cannot be."""
        cached = connectors.get(item.system)
        if isinstance(cached, Connector):
            return cached
        if isinstance(cached, str):
            raise Fatal(cached)
        try:
            cls = self.registry.get(item.connector or "")
            if "sweep" not in cls.capabilities:
                raise Fatal(
                    f"the {cls.name} connector of {item.system} cannot apply retention rules; "
                    "remove this target from the rule or use a connector that can sweep"
                )
            system = self.runtime.inventory().system(item.system)
            assert system.connector is not None
            inventory_file = self.runtime.settings.inventory
            built = self.registry.build(
                system.connector.type,
                connector_settings(system.connector),
                self._environ if self._environ is not None else os.environ,
                base_dir=Path(inventory_file).resolve().parent if inventory_file else None,
            )
        except (UnknownConnector, ConnectorSettingsError, Fatal) as exc:
            connectors[item.system] = str(exc)
            raise Fatal(str(exc)) from exc
        connectors[item.system] = built
        return built

    async def _sweep(
        self, item: PlannedSweep, connectors: dict[str, Connector | str], *, dry_run: bool = False
    ) -> TargetOutcome:
        """One sweep with retries; never raises for the connector's errors."""
        if item.problem is not None:
            return TargetOutcome(item, "failed", error=item.problem)
        settings = self.runtime.settings
        started = time.monotonic()
        attempts = 0
        while True:
            attempts += 1
            try:
                connector = self._connector(item, connectors)
                result = await connector.sweep(item.sweep, dry_run=dry_run)
            except (Retriable, TimeoutError, ConnectionError) as exc:
                if attempts >= settings.jobs_max_attempts:
                    message = f"gave up after {attempts} attempts: {exc or type(exc).__name__}"
                    return TargetOutcome(
                        item,
                        "failed",
                        error=message,
                        attempts=attempts,
                        duration=time.monotonic() - started,
                    )
                wait = settings.jobs_backoff_seconds * 2 ** (attempts - 1)
                if isinstance(exc, Retriable) and exc.retry_after is not None:
                    wait = max(wait, exc.retry_after)
                await self.clock.sleep(min(wait, settings.jobs_backoff_max_seconds))
                continue
            except Fatal as exc:
                return TargetOutcome(
                    item,
                    "failed",
                    error=str(exc),
                    attempts=attempts,
                    duration=time.monotonic() - started,
                )
            except Exception as exc:
                # A connector should raise Retriable or Fatal; anything else is a bug in it.
                message = (
                    f"unexpected error in the {item.connector} connector "
                    f"({type(exc).__name__}); report it to the connector's authors"
                )
                return TargetOutcome(
                    item,
                    "failed",
                    error=message,
                    attempts=attempts,
                    duration=time.monotonic() - started,
                )
            return TargetOutcome(
                item, "ok", result=result, attempts=attempts, duration=time.monotonic() - started
            )
