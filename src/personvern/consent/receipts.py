"""Consent receipts, shaped after ISO/IEC TS 27560:2023 (consent record information
structure), as ``GET /api/v1/consents/{id}`` returns them and the privacy center shows them.

A receipt is the record of one consent id as the person may see it: who the controller is;
which notice was shown (policy version, language and the SHA-256 of the exact banner
texts, which are kept in ``consent_notices``); for each purpose (cookie category) whether
consent is given, refused, withdrawn or not needed; how it was given (method, Global
Privacy Control, page); when (first, last, withdrawal, expiry); and the whole history of
changes, each entry chained to the one before by hash. Field names follow the DPVCG's
guide to implementing TS 27560 ("Consent Records and Receipts as per ISO/IEC TS 27560:2023
using DPV", 2024) where it has one, in snake case.

It shows what GDPR Art. 7(1) asks the controller to be able to demonstrate, and what
Art. 7(3) needs for withdrawal: the state at each moment, from the person's own id.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from personvern.consent.chain import GENESIS, entry_hash, timestamp
from personvern.consent.choice import UUID_PATTERN
from personvern.consent.config import Banners
from personvern.inventory.schema import Inventory
from personvern.runtime import Runtime
from personvern.store.consents import ConsentEntry, ConsentReceipt

SCHEMA = {
    "standard": "ISO/IEC TS 27560:2023",
    "profile": "personvern consent receipt",
    "version": 1,
}
LEGAL_BASIS = ["GDPR Art. 6(1)(a)", "GDPR Art. 7", "ekomloven § 3-15"]
EXEMPT_BASIS = ["ekomloven § 3-15 second paragraph (strictly necessary)"]
_UUID = re.compile(UUID_PATTERN)


def split(value: str) -> list[str]:
    return [part for part in value.split(",") if part]


def find(runtime: Runtime, ident: str) -> tuple[ConsentReceipt, list[ConsentEntry]] | None:
    """The receipt for a consent id (the UUID) or a receipt id, with its entries in order."""
    column = ConsentReceipt.consent_id if _UUID.match(ident) else ConsentReceipt.receipt_id
    with runtime.sessions() as db:
        receipt = db.scalar(select(ConsentReceipt).where(column == ident))
        if receipt is None:
            return None
        entries = list(
            db.scalars(
                select(ConsentEntry)
                .where(ConsentEntry.consent_id == receipt.consent_id)
                .order_by(ConsentEntry.seq)
            )
        )
    return receipt, entries


def chain_intact(entries: Sequence[ConsentEntry]) -> bool:
    """Whether every entry's hash is right and points at the entry before it."""
    prev = GENESIS
    for seq, entry in enumerate(entries, start=1):
        expected = entry_hash(
            consent_id=entry.consent_id,
            seq=entry.seq,
            at=entry.at,
            request=entry.request_hash,
            ip_prefix=entry.ip_prefix,
            ua_family=entry.ua_family,
            prev_hash=prev,
        )
        if entry.seq != seq or entry.prev_hash != prev or entry.entry_hash != expected:
            return False
        prev = entry.entry_hash
    return True


def _status(entries: Sequence[ConsentEntry], key: str) -> str:
    latest = entries[-1]
    if key in split(latest.granted):
        return "given"
    if any(key in split(e.granted) for e in entries):
        return "withdrawn"
    return "refused"


def overall_status(entries: Sequence[ConsentEntry]) -> str:
    """``given``, ``partially_given``, ``refused`` or ``withdrawn`` for the newest entry."""
    latest = entries[-1]
    granted, denied = split(latest.granted), split(latest.denied)
    if granted and not denied:
        return "given"
    if granted:
        return "partially_given"
    if latest.method == "withdraw" or any(split(e.granted) for e in entries):
        return "withdrawn"
    return "refused"


def build(
    inventory: Inventory,
    banners: Banners,
    receipt: ConsentReceipt,
    entries: Sequence[ConsentEntry],
    base_url: str,
) -> dict[str, Any]:
    """The receipt as JSON-able data (see the module docstring and ``docs/consent.md``)."""
    latest = entries[-1]
    content = banners.content(latest.texts_hash) or {"cats": [], "d": 0}
    controller = inventory.controller
    contact = controller.privacy_contact()
    purposes = [
        {
            "purpose": cat["k"],
            "name": cat["n"],
            "description": cat["t"],
            "legal_basis": EXEMPT_BASIS if cat["l"] else LEGAL_BASIS,
            "status": "not_required" if cat["l"] else _status(entries, cat["k"]),
            "cookies": [
                {"name": name, "provider": provider, "lifetime": lifetime, "purpose": purpose}
                for name, provider, lifetime, purpose in cat["list"]
            ],
        }
        for cat in content["cats"]
    ]
    withdrawn = next((timestamp(e.at) for e in reversed(entries) if e.method == "withdraw"), None)
    expires = latest.at + timedelta(days=int(content.get("d") or 0))
    return {
        "schema": SCHEMA,
        "receipt_id": receipt.receipt_id,
        "record_id": receipt.consent_id,
        "pii_principal": {
            "id": receipt.consent_id,
            "id_type": "random identifier made by the banner and kept in the "
            "personvern_consent cookie; it does not identify the person by itself",
        },
        "controller": {
            "name": controller.name,
            "org_number": controller.org_number,
            "address": controller.address.to_dict(),
            "contact": str(contact.email or contact.phone or contact.url or ""),
            "supervisory_authority": controller.supervisory_authority.name,
        },
        "jurisdiction": "NO",
        "notice": {
            "site": latest.site,
            "policy_version": latest.policy_version,
            "language": latest.language,
            "texts_sha256": latest.texts_hash,
            "policy_url": f"{base_url}/privacy/policy?lang={latest.language}",
            "cookie_declaration_url": f"{base_url}/privacy/cookies?lang={latest.language}",
        },
        "status": overall_status(entries),
        "purposes": purposes,
        "interaction": _event(latest),
        "timestamps": {
            "first_recorded": timestamp(entries[0].at),
            "last_updated": timestamp(latest.at),
            "withdrawn": withdrawn,
            "expires": timestamp(expires),
        },
        "history": [_event(e) | {"entry": e.seq, "at": timestamp(e.at)} for e in entries],
        "integrity": {
            "algorithm": "SHA-256",
            "chain_intact": chain_intact(entries),
            "head": latest.entry_hash,
        },
    }


def _event(entry: ConsentEntry) -> dict[str, Any]:
    return {
        "method": entry.method,
        "granted": split(entry.granted),
        "denied": split(entry.denied),
        "gpc": entry.gpc,
        "policy_version": entry.policy_version,
        "texts_sha256": entry.texts_hash,
        "language": entry.language,
        "page": entry.page,
        "ip_network": entry.ip_prefix,
        "user_agent_family": entry.ua_family,
        "prev_hash": entry.prev_hash,
        "entry_hash": entry.entry_hash,
    }
