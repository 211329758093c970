"""A sandbox of the Klarna Order Management API, seeded with the demo shop's Klarna orders.

Reference: Klarna Order Management API, https://docs.klarna.com/api/ordermanagement/
("Get order"), with docs.klarna.com "Authentication" (API credentials: HTTP Basic with the
API username, the UID, and its password), "API URLs" (``https://api.klarna.com`` for the
EU; ``https://api.playground.klarna.com`` for tests), "Manage orders with the API" (the
error codes and their HTTP statuses) and "View and change orders" (orders can be read for
up to three years after they were placed). Summarised in
``/work/shared/reference/vendor_apis.md`` § 7.

Implemented:

- ``GET /ordermanagement/v1/orders/{order_id}`` — the order as the API returns it:
  ``order_id``, ``status`` (``AUTHORIZED``, ``CAPTURED``, ``CANCELLED``), ``fraud_status``,
  amounts in minor units (øre), ``purchase_currency``, ``locale``, ``billing_address`` and
  ``shipping_address`` (``given_name``, ``family_name``, ``street_address``,
  ``postal_code``, ``city``, ``country``, ``email``, ``phone``), ``order_lines``,
  ``captures``, ``refunds``, ``merchant_reference1`` (the shop's order number),
  ``klarna_reference``, ``created_at`` and ``expires_at``;
- HTTP Basic authentication: a missing or wrong pair is 401;
- Klarna's error body ``{"error_code", "error_messages": [...], "correlation_id"}`` for
  401, 403, 404 (``NO_SUCH_ORDER``), 405, 429 (``TOO_MANY_REQUESTS``) and 5xx
  (``INTERNAL_SERVER_ERROR``, ``TEMPORARILY_UNAVAILABLE``); 429 and 5xx come from the
  fault injection (:mod:`personvern.sandbox.faults`).

Seeding: every order in the shop with ``payment_method == "klarna"`` is a Klarna order with
id :func:`personvern.sandbox.people.klarna_order_id` of its number, unless it was placed
more than three years before the shop's newest order: the real API no longer returns those
(``NO_SUCH_ORDER``), which is what the connector then meets for a shop's old orders. The
years are counted back from the shop's own present, not today's date, so the synthetic
shop (whose dates are fixed) gives the same sandbox whenever it runs.

Not implemented: changing orders (``PATCH …/customer-details``, captures, refunds,
cancel, extend authorization, release remaining authorization; all answer 405), the
Checkout and Payments APIs, and the ``Klarna-Idempotency-Key`` header.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import threading
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import create_engine, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from personvern.demo.shop import shop_metadata
from personvern.sandbox.people import Address, Order, Person, klarna_order_id
from personvern.sandbox.server import SandboxContext, Vendor, VendorApp

REFERENCE: Final = "https://docs.klarna.com/api/ordermanagement/"
ORDERS_PATH: Final = "/ordermanagement/v1/orders"
# "Order data is available through the API for up to three years" (View and change orders).
AVAILABLE_FOR: Final = timedelta(days=3 * 365)
USERNAME: Final = "K123456_0a1b2c3d4e5f"
_STATUS: Final[Mapping[str, str]] = {
    "completed": "CAPTURED",
    "refunded": "CAPTURED",
    "processing": "AUTHORIZED",
    "cancelled": "CANCELLED",
}
_ERROR_CODE: Final[Mapping[int, tuple[str, str]]] = {
    400: ("BAD_VALUE", "Bad request"),
    401: ("UNAUTHORIZED", "Unauthorized. Check your API credentials (username and password)"),
    403: ("FORBIDDEN", "Forbidden. The credentials may not be used for this merchant"),
    404: ("NO_SUCH_ORDER", "The order could not be found"),
    405: ("METHOD_NOT_ALLOWED", "Method not allowed"),
    408: ("REQUEST_TIMEOUT", "Request timeout"),
    429: ("TOO_MANY_REQUESTS", "Too many requests"),
    500: ("INTERNAL_SERVER_ERROR", "Unexpected server error"),
}


def error_body(status: int, message: str | None = None) -> dict[str, Any]:
    """Klarna's error shape, as the Order Management API's error table gives it."""
    if status in _ERROR_CODE:
        code, text = _ERROR_CODE[status]
    elif status >= 500:
        code, text = "TEMPORARILY_UNAVAILABLE", "Temporarily unavailable"
    else:
        code, text = "BAD_VALUE", "Bad request"
    return {
        "error_code": code,
        "error_messages": [message or text],
        "correlation_id": str(uuid.uuid4()),
    }


def _minor(amount: Decimal) -> int:
    """An amount in minor units (øre), as every Klarna amount is."""
    return int((amount * 100).to_integral_value())


def _iso(when: datetime) -> str:
    return when.replace(microsecond=0).isoformat() + ("Z" if when.tzinfo is None else "")


def _address(address: Address, email: str, fallback_name: str) -> dict[str, Any]:
    given, _, family = (address.name or fallback_name).partition(" ")
    return {
        "given_name": given,
        "family_name": family,
        "street_address": address.street,
        "postal_code": address.postal_code,
        "city": address.city,
        "country": address.country or "NO",
        "email": email,
        "phone": address.phone,
    }


def _lines(rows: Sequence[Any]) -> list[dict[str, Any]]:
    """Order lines in Klarna's shape; prices include 25 % VAT, as in the shop."""
    out = []
    for row in rows:
        total = _minor(Decimal(row.line_total))
        out.append(
            {
                "reference": row.sku,
                "type": "physical",
                "name": row.product_name,
                "quantity": row.quantity,
                "quantity_unit": "pcs",
                "unit_price": _minor(Decimal(row.unit_price)),
                "tax_rate": 2500,
                "total_amount": total,
                "total_discount_amount": 0,
                "total_tax_amount": total - (total * 10000) // 12500,
            }
        )
    return out


