"""The connector contract: how personvern reaches a system to find, correct or erase a person.

A connector is mostly a declaration (STYLE.md): its ``name``, the ``capabilities`` it has,
the ``identity_types`` it can search by, and a pydantic ``Settings`` model (secrets named
by environment variable in the inventory, resolved to :class:`pydantic.SecretStr` before the
connector sees them). It gets plain data (an :class:`Identity`, an :class:`ErasurePlan`) and
returns plain data (:class:`AccessResult`, :class:`ErasureResult`, …). It never touches
personvern's own store, request rows or settings; persistence and retries are the
executor's job, which decides on the two kinds of error below.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

Capability = Literal["access", "erase", "rectify", "unsubscribe", "restrict", "sweep"]
IdentityType = Literal["email", "phone", "name", "customer_id", "ga_client_id"]


class ConnectorError(Exception):
    """Base of the two kinds of failure; the message says what to do next."""


class Retriable(ConnectorError):
    """Worth trying again: a timeout, 429, a 5xx, a lock. ``retry_after`` in seconds if known."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Fatal(ConnectorError):
    """Trying again will not help: bad credentials, 4xx, invalid data, a missing table."""


class Identity(BaseModel):
    """Who is asking: the identifiers a request was verified with (normalised)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    email: str | None = None
    phone: str | None = None
    name: str | None = None
    customer_id: str | None = None
    # A Google Analytics client id from the person's ``_ga`` cookie, given on the form.
    ga_client_id: str | None = None

    def values(self) -> dict[str, str]:
        """The identity types that are set, with their values."""
        return {k: v for k, v in self.model_dump().items() if v}


@dataclass(frozen=True)
class Record:
    """One row or object about the person, in one collection of one system.

    ``fields`` maps a field name (dotted for nested data) to its value; ``categories`` maps
    field names to fideslang data categories where known.
    """

    collection: str
    fields: Mapping[str, Any]
    categories: Mapping[str, str] = field(default_factory=dict)
    key: str | None = None  # the primary key or id, as text, where there is one


@dataclass(frozen=True)
class AccessResult:
    records: list[Record]
    notes: list[str] = field(default_factory=list)  # e.g. the shop's retention settings


@dataclass(frozen=True)
class Hold:
    """Fields kept despite erasure, and why (GDPR Art. 17(3)(b), e.g. bokføringsloven § 13)."""

    collection: str
    fields: tuple[str, ...]
    ground: str
    until: date | None


@dataclass(frozen=True)
class ErasurePlan:
    """What to do in one system: the default action and the holds that override it."""

    action: Literal["delete", "anonymize"] = "anonymize"
    holds: tuple[Hold, ...] = ()


@dataclass(frozen=True)
class ErasureResult:
    deleted: Mapping[str, int] = field(default_factory=dict)  # collection → rows
    anonymized: Mapping[str, int] = field(default_factory=dict)  # collection → rows
    kept: tuple[Hold, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class RectifyResult:
    changed: Mapping[str, int] = field(default_factory=dict)  # collection → rows
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Fact:
    """One setting of a system, as its admin screen names it (for :meth:`Connector.describe`)."""

    label: str  # e.g. "Anonymize completed orders after"
    value: str  # e.g. "5 years" or "14 months"
    source: str = ""  # where it was read: an API path, a setting name


@dataclass(frozen=True)
class SweepRule:
    """One retention rule as one connector applies it to one collection (issue 7).

    The retention engine has done the date arithmetic: a record whose ``date_field`` is
    before ``cutoff`` has outlived the rule. ``where`` narrows the records further (field →
    the values that qualify, e.g. ``{"status": ("unsubscribed", "cleaned")}``). For
    ``anonymize``, ``fields`` maps each field to mask to its masking strategy
    (:mod:`personvern.connectors.masking`); for ``delete`` the record goes. ``holds`` are
    fields other rules keep (never changed, and a record with held fields is anonymized
    instead of deleted); ``exclude`` are people under a legal hold (an open request, a
    dispute, a manual hold): their records are counted as held and never touched.

    A sweep must be idempotent (a record already anonymized is not counted again) and safe
    to stop at any point: it works in batches, each in its own transaction or call, so a
    second run carries on where a killed one stopped.
    """

    rule: str
    collection: str
    date_field: str
    cutoff: datetime
    action: Literal["delete", "anonymize"]
    fields: Mapping[str, str] = field(default_factory=dict)
    where: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    holds: tuple[Hold, ...] = ()
    exclude: tuple[Identity, ...] = ()


@dataclass(frozen=True)
class SweepResult:
    """What a sweep found and did, with no personal data in it (samples are redacted)."""

    rule: str
    collection: str
    matched: int  # records past their time, held ones included
    deleted: int = 0
    anonymized: int = 0
    held: int = 0  # matched but kept: a legal hold (``exclude``) covers them
    total: int = 0  # records in the collection, for the "too large a share" check
    oldest_kept: datetime | None = None  # the oldest date among records still kept as they were
    samples: tuple[Mapping[str, str], ...] = ()  # a few matched records, redacted
    notes: tuple[str, ...] = ()


class Connector:
    """Base class of every connector. Subclasses declare, then implement what they claim.

    ``__init__`` takes the validated settings; it must not do I/O (``check`` does).
    """

    name: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]]
    identity_types: ClassVar[frozenset[IdentityType]] = frozenset({"email"})
    Settings: ClassVar[type[BaseModel]]

    def __init__(self, settings: BaseModel) -> None:
        self.settings = settings

    async def check(self) -> None:
        """Reach the system and confirm the settings work; raise Fatal/Retriable if not."""
        raise NotImplementedError

    async def access(self, identity: Identity) -> AccessResult:
        raise Fatal(f"the {self.name} connector cannot look people up")

    async def erase(self, identity: Identity, plan: ErasurePlan) -> ErasureResult:
        """Erase the person; must be idempotent (a second call changes nothing)."""
        raise Fatal(f"the {self.name} connector cannot erase")

    async def rectify(self, identity: Identity, changes: Mapping[str, Any]) -> RectifyResult:
        raise Fatal(f"the {self.name} connector cannot correct data")

    async def unsubscribe(self, identity: Identity) -> RectifyResult:
        raise Fatal(f"the {self.name} connector cannot unsubscribe")

    async def restrict(self, identity: Identity) -> RectifyResult:
        """Mark the person restricted (Art. 18): stored only, no marketing or analytics."""
        raise Fatal(f"the {self.name} connector cannot restrict processing")

    async def describe(self) -> tuple[Fact, ...]:
        """What the system's own settings say that matters for privacy, read live.

        For the inventory view: e.g. WooCommerce's "personal data retention" settings or a
        Google Analytics property's data-retention period. Empty when there is nothing to
        tell; raises like any other call when the system cannot be reached.
        """
        return ()

    async def sweep(self, rule: SweepRule, *, dry_run: bool = False) -> SweepResult:
        """Apply a retention rule (issue 7); ``dry_run`` counts and samples, changes nothing."""
        raise Fatal(f"the {self.name} connector cannot apply retention rules")

    async def aclose(self) -> None:
        """Release connections; called once the connector is no longer needed."""
        return None
