"""A sandbox of the Vipps MobilePay ePayment API and its Access token API.

References: the ePayment API, https://developer.vippsmobilepay.com/api/epayment/ and its
guide (https://developer.vippsmobilepay.com/docs/APIs/epayment-api/ : "Get payment
details", "Get payment event log", "Errors" — RFC 7807 problem details with ``traceId``
and ``extraDetails``), and the Access token API,
https://developer.vippsmobilepay.com/api/access-token/ (``POST /accesstoken/get``).
Summarised in ``/work/shared/reference/vendor_apis.md`` § 8.

Implemented:

- ``POST /accesstoken/get`` with the headers ``client_id``, ``client_secret``,
  ``Ocp-Apim-Subscription-Key`` and ``Merchant-Serial-Number`` → ``{"token_type":
  "Bearer", "expires_in": "3600", "ext_expires_in", "expires_on", "not_before",
  "resource", "access_token"}`` (the numbers are strings, as the real API sends them);
  a wrong client pair is 401 ``unauthorized_client``;
- ``GET /epayment/v1/payments/{reference}`` — ``reference``, ``pspReference``, ``state``
  (``AUTHORIZED`` or ``TERMINATED``), ``amount``, ``aggregate`` (authorized, cancelled,
  captured, refunded), ``paymentMethod``, ``profile`` (``sub``) and, since the shop asks for
  profile sharing (``scope: "name email phoneNumber address"``), ``userDetails`` and
  ``shippingDetails`` as the person shared them;
- ``GET /epayment/v1/payments/{reference}/events`` — the event log (``CREATED``,
  ``AUTHORIZED``, ``CAPTURED``, ``REFUNDED``, ``CANCELLED``) with ``timestamp``,
  ``amount``, ``pspReference``, ``idempotencyKey`` and ``success``;
- every ePayment call needs ``Authorization: Bearer <token>`` (issued here and not
  expired), ``Ocp-Apim-Subscription-Key`` and ``Merchant-Serial-Number``: a missing or
  wrong one is 401 (the API gateway's answer) in problem-details form. The
  ``Vipps-System-*`` headers are recorded (:attr:`VippsState.system_headers`), not required;
- 404 for an unknown reference; 429 and 5xx through the fault injection.

Seeding: every order of the demo shop with ``payment_method == "vipps"`` is a payment with
reference :func:`personvern.sandbox.people.vipps_reference` of its number.

Not implemented: creating, capturing, refunding and cancelling payments, webhooks, the
Userinfo API (``GET /vipps-userinfo-api/userinfo/{sub}``), the Login API and idempotency
keys on writes. Tokens live :attr:`VippsState.token_lifetime` seconds (3600 as in the
test environment); tests expire them with :meth:`VippsState.expire_tokens`.
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Final
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from personvern.sandbox.people import Order, Person, vipps_reference
from personvern.sandbox.server import SandboxContext, Vendor, VendorApp

REFERENCE: Final = "https://developer.vippsmobilepay.com/api/epayment/"
PAYMENTS_PATH: Final = "/epayment/v1/payments"
ACCESSTOKEN_PATH: Final = "/accesstoken/get"
MERCHANT_SERIAL_NUMBER: Final = "123456"
CLIENT_ID: Final = "fb492b5e-7907-4d83-ba20-c7fb60ca35de"
_PSP_NAMESPACE: Final = uuid.UUID("9b6f3f4e-1d7e-4c1a-8a3e-3c2f0b0f6a21")
_TITLE: Final[Mapping[int, str]] = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def problem(status: int, detail: str | None = None, *, instance: str = "") -> dict[str, Any]:
    """An ePayment API error: RFC 7807 problem details with ``traceId`` (API guide, Errors)."""
    title = _TITLE.get(status, "Error")
    return {
        "type": f"https://httpstatuses.io/{status}",
        "title": title,
        "status": status,
        "detail": detail or title,
        "instance": instance,
        "traceId": f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01",
        "extraDetails": None,
    }


def error_body(status: int) -> dict[str, Any]:
    return problem(status)


def _amount(value: int, currency: str) -> dict[str, Any]:
    return {"currency": currency, "value": value}


def _iso(when: datetime) -> str:
    return when.replace(microsecond=0).isoformat() + ("Z" if when.tzinfo is None else "")


def _sub(email: str) -> str:
    """The person's ``sub``: stable per person and merchant, as Vipps issues it."""
    return str(uuid.uuid5(_PSP_NAMESPACE, "sub:" + email.strip().lower()))


