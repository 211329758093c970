"""Correcting a person's data in WooCommerce (GDPR Art. 16) with ``PUT``.

A change names what to correct as the ``sql`` connector's changes do
(:mod:`personvern.connectors.sql.rectify`):

- ``collection.field`` — one field of the customer or of every order (``customers.email``,
  ``orders.shipping.address_1``);
- a fideslang data category — every writable field annotated with it
  (``user.contact.phone_number`` corrects ``billing.phone`` and ``shipping.phone`` of the
  customer and of each order). The executor passes the four a request form asks for:
  ``user.name`` (a full name, split at its last space into first and last name),
  ``user.contact.email``, ``user.contact.phone_number`` and ``user.contact.address``
  (``"street, postcode city"``, the Norwegian way of writing it).

Only objects whose value differs are written and counted. Read-only fields (ids, dates,
``customer_ip_address``) cannot be corrected: asking for one is :class:`Fatal`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from personvern.connectors.base import Fatal, RectifyResult
from personvern.connectors.woocommerce.anonymize import set_path
from personvern.connectors.woocommerce.client import WooClient
from personvern.connectors.woocommerce.finding import CATEGORIES, Found, flatten

_ADDRESS_KEYS: Final = (
    "first_name",
    "last_name",
    "company",
    "address_1",
    "address_2",
    "city",
    "state",
    "postcode",
    "country",
    "phone",
)
WRITABLE: Final[Mapping[str, frozenset[str]]] = {
    "customers": frozenset(
        {"email", "first_name", "last_name", "billing.email"}
        | {f"{kind}.{k}" for kind in ("billing", "shipping") for k in _ADDRESS_KEYS}
    ),
    "orders": frozenset(
        {"customer_note", "billing.email"}
        | {f"{kind}.{k}" for kind in ("billing", "shipping") for k in _ADDRESS_KEYS}
    ),
}
_ADDRESS = re.compile(r"^\s*(?P<street>[^,]+?)\s*,\s*(?P<postcode>\d{4})\s+(?P<city>.+?)\s*$")


def _composite(category: str, value: str) -> dict[str, str] | None:
    """A whole name or address, as a request form gives it, as leaf categories."""
    if category == "user.name":
        first, _, last = value.strip().rpartition(" ")
        return {"user.name.first": first or last, "user.name.last": last if first else ""}
    if category == "user.contact.address":
        m = _ADDRESS.match(value)
        if m is None:
            raise Fatal(
                "WooCommerce keeps street, postcode and city apart: write the corrected "
                "address as 'street, postcode city' (e.g. 'Storgata 1, 0155 Oslo')"
            )
        return {
            "user.contact.address.street": m["street"],
            "user.contact.address.postal_code": m["postcode"],
            "user.contact.address.city": m["city"],
        }
    return None


def targets(changes: Mapping[str, Any]) -> dict[tuple[str, str], str]:
    """``(collection, field) → new value`` for each change; raises on an unknown key."""
    out: dict[tuple[str, str], str] = {}
    for key, value in changes.items():
        text = "" if value is None else str(value)
        leaves = _composite(key, text) or {key: text}
        hits = 0
        for leaf, leaf_value in leaves.items():
            for collection, writable in WRITABLE.items():
                if leaf.startswith(f"{collection}."):
                    name = leaf.removeprefix(f"{collection}.")
                    if name not in writable:
                        raise Fatal(f"{leaf} cannot be corrected through WooCommerce's API")
                    out[(collection, name)] = leaf_value
                    hits += 1
                    continue
                for name, category in CATEGORIES[collection].items():
                    if category == leaf and name in writable:
                        # address_2 shares street's category; a correction replaces the
                        # street line and leaves the second line alone.
                        if name.endswith("address_2"):
                            continue
                        out[(collection, name)] = leaf_value
                        hits += 1
        if not hits:
            valid = sorted(
                {f"{c}.{f}" for c, fs in WRITABLE.items() for f in fs}
                | {"user.name", "user.contact.address"}
                | {cat for c, fs in WRITABLE.items() for f, cat in CATEGORIES[c].items() if f in fs}
            )
            raise Fatal(
                f"nothing in WooCommerce is named {key!r}; use collection.field or a data "
                f"category, one of: {', '.join(valid)}"
            )
    return out


async def rectify(
    client: WooClient, found: Found, changes: Mapping[tuple[str, str], str]
) -> RectifyResult:
    changed: dict[str, int] = {}
    objects: list[tuple[str, dict[str, Any]]] = []
    if found.customer is not None:
        objects.append(("customers", found.customer))
    objects += [("orders", o) for o in found.orders]
    for collection, obj in objects:
        flat = flatten(obj)
        body: dict[str, Any] = {}
        for (where, name), value in changes.items():
            # A phone on a shipping address that has none stays empty: it was never given.
            if where == collection and flat.get(name, "") != value:
                if name == "shipping.phone" and not flat.get(name):
                    continue
                set_path(body, name, value)
        if not body:
            continue
        if collection == "customers":
            await client.update_customer(int(obj["id"]), body)
        else:
            await client.update_order(int(obj["id"]), body)
        changed[collection] = changed.get(collection, 0) + 1
    return RectifyResult(changed=changed)