def klarna_order(person: Person, order: Order, lines: Sequence[Any]) -> dict[str, Any]:
    """The order as ``GET /ordermanagement/v1/orders/{order_id}`` returns it."""
    order_id = klarna_order_id(order.number)
    amount = _minor(order.total)
    status = _STATUS.get(order.status, "AUTHORIZED")
    captured = amount if status == "CAPTURED" else 0
    refunded = amount if order.status == "refunded" else 0
    email = order.billing_email or person.email
    captures = []
    if captured:
        captures.append(
            {
                "capture_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"capture:{order_id}")),
                "klarna_reference": order_id[:8].upper(),
                "captured_amount": captured,
                "captured_at": _iso(order.created_at + timedelta(days=1)),
                "description": "Sendt",
                "refunded_amount": refunded,
            }
        )
    refunds = []
    if refunded:
        refunds.append(
            {
                "refund_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"refund:{order_id}")),
                "refunded_amount": refunded,
                "refunded_at": _iso(order.created_at + timedelta(days=14)),
                "description": "Retur",
            }
        )
    return {
        "order_id": order_id,
        "status": status,
        "fraud_status": "ACCEPTED",
        "order_amount": amount,
        "original_order_amount": amount,
        "captured_amount": captured,
        "refunded_amount": refunded,
        "remaining_authorized_amount": amount if status == "AUTHORIZED" else 0,
        "order_tax_amount": _minor(order.vat),
        "purchase_currency": order.currency,
        "purchase_country": "NO",
        "locale": "nb-NO",
        "merchant_reference1": order.number,
        "merchant_reference2": "",
        "klarna_reference": order_id[:8].upper(),
        "billing_address": _address(order.billing, email, person.name),
        "shipping_address": _address(
            order.shipping if order.shipping.street else order.billing, email, person.name
        ),
        "order_lines": _lines(lines),
        "captures": captures,
        "refunds": refunds,
        "initial_payment_method": {"type": "INVOICE", "description": "Faktura"},
        "created_at": _iso(order.created_at),
        "expires_at": _iso(order.created_at + timedelta(days=28)),
    }


