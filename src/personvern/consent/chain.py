"""A choice's record and its hash chain: what is written, and what the writer answers.

Entries are chained by SHA-256 within their receipt (``prev_hash`` → ``entry_hash``), so an
edited or removed entry shows (GDPR Art. 7(1): the log is the shop's proof of consent).
The first entry of a receipt chains to :data:`GENESIS`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from personvern.consent.choice import Choice
from personvern.consent.config import canonical_json

GENESIS = "0" * 64


def request_hash(choice: Choice) -> str:
    """SHA-256 of the choice as sent: equal for a repeated request, different otherwise."""
    return hashlib.sha256(canonical_json(choice.model_dump(mode="json"))).hexdigest()


def timestamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_hash(
    *,
    consent_id: str,
    seq: int,
    at: datetime,
    request: str,
    ip_prefix: str,
    ua_family: str,
    prev_hash: str,
) -> str:
    """The hash that chains an entry to the one before it in its receipt."""
    content = {
        "consent_id": consent_id,
        "seq": seq,
        "at": timestamp(at),
        "request_hash": request,
        "ip_prefix": ip_prefix,
        "ua_family": ua_family,
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(canonical_json(content)).hexdigest()


@dataclass(frozen=True)
class Pending:
    """A choice and what the server adds to it, waiting to be written."""

    choice: Choice
    at: datetime
    ip_prefix: str
    ua_family: str

    @property
    def request_hash(self) -> str:
        return request_hash(self.choice)


@dataclass(frozen=True)
class Written:
    """The answer to one choice: its receipt and entry, and whether it was new."""

    consent_id: str
    receipt_id: str
    seq: int
    recorded_at: datetime
    created: bool
