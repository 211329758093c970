"""Keyed hashes of identifiers of people (e-mail addresses, phone numbers, IP addresses).

personvern never writes such an identifier in clear to a log or a counter table. It writes
``HMAC-SHA256(secret_key, kind + ":" + normalised value)`` instead: stable, so entries about
the same person can be found again by someone who has both the address and the key, and
useless to anyone who has only the database.
"""

from __future__ import annotations

import hashlib
import hmac


def normalise(value: str, kind: str) -> str:
    value = value.strip()
    if kind == "email":
        return value.lower()
    if kind == "phone":
        return "".join(ch for ch in value if ch.isdigit() or ch == "+")
    return value


def keyed_hash(secret: bytes, value: str, *, kind: str) -> str:
    """Hex HMAC-SHA256 of ``value`` normalised for ``kind`` (``email``, ``phone``, ``ip``…)."""
    message = f"{kind}:{normalise(value, kind)}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()
