"""What the WooCommerce sandbox's modules share: errors, dates, names and pages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

ORDER_STATUSES: Final = frozenset(
    {
        "pending",
        "processing",
        "on-hold",
        "completed",
        "cancelled",
        "refunded",
        "failed",
        "trash",
        "checkout-draft",
    }
)
_STATUS_LABEL: Final = {
    "pending": "Pending payment",
    "processing": "Processing",
    "on-hold": "On hold",
    "completed": "Completed",
    "cancelled": "Cancelled",
    "refunded": "Refunded",
    "failed": "Failed",
}
_PAYMENT_TITLE: Final = {"vipps": "Vipps", "klarna": "Klarna", "card": "Kort"}
_USER_AGENT: Final = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
_ADDRESS_FIELDS: Final = (
    "first_name",
    "last_name",
    "company",
    "address_1",
    "address_2",
    "city",
    "state",
    "postcode",
    "country",
)
# Customer and order address fields that the shop's tables have a column for.
_ORDER_COLUMNS: Final = {
    ("billing", "email"): "billing_email",
    ("billing", "address_1"): "billing_address",
    ("billing", "postcode"): "billing_postal_code",
    ("billing", "city"): "billing_city",
    ("billing", "phone"): "billing_phone",
    ("shipping", "address_1"): "shipping_address",
    ("shipping", "postcode"): "shipping_postal_code",
    ("shipping", "city"): "shipping_city",
}
_ADDRESS_COLUMNS: Final = {
    "address_1": "street",
    "postcode": "postal_code",
    "city": "city",
    "country": "country",
    "phone": "phone",
}


class WooError(Exception):
    """A WooCommerce REST error: ``{"code", "message", "data": {"status"}}``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def iso(when: datetime | None) -> str | None:
    """WooCommerce's date format: ISO 8601 to the second, without a zone."""
    return when.replace(microsecond=0, tzinfo=None).isoformat() if when is not None else None


def parse_date(value: str, name: str) -> datetime:
    """An ISO 8601 query value as naive UTC (the site's time zone), or a 400."""
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise WooError(400, "rest_invalid_param", f"Invalid parameter(s): {name}") from None
    if when.tzinfo is not None:
        when = when.astimezone(UTC).replace(tzinfo=None)
    return when


def flatten(obj: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects as dotted keys (``billing.email``); lists stay values."""
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if key == "_links":
            continue
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def _split(name: str | None) -> tuple[str, str]:
    given, _, family = (name or "").partition(" ")
    return given, family


def _join(first: str, last: str) -> str | None:
    return " ".join(p for p in (first, last) if p) or None


def _text(value: Any, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str | int | float):
        raise WooError(400, "rest_invalid_param", f"Invalid parameter(s): {name}")
    return str(value)


@dataclass
class Page:
    items: list[dict[str, Any]]
    total: int