def _order_lines(shop_url: str, order_ids: Sequence[int]) -> dict[int, list[Any]]:
    """The shop's order lines of these orders (``people_from_shop`` does not read them)."""
    if not order_ids:
        return {}
    table = shop_metadata().tables["order_lines"]
    engine = create_engine(shop_url)
    out: dict[int, list[Any]] = {}
    try:
        with engine.connect() as conn:
            wanted = set(order_ids)
            for row in conn.execute(select(table).order_by(table.c.id)):
                if row.order_id in wanted:
                    out.setdefault(row.order_id, []).append(row)
    finally:
        engine.dispose()
    return out


class KlarnaState:
    """The orders the sandbox holds and the one API credential pair it accepts."""

    def __init__(self, orders: Mapping[str, dict[str, Any]], username: str, password: str) -> None:
        self.lock = threading.Lock()
        self.orders: dict[str, dict[str, Any]] = dict(orders)
        self.username = username
        self.password = password

    def snapshot(self) -> dict[str, dict[str, Any]]:
        with self.lock:
            return {"orders": {k: dict(v) for k, v in self.orders.items()}}

    def authorised(self, header: str | None) -> bool:
        if not header or not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return secrets.compare_digest(user, self.username) and secrets.compare_digest(
            password, self.password
        )


def seed(context: SandboxContext, *, now: datetime | None = None) -> dict[str, dict[str, Any]]:
    """Every Klarna order of the shop's people still within the API's three years.

    ``now`` is the shop's present: by default the time of its newest order.
    """
    if now is None:
        placed = [o.created_at.replace(tzinfo=None) for p in context.people for o in p.orders]
        now = max(placed, default=datetime.now())
    cutoff = now - AVAILABLE_FOR
    wanted = [
        (p, o)
        for p in context.people
        for o in p.orders
        if o.payment_method == "klarna" and o.created_at.replace(tzinfo=None) >= cutoff
    ]
    lines = _order_lines(context.shop_url, [o.id for _, o in wanted])
    return {klarna_order_id(o.number): klarna_order(p, o, lines.get(o.id, [])) for p, o in wanted}


def _error(status: int, message: str | None = None) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Basic realm="Klarna API"'} if status == 401 else None
    return JSONResponse(error_body(status, message), status_code=status, headers=headers)


def build(context: SandboxContext) -> VendorApp:
    state = KlarnaState(seed(context), USERNAME, "klarna-sandbox-" + secrets.token_hex(12))

    async def get_order(request: Request) -> JSONResponse:
        if not state.authorised(request.headers.get("Authorization")):
            return _error(401)
        order_id = request.path_params["order_id"]
        with state.lock:
            order = state.orders.get(order_id)
            found = dict(order) if order is not None else None
        if found is None:
            return _error(404, f"No order with id {order_id} could be found")
        return JSONResponse(found)

    async def not_implemented(request: Request) -> JSONResponse:
        if not state.authorised(request.headers.get("Authorization")):
            return _error(401)
        return _error(405, "The sandbox serves only GET /ordermanagement/v1/orders/{order_id}")

    app = Starlette(
        routes=[
            Route(ORDERS_PATH + "/{order_id}", get_order, methods=["GET"]),
            Route(
                ORDERS_PATH + "/{order_id}/{action:path}",
                not_implemented,
                methods=["GET", "POST", "PATCH"],
            ),
        ]
    )
    return VendorApp(
        app=app,
        snapshot=state.snapshot,
        credentials={"username": state.username, "password": state.password},
        state=state,
    )


VENDOR = Vendor(name="klarna", reference=REFERENCE, build=build, error_body=error_body)