def _msisdn(phone: str | None) -> str | None:
    """A phone number as Vipps gives it: MSISDN digits with the country code (``4791234567``)."""
    if not phone:
        return None
    digits = "".join(c for c in phone if c.isdigit())
    return digits if len(digits) > 8 else "47" + digits


def payment_of(person: Person, order: Order) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The payment as ``GET …/payments/{reference}`` returns it, and its event log."""
    reference = vipps_reference(order.number)
    currency = order.currency
    value = int((order.total * Decimal(100)).to_integral_value())
    cancelled = order.status == "cancelled"
    captured = value if order.status in ("completed", "refunded") else 0
    refunded = value if order.status == "refunded" else 0
    address = order.shipping if order.shipping.street else order.billing
    first, _, last = (order.billing.name or person.name).partition(" ")
    email = order.billing_email or person.email
    phone = _msisdn(order.billing.phone or person.phone)
    sub = _sub(email)
    payment = {
        "reference": reference,
        "pspReference": str(uuid.uuid5(_PSP_NAMESPACE, reference)),
        "state": "TERMINATED" if cancelled else "AUTHORIZED",
        "amount": _amount(value, currency),
        "aggregate": {
            "authorizedAmount": _amount(value, currency),
            "cancelledAmount": _amount(value if cancelled else 0, currency),
            "capturedAmount": _amount(captured, currency),
            "refundedAmount": _amount(refunded, currency),
        },
        "paymentMethod": {"type": "WALLET"},
        "profile": {"sub": sub},
        "userDetails": {
            "sub": sub,
            "firstName": first,
            "lastName": last,
            "email": email,
            "mobileNumber": phone,
        },
        "shippingDetails": {
            "firstName": first,
            "lastName": last,
            "email": email,
            "phoneNumber": phone,
            "address": {
                "addressLine1": address.street,
                "addressLine2": None,
                "city": address.city,
                "country": address.country or "NO",
                "postCode": address.postal_code,
            },
        },
    }
    steps: list[tuple[str, timedelta, int]] = [
        ("CREATED", timedelta(0), value),
        ("AUTHORIZED", timedelta(seconds=40), value),
    ]
    if cancelled:
        steps.append(("CANCELLED", timedelta(hours=2), value))
    if captured:
        steps.append(("CAPTURED", timedelta(days=1), captured))
    if refunded:
        steps.append(("REFUNDED", timedelta(days=14), refunded))
    events = [
        {
            "reference": reference,
            "pspReference": str(uuid.uuid5(_PSP_NAMESPACE, f"{reference}:{name}")),
            "name": name,
            "amount": _amount(amount, currency),
            "timestamp": _iso(order.created_at + after),
            "idempotencyKey": None if name in ("CREATED", "AUTHORIZED") else f"{reference}-{n}",
            "success": True,
        }
        for n, (name, after, amount) in enumerate(steps)
    ]
    return payment, events


class VippsState:
    """Payments, their events, the one merchant's keys, and the access tokens issued."""

    def __init__(
        self,
        payments: Mapping[str, tuple[dict[str, Any], list[dict[str, Any]]]],
        credentials: Mapping[str, str],
    ) -> None:
        self.lock = threading.Lock()
        self.payments = {ref: dict(p) for ref, (p, _) in payments.items()}
        self.events = {ref: list(e) for ref, (_, e) in payments.items()}
        self.credentials = dict(credentials)
        self.token_lifetime = 3600  # seconds; "valid for 1 hour in the test environment"
        self.tokens: dict[str, float] = {}  # token → when it expires (time.time())
        self.tokens_issued = 0
        self.system_headers: dict[str, str] = {}  # the last Vipps-System-* headers seen

    def snapshot(self) -> dict[str, dict[str, Any]]:
        with self.lock:
            return {
                "payments": {k: dict(v) for k, v in self.payments.items()},
                "events": {
                    f"{ref}/{n}": dict(e)
                    for ref, events in self.events.items()
                    for n, e in enumerate(events)
                },
            }

    def issue_token(self) -> tuple[str, int]:
        token = secrets.token_urlsafe(48)
        with self.lock:
            self.tokens[token] = time.time() + self.token_lifetime
            self.tokens_issued += 1
            return token, self.token_lifetime

    def expire_tokens(self) -> None:
        """Make every token issued so far expired, as time would."""
        with self.lock:
            self.tokens = dict.fromkeys(self.tokens, 0.0)

    def token_ok(self, token: str) -> bool:
        with self.lock:
            expires = self.tokens.get(token)
        return expires is not None and expires > time.time()


