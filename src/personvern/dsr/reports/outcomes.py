"""What was done, system by system: erasure, rectification, objection and restriction.

- **Erasure** (GDPR Art. 17): per system what was deleted and what anonymized (rows per
  collection), and what was *kept*, with the legal ground and the date it is kept until.
  Art. 17(3)(b) lets a controller keep what a legal obligation requires (bokføringsloven
  § 13: sales documents for five years after the accounting year); the person is entitled
  to know what and why (Art. 12(4) for the part not acted on).
- **Rectification** (Art. 16): per system what was corrected.
- **Objection to direct marketing** (Art. 21(3)) and **restriction** (Art. 18): per system
  that marketing stopped, or that the data is now only stored.

For the last three and for erasure, Art. 19 requires each recipient to be told, and the
person to be told who they are on request; the report lists the recipients (vendors) whose
step is done, by a connector or by hand, so the person need not ask.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Final

from personvern.dsr.reports.access import system_name
from personvern.dsr.reports.gather import Answer, Outcome
from personvern.i18n import N_, Translator
from personvern.i18n.catalogs import DISPLAY_TIMEZONE
from personvern.i18n.terms import ROLE, label
from personvern.inventory.schema import Inventory
from personvern.notices.vocabulary import Words

# The plan cites the GDPR the same way in both languages (personvern.dsr.holds._ground);
# a Norwegian reader gets the Norwegian citation.
_NB_CITES: Final[Mapping[str, str]] = {
    "GDPR Art. 17(3)(b)": "personvernforordningen artikkel 17 nr. 3 bokstav b",
    "GDPR Art. 6(1)(c)": "personvernforordningen artikkel 6 nr. 1 bokstav c",
}

# The corrections a rectification can carry (personvern.dsr.intake.FORM_CHANGES), as nouns.
CORRECTED: Final[Mapping[str, str]] = {
    "name": N_("Name"),
    "email": N_("E-mail address"),
    "phone": N_("Phone number"),
    "address": N_("Postal address"),
}


@dataclass(frozen=True)
class Counted:
    collection: str
    count: int


@dataclass(frozen=True)
class KeptRow:
    """Fields kept in one collection (Art. 17(3)(b)): which, why, until when."""

    collection: str
    fields: str
    ground: str
    until: str


@dataclass(frozen=True)
class KeptWhole:
    """A system whose data is all kept for now, under a retention rule."""

    categories: str
    ground: str
    until: str


@dataclass(frozen=True)
class SystemOutcome:
    """One system's part: ``state`` is done, by_hand, in_progress, failed or skipped."""

    key: str
    name: str
    role: str
    vendor: bool
    state: str
    note: str
    finished: str
    deleted: tuple[Counted, ...] = ()
    anonymized: tuple[Counted, ...] = ()
    kept: tuple[KeptRow, ...] = ()
    kept_whole: tuple[KeptWhole, ...] = ()
    changed: tuple[Counted, ...] = ()

    @property
    def finished_ok(self) -> bool:
        return self.state in ("done", "by_hand")

    @property
    def nothing(self) -> bool:
        """Done, and nothing about the person was there (or it was already gone)."""
        return self.state == "done" and not (
            self.deleted or self.anonymized or self.kept or self.kept_whole or self.changed
        )


@dataclass(frozen=True)
class Correction:
    field: str
    value: str


@dataclass(frozen=True)
class Done:
    """What a report of erasure, rectification, objection or restriction shows."""

    systems: tuple[SystemOutcome, ...]
    told: tuple[SystemOutcome, ...]  # recipients told (Art. 19)
    corrections: tuple[Correction, ...]

    @property
    def kept(self) -> bool:
        return any(s.kept or s.kept_whole for s in self.systems)


def ground_words(ground: str, words: Words) -> str:
    """A hold's legal ground as the reader's language cites it."""
    if words.lang == "nb":
        for cite, cited in _NB_CITES.items():
            ground = ground.replace(cite, cited)
        return ground
    return words.law(ground)


def until_words(until: date | None, words: Words, tr: Translator) -> str:
    return words.date(until) if until else tr.gettext(N_("No fixed end date"))


def _state(outcome: Outcome) -> str:
    if outcome.status == "done":
        return "by_hand" if outcome.manual else "done"
    if outcome.status in ("failed", "skipped"):
        return outcome.status
    return "in_progress"


def _counted(counts: Mapping[str, int]) -> tuple[Counted, ...]:
    return tuple(Counted(c, n) for c, n in counts.items() if n)


def system_outcome(
    outcome: Outcome, inventory: Inventory, tr: Translator, words: Words
) -> SystemOutcome:
    try:
        system = inventory.system(outcome.system_key)
        vendor = system.kind == "vendor"
        # A vendor's role says who decides about the data there; our own systems need none.
        role = label(tr, ROLE, system.role) if vendor else ""
    except KeyError:
        role, vendor = "", False
    finished = ""
    if outcome.finished_at is not None and outcome.status == "done":
        finished = words.date(outcome.finished_at.astimezone(DISPLAY_TIMEZONE).date())
    return SystemOutcome(
        key=outcome.system_key,
        name=system_name(inventory, outcome.system_key),
        role=role,
        vendor=vendor,
        state=_state(outcome),
        note=(outcome.note or "") if outcome.manual else "",
        finished=finished,
        deleted=_counted(outcome.deleted),
        anonymized=_counted(outcome.anonymized),
        kept=tuple(
            KeptRow(
                collection=k.collection,
                fields=", ".join(k.fields),
                ground=ground_words(k.ground, words),
                until=until_words(k.until, words, tr),
            )
            for k in outcome.kept
        ),
        kept_whole=tuple(
            KeptWhole(
                categories=words.join(dict.fromkeys(words.data_category(c) for c in k.categories)),
                ground=ground_words(k.ground, words),
                until=until_words(k.until, words, tr),
            )
            for k in outcome.kept_rules
        ),
        changed=_counted(outcome.changed),
    )


def done_content(answer: Answer, inventory: Inventory, tr: Translator) -> Done:
    """The outcomes of a request that is not an access request, for its report."""
    words = Words("en" if tr.lang == "en" else "nb")
    systems = tuple(
        system_outcome(o, inventory, tr, words) for o in answer.outcomes if o.action != "access"
    )
    corrections = tuple(
        Correction(tr.gettext(CORRECTED[k]) if k in CORRECTED else k, v)
        for k, v in answer.changes.items()
    )
    return Done(
        systems=systems,
        told=tuple(s for s in systems if s.vendor and s.finished_ok),
        corrections=corrections if answer.kind == "rectify" else (),
    )
