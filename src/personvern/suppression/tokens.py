"""The opaque token of an unsubscribe link: who leaves which list, sealed with the secret key.

RFC 8058 § 3.1 asks that the one-click URI carry "enough information to identify the mail
recipient and the list", and that it be opaque; anyone who sees a newsletter's headers (a
mail server, a forwarded copy, a proxy log) sees the URI. So the token is not a signature
over a readable address but the address *encrypted*, and authenticated so that it cannot be
forged or altered:

- deterministic authenticated encryption in the synthetic-IV style of RFC 5297 (SIV): the
  IV is a MAC of the plaintext — ``HMAC-SHA256(k_mac, plaintext)`` cut to 16 bytes — and
  the plaintext is XORed with a keystream of ``HMAC-SHA256(k_enc, iv ‖ counter)`` blocks
  (HMAC as a pseudo-random function in counter mode, as in NIST SP 800-108);
- reading decrypts, computes the IV again and compares it in constant time: a changed bit
  anywhere, a token made with another key, or a made-up one fails;
- ``k_enc`` and ``k_mac`` are derived from the installation's secret key
  (``PERSONVERN_SECRET_KEY``) with a label of their own, so they are used for nothing else.

Only the standard library is used (``hmac``, ``hashlib``), as for every other signed link
of personvern. Being deterministic, a person's link for one list is the same in every
newsletter; that says no more than the messages' ``To`` already does. A token does not
expire: RFC 8058 links are followed long after the message was sent, and using one only
ever stops mail.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass

from personvern.store.suppressions import ALL_LISTS
from personvern.suppression.entries import normalise_address

VERSION = b"\x01"
IV_BYTES = 16
# An address is at most 254 characters (RFC 5321 § 4.5.3.1 and erratum 1690) and a list key
# 64; the longest token is then about 450 characters. Anything much longer is not ours.
MAX_TOKEN_CHARS = 600
LIST_KEY = re.compile(r"\*|[a-z0-9][a-z0-9_.:-]{0,63}")  # used with fullmatch


class InvalidToken(ValueError):
    """Not a token this installation made: forged, altered, cut short or from another key."""


@dataclass(frozen=True)
class Unsubscribe:
    """What a token names: the address (normalised) and the list it leaves."""

    address: str
    list_key: str = ALL_LISTS


def _key(secret: bytes, label: str) -> bytes:
    return hmac.new(secret, f"personvern/unsubscribe/{label}".encode(), hashlib.sha256).digest()


def _keystream(key: bytes, iv: bytes, length: int) -> bytes:
    blocks = []
    for counter in range(-(-length // 32)):
        blocks.append(hmac.new(key, iv + counter.to_bytes(4, "big"), hashlib.sha256).digest())
    return b"".join(blocks)[:length]


def _xor(data: bytes, stream: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(data, stream, strict=True))


def check_list_key(list_key: str) -> str:
    """``list_key`` if it is a list's key (lower-case letters, digits, ``_.:-``; or ``*``)."""
    if not LIST_KEY.fullmatch(list_key):
        raise ValueError(
            f"list key {list_key!r} is not valid: use lower-case letters, digits and _ . : - "
            "(at most 64 characters), or * for every list"
        )
    return list_key


def make_token(secret: bytes, address: str, list_key: str = ALL_LISTS) -> str:
    """The token naming ``address`` and ``list_key``, for an unsubscribe link."""
    address = normalise_address(address)  # ValueError says what is wrong
    plaintext = f"{check_list_key(list_key)}\n{address}".encode()
    iv = hmac.new(_key(secret, "mac"), plaintext, hashlib.sha256).digest()[:IV_BYTES]
    sealed = _xor(plaintext, _keystream(_key(secret, "enc"), iv, len(plaintext)))
    return base64.urlsafe_b64encode(VERSION + iv + sealed).rstrip(b"=").decode()


def read_token(secret: bytes, token: str) -> Unsubscribe:
    """The address and list ``token`` names; :class:`InvalidToken` unless it is genuine."""
    if not token or len(token) > MAX_TOKEN_CHARS or not token.isascii():
        raise InvalidToken("not an unsubscribe token")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise InvalidToken("not an unsubscribe token") from None
    if len(raw) <= 1 + IV_BYTES or raw[:1] != VERSION:
        raise InvalidToken("not an unsubscribe token")
    iv, sealed = raw[1 : 1 + IV_BYTES], raw[1 + IV_BYTES :]
    plaintext = _xor(sealed, _keystream(_key(secret, "enc"), iv, len(sealed)))
    expected = hmac.new(_key(secret, "mac"), plaintext, hashlib.sha256).digest()[:IV_BYTES]
    if not hmac.compare_digest(expected, iv):
        raise InvalidToken("the token was altered, or made with another key")
    list_key, _, address = plaintext.decode("utf-8", errors="replace").partition("\n")
    if not LIST_KEY.fullmatch(list_key) or "@" not in address:
        raise InvalidToken("not an unsubscribe token")
    return Unsubscribe(address=address, list_key=list_key)
