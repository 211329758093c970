"""Making a WooCommerce order or customer anonymous the way WooCommerce itself does.

WooCommerce's eraser, ``WC_Privacy_Erasers::remove_order_personal_data()``
(``includes/class-wc-privacy-erasers.php``), goes through a list of order properties, each
with a data type, skips those that are empty (PHP's ``empty()``: ``""``, ``"0"``, ``0``)
and replaces the rest with ``wp_privacy_anonymize_data()``: an e-mail becomes
``deleted@site.invalid``, text ``[deleted]``, every digit of a phone number ``0``, state and
country ``""``, the customer and transaction ids ``0``, and the IP address is masked; it
marks the order with the meta ``_anonymized = yes`` and deletes every order note.
``customer_data_eraser`` blanks a customer's billing and shipping fields.

There is no REST endpoint that runs those erasers (reference/vendor_apis.md § 1), so this
module computes the same values and the connector writes them with ``PUT /orders/{id}``.
Two differences, both said in the erasure result's notes:

- ``customer_ip_address`` and ``customer_user_agent`` are read-only in WooCommerce's order
  schema: a ``PUT`` ignores them, so the connector cannot mask them. WooCommerce's own eraser
  (WordPress → Tools → Erase Personal Data, with "Remove personal data from orders on
  request" on) or the ``wordpress`` connector through the personvern-bridge plugin can;
- ``customer_note`` (what the customer typed at checkout) is not on WooCommerce's list, but
  it is the person's own words, so it is erased as text too.

Fields under a hold are never changed (GDPR Art. 17(3)(b), e.g. bokføringsloven § 13).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any, Final

DELETED_EMAIL: Final = "deleted@site.invalid"
DELETED_TEXT: Final = "[deleted]"
ANONYMIZED_META: Final = "_anonymized"

# WooCommerce's ``woocommerce_privacy_remove_order_personal_data_props`` defaults, in REST
# names (billing_first_name → billing.first_name), with the data type of each.
_ADDRESS: Final = {
    "first_name": "text",
    "last_name": "text",
    "company": "text",
    "address_1": "text",
    "address_2": "text",
    "city": "text",
    "postcode": "text",
    "state": "address_state",
    "country": "address_country",
    "phone": "phone",
}
ORDER_PROPS: Final[Mapping[str, str]] = {
    "customer_ip_address": "ip",
    "customer_user_agent": "text",
    **{f"billing.{k}": v for k, v in _ADDRESS.items()},
    "billing.email": "email",
    **{f"shipping.{k}": v for k, v in _ADDRESS.items()},
    "customer_id": "numeric_id",
    "transaction_id": "numeric_id",
    "customer_note": "text",  # ours: see the module docstring
}
# Read-only in the REST schema (WC_REST_Orders_V2_Controller::get_item_schema).
READ_ONLY: Final = frozenset({"customer_ip_address", "customer_user_agent"})
CUSTOMER_PROPS: Final[Mapping[str, str]] = {
    **{f"billing.{k}": v for k, v in _ADDRESS.items()},
    "billing.email": "email",
    **{f"shipping.{k}": v for k, v in _ADDRESS.items()},
    "first_name": "text",
    "last_name": "text",
}


def php_empty(value: Any) -> bool:
    """PHP's ``empty()``, which WooCommerce's eraser uses to skip a property."""
    return value is None or value in ("", "0", 0, False) or value == [] or value == {}


def anonymize_ip(value: str) -> str:
    """``wp_privacy_anonymize_ip()``: the last octet of IPv4 zeroed, IPv6 cut to /64."""
    if ":" in value:
        head = value.split(":")[:4]
        return ":".join(head) + "::"
    parts = value.split(".")
    return ".".join([*parts[:3], "0"]) if len(parts) == 4 else "0.0.0.0"  # noqa: S104 - a value


def anonymized(kind: str, value: Any) -> Any:
    """``wp_privacy_anonymize_data(kind, value)`` as WooCommerce calls it."""
    if kind == "email":
        return DELETED_EMAIL
    if kind == "phone":
        return re.sub(r"\d", "0", str(value))
    if kind in ("address_state", "address_country", "blank"):
        return ""
    if kind == "numeric_id":
        return 0
    if kind == "ip":
        return anonymize_ip(str(value))
    return DELETED_TEXT


def set_path(body: dict[str, Any], dotted: str, value: Any) -> None:
    """``billing.email`` → ``body["billing"]["email"]``."""
    head, _, rest = dotted.partition(".")
    if rest:
        set_path(body.setdefault(head, {}), rest, value)
    else:
        body[head] = value


def rest_value(field: str, value: Any) -> Any:
    """The value as the REST API takes it: ``transaction_id`` is a string there."""
    return str(value) if field == "transaction_id" else value


def order_erasure(
    flat: Mapping[str, Any],
    held: Collection[str],
    props: Mapping[str, str] = ORDER_PROPS,
) -> tuple[dict[str, Any], list[str]]:
    """The ``PUT /orders/{id}`` body that anonymizes an order, and the read-only fields left.

    ``flat`` is the order with dotted keys; ``held`` the fields a hold keeps. The body is
    empty when nothing is left to change (a second erasure), which makes erasure idempotent.
    """
    body: dict[str, Any] = {}
    left: list[str] = []
    for field, kind in props.items():
        value = flat.get(field)
        if field in held or php_empty(value):
            continue
        new = anonymized(kind, value)
        if new == value:
            continue
        if field in READ_ONLY:
            left.append(field)
            continue
        set_path(body, field, rest_value(field, new))
    if body:
        body["meta_data"] = [{"key": ANONYMIZED_META, "value": "yes"}]
    return body, left


def customer_erasure(flat: Mapping[str, Any], held: Collection[str]) -> dict[str, Any]:
    """The ``PUT /customers/{id}`` body that blanks what ``customer_data_eraser`` blanks,
    for an account that a hold keeps. The account e-mail must stay a unique, valid address,
    so it becomes ``deleted-<id>@site.invalid``."""
    body: dict[str, Any] = {}
    for field in CUSTOMER_PROPS:
        value = flat.get(field)
        if field in held or php_empty(value):
            continue
        set_path(body, field, "")
    email = f"deleted-{flat.get('id')}@site.invalid"
    if "email" not in held and flat.get("email") != email:
        body["email"] = email
    return body


def is_anonymized(order: Mapping[str, Any]) -> bool:
    """Whether WooCommerce (or this connector) has anonymized the order already."""
    meta = order.get("meta_data") or []
    return any(
        isinstance(m, Mapping) and m.get("key") == ANONYMIZED_META and m.get("value") == "yes"
        for m in meta
    )
