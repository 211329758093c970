"""The plan of a request: one step per system that holds the person's data.

:func:`make_plan` is pure: from the inventory, the request and the connector registry it
says, for each system, what to do and who does it:

- which systems: those named by a processing activity whose data subjects include the
  people who make requests (customers, prospects, visitors by default). For an objection to
  direct marketing (Art. 21(2)–(3)) only systems of marketing activities; for a restriction
  (Art. 18) those of marketing and analytics; for rectification (Art. 16) those holding a
  category being corrected. personvern's own system is left out: its records (the request
  itself, consent proofs) are kept by personvern for accountability (Art. 5(2), 7(1)).
- the action: ``access``, ``erase``, ``rectify``, ``unsubscribe`` or ``restrict``;
- who: the system's connector when it is installed and has the capability, otherwise a
  **manual task** (:mod:`personvern.dsr.drafts`) with instructions and a drafted e-mail;
- for erasure: delete or anonymize, and the retention holds (GDPR Art. 17(3)(b), e.g.
  bokføringsloven § 13) with their legal ground and end date (:mod:`personvern.dsr.holds`).
  A system whose held data is not mapped to fields is *kept* whole, and the plan says so.

:func:`store_plan` writes the steps (``request_steps``) in the caller's transaction, once:
a step already stored is not stored again. The step's ``plan`` column holds
:meth:`PlannedStep.to_json`; the executor reads it back with :meth:`PlannedStep.from_json`.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Final, Literal, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from personvern.connectors.base import ErasurePlan
from personvern.connectors.registry import ConnectorRegistry, UnknownConnector
from personvern.dsr.drafts import ManualReason, ManualTask, RequestFacts, manual_task
from personvern.dsr.holds import (
    RuleHold,
    erasure_holds,
    hold_from_json,
    hold_to_json,
    rule_hold_to_json,
    rule_holds,
)
from personvern.dsr.status import RequestKind, StepAction
from personvern.i18n import LANGUAGES, N_, Language, translator
from personvern.i18n.catalogs import DISPLAY_TIMEZONE
from personvern.inventory.schema import Activity, Inventory, System
from personvern.store.base import utcnow
from personvern.store.requests import DataRequest, RequestStep

if TYPE_CHECKING:
    from personvern.runtime import Runtime

DEFAULT_SUBJECTS: Final = frozenset({"customer", "prospect", "visitor"})
OWN_SYSTEM: Final = "personvern"

KIND_ACTION: Final[Mapping[str, StepAction]] = {
    "access": "access",
    "rectify": "rectify",
    "erase": "erase",
    "object": "unsubscribe",
    "restrict": "restrict",
}

# What a correction touches, so that only systems holding it get a rectify step.
CHANGE_CATEGORIES: Final[Mapping[str, str]] = {
    "name": "user.name",
    "email": "user.contact.email",
    "phone": "user.contact.phone_number",
    "address": "user.contact.address",
}

_UNMAPPED = N_(
    "Nothing is erased in %(system)s: %(rules)s keep data here, and its connector settings do "
    "not say in which fields (add them under 'holds'), so all of it is kept for now."
)

Disposition = Literal["run", "keep", "manual"]


class PlanError(ValueError):
    """The request cannot be planned; the message says what to change."""


@dataclass(frozen=True)
class PlannedStep:
    """One system's part of a request, before it is stored.

    ``disposition``: ``run`` (the connector does it), ``manual`` (a person does it, see
    ``manual``) or ``keep`` (an erasure where everything in the system is held: nothing to
    run, the step records what is kept and why).
    """

    system_key: str
    action: StepAction
    connector: str | None
    disposition: Disposition
    erasure: ErasurePlan | None = None
    holds: tuple[RuleHold, ...] = ()  # the retention rules that keep data here
    changes: Mapping[str, Any] | None = None
    manual: ManualTask | None = None
    notes: tuple[Mapping[Language, str], ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        """What the ``plan`` column of the step holds (the other fields are columns)."""
        return {
            "version": 1,
            "disposition": self.disposition,
            "erasure": (
                None
                if self.erasure is None
                else {
                    "action": self.erasure.action,
                    "holds": [hold_to_json(h) for h in self.erasure.holds],
                }
            ),
            "holds": [rule_hold_to_json(h) for h in self.holds],
            "changes": None if self.changes is None else dict(self.changes),
            "manual": None if self.manual is None else self.manual.to_json(),
            "notes": [dict(n) for n in self.notes],
        }

    @classmethod
    def from_json(
        cls, system_key: str, action: str, connector: str | None, data: Mapping[str, Any]
    ) -> PlannedStep:
        erasure = data.get("erasure")
        manual = data.get("manual")
        return cls(
            system_key=system_key,
            action=cast(StepAction, action),
            connector=connector,
            disposition=data["disposition"],
            erasure=(
                None
                if erasure is None
                else ErasurePlan(
                    action=erasure["action"],
                    holds=tuple(hold_from_json(h) for h in erasure["holds"]),
                )
            ),
            holds=tuple(
                RuleHold(
                    rule=h["rule"],
                    ground=h["ground"],
                    until=date.fromisoformat(h["until"]) if h["until"] else None,
                    activities=tuple(h["activities"]),
                    categories=tuple(h["categories"]),
                )
                for h in data.get("holds", [])
            ),
            changes=data.get("changes"),
            manual=None if manual is None else ManualTask.from_json(manual),
            notes=tuple(data.get("notes", [])),
        )


def _overlaps(a: str, b: str) -> bool:
    """Two taxonomy keys overlap when one is the other or lies under it."""
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


def _relevant(activities: Sequence[Activity], kind: str) -> list[Activity]:
    if kind == "object":
        return [a for a in activities if a.data_use.startswith("marketing")]
    if kind == "restrict":
        return [a for a in activities if a.data_use.startswith(("marketing", "analytics"))]
    return list(activities)


def request_facts(request: DataRequest) -> RequestFacts:
    """The facts about ``request`` a plan and its texts need, in Norwegian dates."""
    due = request.extended_due_at or request.due_at
    return RequestFacts(
        kind=cast(RequestKind, request.kind),
        email=request.email,
        name=request.name,
        phone=request.phone,
        received=request.received_at.astimezone(DISPLAY_TIMEZONE).date(),
        due=due.astimezone(DISPLAY_TIMEZONE).date(),
        changes=json.loads(request.changes or "{}"),
    )


def _who(
    system: System, action: StepAction, registry: ConnectorRegistry
) -> tuple[str | None, ManualReason | None]:
    """The connector that runs ``action`` in ``system``, or why a person must."""
    if system.connector is None:
        return None, "no_connector"
    try:
        cls = registry.get(system.connector.type)
    except UnknownConnector:
        return None, "manual_connector" if system.connector.type == "manual" else (
            "unknown_connector"
        )
    if not cls.capabilities:
        return None, "manual_connector"
    if action not in cls.capabilities:
        return None, "lacks_capability"
    return cls.name, None


def _note(message: str, **values: str) -> dict[Language, str]:
    return {lang: translator(lang).gettext(message) % values for lang in LANGUAGES}


def make_plan(
    inventory: Inventory,
    request: DataRequest,
    registry: ConnectorRegistry | None = None,
    *,
    today: date | None = None,
    subjects: Collection[str] = DEFAULT_SUBJECTS,
    own_system: str | None = OWN_SYSTEM,
) -> list[PlannedStep]:
    """The steps for ``request``, one per system, in the inventory's order of systems.

    ``registry`` says which connectors exist (default: those installed, from the entry
    points). ``today`` is the day the plan is made (default: today in Norway); hold end
    dates are counted from it (:func:`personvern.dsr.holds.hold_until`). Given both, the
    result depends on the arguments only. Raises :class:`PlanError` for a request that
    cannot be planned (a rectification without corrections, a bad ``holds`` setting).
    """
    from personvern.dsr.holds import HoldsError

    if registry is None:
        registry = ConnectorRegistry.from_entry_points()
    if today is None:
        today = utcnow().astimezone(DISPLAY_TIMEZONE).date()
    if request.kind not in KIND_ACTION:
        raise PlanError(f"unknown request kind {request.kind!r}")
    action = KIND_ACTION[request.kind]
    facts = request_facts(request)
    changes = dict(facts.changes)
    wanted: list[str] | None = None
    if request.kind == "rectify":
        if not changes:
            raise PlanError(
                "a rectification request needs the corrections (name, email, phone, address) "
                "in its changes; add them before planning"
            )
        # A correction of a field personvern has no category for may touch any system.
        if all(key in CHANGE_CATEGORIES for key in changes):
            wanted = [CHANGE_CATEGORIES[key] for key in changes]
    people = [a for a in inventory.activities if set(a.data_subjects) & set(subjects)]
    relevant = _relevant(people, request.kind)
    steps: list[PlannedStep] = []
    for system in inventory.systems:
        if system.key == own_system:
            continue
        here = [a for a in relevant if system.key in a.systems]
        if not here:
            continue
        # The system's own categories say what it holds; an activity's span all its systems.
        if wanted is not None and not any(
            _overlaps(w, c) for w in wanted for c in system.data_categories
        ):
            continue
        holds: list[RuleHold] = []
        if action == "erase":
            holds = rule_holds(
                inventory, system, [a for a in people if system.key in a.systems], today
            )
        connector, reason = _who(system, action, registry)
        step_changes = changes if action == "rectify" else None
        if reason is not None:
            task = manual_task(inventory, system, facts, action, reason, holds=holds)
            steps.append(
                PlannedStep(
                    system.key,
                    action,
                    None,
                    "manual",
                    holds=tuple(holds),
                    changes=step_changes,
                    manual=task,
                )
            )
            continue
        if action != "erase":
            steps.append(PlannedStep(system.key, action, connector, "run", changes=step_changes))
            continue
        try:
            kept = erasure_holds(inventory, system, holds)
        except HoldsError as exc:
            raise PlanError(str(exc)) from exc
        if kept.unmapped:
            rules = ", ".join(h.rule for h in kept.unmapped)
            steps.append(
                PlannedStep(
                    system.key,
                    action,
                    connector,
                    "keep",
                    holds=tuple(holds),
                    notes=(_note(_UNMAPPED, system=system.name, rules=rules),),
                )
            )
            continue
        steps.append(
            PlannedStep(
                system.key,
                action,
                connector,
                "run",
                erasure=ErasurePlan(action=kept.action, holds=kept.holds),
                holds=tuple(holds),
            )
        )
    return steps


def store_plan(
    session: Session, request: DataRequest, steps: Sequence[PlannedStep]
) -> list[RequestStep]:
    """Write ``steps`` as ``request_steps`` rows (status ``pending``) in the caller's session.

    Steps already stored for the request (same system and action) are left as they are, so
    storing a plan twice stores it once. Returns every step of the request, in id order.
    """
    existing = {
        (s.system_key, s.action)
        for s in session.scalars(select(RequestStep).where(RequestStep.request_id == request.id))
    }
    for step in steps:
        if (step.system_key, step.action) in existing:
            continue
        session.add(
            RequestStep(
                request_id=request.id,
                system_key=step.system_key,
                connector=step.connector if step.disposition != "manual" else None,
                action=step.action,
                status="pending",
                plan=json.dumps(step.to_json(), ensure_ascii=False, sort_keys=True),
                attempts=0,
            )
        )
    session.flush()
    return list(
        session.scalars(
            select(RequestStep).where(RequestStep.request_id == request.id).order_by(RequestStep.id)
        )
    )


def plan_request(
    runtime: Runtime,
    request_id: str,
    registry: ConnectorRegistry,
    *,
    today: date | None = None,
    actor: str = "system:planner",
) -> list[RequestStep]:
    """Plan ``request_id`` from the runtime's inventory and store it, unless it has steps.

    Audited as ``request.planned`` with the number of steps and the system keys.
    """
    when = today or utcnow().astimezone(DISPLAY_TIMEZONE).date()
    with runtime.audit.session() as session:
        request = session.get(DataRequest, request_id)
        if request is None:
            raise LookupError(f"no request {request_id}")
        stored = list(
            session.scalars(
                select(RequestStep)
                .where(RequestStep.request_id == request_id)
                .order_by(RequestStep.id)
            )
        )
        if stored:
            return stored
        steps = make_plan(runtime.inventory(), request, registry, today=when)
        rows = store_plan(session, request, steps)
        runtime.audit.append(
            session,
            actor=actor,
            action="request.planned",
            subject=request.email,
            object_type="request",
            object_id=request.id,
            details={
                "kind": request.kind,
                "steps": len(rows),
                "manual": sum(1 for s in steps if s.disposition == "manual"),
                "kept": sum(1 for s in steps if s.disposition == "keep"),
                "systems": [s.system_key for s in steps],
            },
        )
        return rows
