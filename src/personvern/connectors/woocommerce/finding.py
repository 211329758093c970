"""Finding a person in WooCommerce, and what their objects hold, as records.

WooCommerce keeps a registered customer as a WordPress user (``GET /customers?email=``,
exact) and a guest only on their orders, which the REST API finds by ``search=<email>``
alone (reference/vendor_apis.md § 1). So a person's orders are the customer's
(``customer=<id>``) plus those whose billing e-mail is exactly theirs; each order's notes
are read too (``GET /orders/{id}/notes``), since staff and payment plugins write personal
data there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from personvern.connectors.base import Identity, Record
from personvern.connectors.woocommerce.client import WooClient, same_email

# fideslang data categories of the fields of WooCommerce's objects (dotted names).
_ADDRESS_CATEGORIES: Final = {
    "first_name": "user.name.first",
    "last_name": "user.name.last",
    "company": "user.contact.organization",
    "address_1": "user.contact.address.street",
    "address_2": "user.contact.address.street",
    "city": "user.contact.address.city",
    "state": "user.contact.address.state",
    "postcode": "user.contact.address.postal_code",
    "country": "user.contact.address.country",
    "phone": "user.contact.phone_number",
    "email": "user.contact.email",
}
CATEGORIES: Final[Mapping[str, Mapping[str, str]]] = {
    "customers": {
        "id": "user.unique_id",
        "email": "user.contact.email",
        "first_name": "user.name.first",
        "last_name": "user.name.last",
        "username": "user.account.username",
        **{
            f"{kind}.{k}": v
            for kind in ("billing", "shipping")
            for k, v in _ADDRESS_CATEGORIES.items()
        },
    },
    "orders": {
        "customer_id": "user.unique_id",
        "customer_ip_address": "user.device.ip_address",
        "customer_user_agent": "user.device",
        "customer_note": "user.content.private",
        "transaction_id": "user.payment",
        "line_items": "user.behavior.purchase_history",
        **{
            f"{kind}.{k}": v
            for kind in ("billing", "shipping")
            for k, v in _ADDRESS_CATEGORIES.items()
        },
    },
    "order_notes": {"note": "user.content.private"},
}


def flatten(obj: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects as dotted keys (``billing.email``); lists stay values; no ``_links``."""
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if key == "_links":
            continue
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def record(collection: str, obj: Mapping[str, Any], **extra: Any) -> Record:
    fields = {**flatten(obj), **extra}
    categories = {k: v for k, v in CATEGORIES[collection].items() if k in fields}
    return Record(collection, fields, categories, key=str(obj["id"]))


@dataclass
class Found:
    """A person's objects in the shop."""

    customer: dict[str, Any] | None = None
    orders: list[dict[str, Any]] = field(default_factory=list)
    notes: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # order id → notes

    @property
    def empty(self) -> bool:
        return self.customer is None and not self.orders

    def records(self) -> list[Record]:
        out = [record("customers", self.customer)] if self.customer is not None else []
        for order in self.orders:
            out.append(record("orders", order))
            for note in self.notes.get(int(order["id"]), []):
                out.append(record("order_notes", note, order_id=order["id"]))
        return out


async def find(client: WooClient, identity: Identity, *, notes: bool = True) -> Found:
    """The customer, orders and (with ``notes``) order notes of the person ``identity`` names."""
    found = Found()
    email = (identity.email or "").strip()
    if identity.customer_id:
        try:
            found.customer = await client.customer_by_id(int(identity.customer_id))
        except ValueError:
            found.customer = None  # not a WooCommerce id: nobody here has it
    if found.customer is None and email:
        found.customer = await client.customer(email)
    orders: dict[int, dict[str, Any]] = {}
    if found.customer is not None:
        by_customer = {"customer": found.customer["id"], "status": "any"}
        for order in await client.all("/orders", by_customer):
            orders[int(order["id"])] = order
    if email:
        for order in await client.all("/orders", {"search": email, "status": "any"}):
            if same_email((order.get("billing") or {}).get("email"), email):
                orders.setdefault(int(order["id"]), order)
    found.orders = [orders[k] for k in sorted(orders)]
    if notes:
        for order_id in sorted(orders):
            found.notes[order_id] = await client.order_notes(order_id)
    return found
