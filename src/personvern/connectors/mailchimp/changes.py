"""What a correction (GDPR Art. 16) means in a Mailchimp audience: merge fields and the address.

A request names what to correct by data category (the executor turns ``name``, ``email``,
``phone`` and ``address`` into ``user.name``, ``user.contact.email``,
``user.contact.phone_number`` and ``user.contact.address``); an admin may also name a merge
tag (``FNAME``, ``LNAME``, ``PHONE``, ``ADDRESS``, or ``merge_fields.FNAME``) or
``email_address``. Mailchimp's default audience fields are used (reference: "Add merge
fields", https://mailchimp.com/developer/marketing/api/list-merges/): an ADDRESS is an
object of ``addr1``, ``addr2``, ``city``, ``state``, ``zip`` and ``country``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from personvern.connectors.base import Fatal

# data category or field name → the merge tag it corrects
_MERGE_KEYS: Final[Mapping[str, str]] = {
    "user.name.first": "FNAME",
    "user.name.last": "LNAME",
    "user.contact.phone_number": "PHONE",
    "user.contact.address": "ADDRESS",
    **{tag: tag for tag in ("FNAME", "LNAME", "PHONE", "ADDRESS")},
    **{f"merge_fields.{tag}": tag for tag in ("FNAME", "LNAME", "PHONE", "ADDRESS")},
}
_EMAIL_KEYS: Final = frozenset({"user.contact.email", "email_address"})
_NAME_KEYS: Final = frozenset({"user.name", "name"})
VALID_KEYS: Final = tuple(sorted({*_MERGE_KEYS, *_EMAIL_KEYS, *_NAME_KEYS}))
# "Storgata 1, 0155 Oslo": the way a Norwegian writes an address on one line.
_ONE_LINE: Final = re.compile(r"^\s*(?P<addr1>.+?)\s*,\s*(?P<zip>\d{4})\s+(?P<city>\S.*?)\s*$")


@dataclass(frozen=True)
class Correction:
    """The PATCH a correction needs: merge fields to set and perhaps a new address."""

    merge_fields: Mapping[str, Any] = field(default_factory=dict)
    email_address: str | None = None

    def against(self, member: Mapping[str, Any]) -> dict[str, Any]:
        """The PATCH body for this member: only what differs (empty when nothing does)."""
        body: dict[str, Any] = {}
        current = member.get("merge_fields") or {}
        differ = {k: v for k, v in self.merge_fields.items() if current.get(k) != v}
        if differ:
            body["merge_fields"] = differ
        if self.email_address and self.email_address != member.get("email_address"):
            body["email_address"] = self.email_address
        return body


def address(value: Any) -> dict[str, str]:
    """An ADDRESS merge field from an object or from one line (``street, postcode city``)."""
    if isinstance(value, Mapping):
        parts = {k: str(value.get(k) or "") for k in ("addr1", "addr2", "city", "state", "zip")}
        parts["country"] = str(value.get("country") or "NO")
        if not (parts["addr1"] and parts["city"] and parts["zip"]):
            raise Fatal("a Mailchimp address needs addr1, city and zip; give all three")
        return parts
    match = _ONE_LINE.match(str(value))
    if match is None:
        raise Fatal(
            f"cannot read {value!r} as an address; write it as 'street, postcode city' "
            "(e.g. 'Storgata 1, 0155 Oslo')"
        )
    return {
        "addr1": match["addr1"],
        "addr2": "",
        "city": match["city"],
        "state": "",
        "zip": match["zip"],
        "country": "NO",
    }


def correction(changes: Mapping[str, Any]) -> Correction:
    """Translate a request's changes; an unknown key is Fatal and lists the valid ones."""
    merge: dict[str, Any] = {}
    email: str | None = None
    for key, value in changes.items():
        if key in _NAME_KEYS:
            # Mailchimp keeps first and last name apart; the last word is the family name.
            given, _, family = str(value).strip().rpartition(" ")
            merge["FNAME"], merge["LNAME"] = (given, family) if given else (family, "")
        elif key in _EMAIL_KEYS:
            email = str(value).strip()
            if "@" not in email:
                raise Fatal(f"{value!r} is not an e-mail address; correct the request's changes")
        elif key in _MERGE_KEYS:
            tag = _MERGE_KEYS[key]
            merge[tag] = address(value) if tag == "ADDRESS" else str(value)
        else:
            raise Fatal(
                f"Mailchimp holds nothing named {key!r}; use one of: {', '.join(VALID_KEYS)}"
            )
    return Correction(merge, email)