def _same(given: str | None, wanted: str) -> bool:
    return given is not None and secrets.compare_digest(given, wanted)


def build(context: SandboxContext) -> VendorApp:
    seeded = {
        vipps_reference(o.number): payment_of(p, o)
        for p in context.people
        for o in p.orders
        if o.payment_method == "vipps"
    }
    credentials = {
        "client_id": CLIENT_ID,
        "client_secret": "vipps-sandbox-" + secrets.token_hex(16),
        "subscription_key": secrets.token_hex(16),
        "merchant_serial_number": MERCHANT_SERIAL_NUMBER,
    }
    state = VippsState(seeded, credentials)

    def gateway_error(request: Request) -> JSONResponse | None:
        """The API gateway's checks, made before the API itself sees the request."""
        path = request.url.path
        if not _same(
            request.headers.get("Ocp-Apim-Subscription-Key"), credentials["subscription_key"]
        ):
            detail = (
                "Access denied due to missing or invalid subscription key. Make sure to "
                "include a valid Ocp-Apim-Subscription-Key header"
            )
            return JSONResponse(problem(401, detail, instance=path), status_code=401)
        if not _same(
            request.headers.get("Merchant-Serial-Number"), credentials["merchant_serial_number"]
        ):
            detail = "Missing or unknown Merchant-Serial-Number header"
            return JSONResponse(problem(401, detail, instance=path), status_code=401)
        return None

    async def access_token(request: Request) -> JSONResponse:
        refused = gateway_error(request)
        if refused is not None:
            return refused
        if not (
            _same(request.headers.get("client_id"), credentials["client_id"])
            and _same(request.headers.get("client_secret"), credentials["client_secret"])
        ):
            return JSONResponse(
                {
                    "error": "unauthorized_client",
                    "error_description": "The client_id or client_secret is not valid",
                },
                status_code=401,
            )
        token, lifetime = state.issue_token()
        now = int(time.time())
        return JSONResponse(
            {
                "token_type": "Bearer",
                "expires_in": str(lifetime),
                "ext_expires_in": str(lifetime),
                "expires_on": str(now + lifetime),
                "not_before": str(now),
                "resource": "00000002-0000-0000-c000-000000000000",
                "access_token": token,
            }
        )

    def authorise(request: Request) -> JSONResponse | None:
        refused = gateway_error(request)
        if refused is not None:
            return refused
        header = request.headers.get("Authorization", "")
        token = header[7:] if header.startswith("Bearer ") else ""
        if not token or not state.token_ok(token):
            detail = "Missing, invalid or expired access token; get a new one"
            return JSONResponse(
                problem(401, detail, instance=request.url.path),
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        system = {k: v for k, v in request.headers.items() if k.startswith("vipps-system-")}
        with state.lock:
            state.system_headers = system
        return None

    def not_found(request: Request, reference: str) -> JSONResponse:
        detail = f"No payment with reference {quote(reference)} was found"
        return JSONResponse(problem(404, detail, instance=request.url.path), status_code=404)

    async def get_payment(request: Request) -> JSONResponse:
        refused = authorise(request)
        if refused is not None:
            return refused
        reference = request.path_params["reference"]
        with state.lock:
            payment = state.payments.get(reference)
            found = dict(payment) if payment is not None else None
        return JSONResponse(found) if found is not None else not_found(request, reference)

    async def get_events(request: Request) -> JSONResponse:
        refused = authorise(request)
        if refused is not None:
            return refused
        reference = request.path_params["reference"]
        with state.lock:
            events = state.events.get(reference)
            found = [dict(e) for e in events] if events is not None else None
        return JSONResponse(found) if found is not None else not_found(request, reference)

    app = Starlette(
        routes=[
            Route(ACCESSTOKEN_PATH, access_token, methods=["POST"]),
            Route(PAYMENTS_PATH + "/{reference}", get_payment, methods=["GET"]),
            Route(PAYMENTS_PATH + "/{reference}/events", get_events, methods=["GET"]),
        ]
    )
    return VendorApp(app=app, snapshot=state.snapshot, credentials=credentials, state=state)


VENDOR = Vendor(name="vipps", reference=REFERENCE, build=build, error_body=error_body)
