"""Visma eAccounting sandbox: customers and customer invoices of the API v2.

Written from Visma's published reference (https://developer.vismaonline.com/ — "API
Reference" for ``Customers`` and ``CustomerInvoices``, and "Authentication"):

- base ``https://eaccountingapi.vismaonline.com``, paths under ``/v2`` (here under the
  ``/visma-eaccounting`` prefix);
- ``GET /v2/customers`` and ``GET /v2/customerinvoices`` with OData ``$filter`` (``eq``
  joined by ``and``: ``EmailAddress eq 'ola@example.no'``, ``CustomerId eq <guid>``),
  ``$page`` (from 1) and ``$pagesize``; the answer is ``{"Meta": {"CurrentPage",
  "PageSize", "TotalNumberOfPages", "TotalNumberOfResults", "ServerTimeUtc"}, "Data":
  [...]}``;
- ``GET``/``PUT``/``DELETE /v2/customers/{customerId}``: a ``PUT`` replaces the
  customer's fields (``Name``, ``InvoiceCity`` and ``InvoicePostalCode`` are required);
  a customer with invoices cannot be deleted (400), which is why the connector makes such
  a customer inactive instead;
- errors as ``{"ErrorCode", "DeveloperErrorMessage", "ErrorId"}`` (the numeric codes are
  this sandbox's own);
- OAuth2 from Visma's identity server (``POST /connect/token`` here, standing for
  ``https://identity.vismaonline.com/connect/token``; :mod:`personvern.sandbox.oauth`):
  client authentication with HTTP Basic, scopes ``ea:api`` plus ``ea:sales`` (or
  ``ea:sales_readonly`` for reading), and a new refresh token with every refresh; set
  ``issuer.one_time`` to make a used one stop working, as Visma's default does.

State, seeded from the demo shop (:attr:`SandboxContext.people`): everyone with an order
the shop invoiced (completed, processing or refunded) is a customer — private persons,
``CustomerNumber`` the shop's customer id (``G…`` for guests) — and each such order is an
invoice with its amounts, date and the buyer's name and address as on the order.

Not implemented: ``POST`` of customers or invoices, vouchers, articles, ``$orderby``,
``$select``, ``$expand``, OData operators other than ``eq``/``and``, rate limits (Visma
documents about 600 requests a minute; inject 429 with the faults instead).
"""

from __future__ import annotations

import math
import re
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from personvern.sandbox.oauth import TokenIssuer
from personvern.sandbox.people import Order, Person
from personvern.sandbox.server import SandboxContext, Vendor, VendorApp

REFERENCE: Final = "https://developer.vismaonline.com/"
CLIENT_ID: Final = "assembleprosjekt-personvern"
# The sandbox's own made-up credentials, shown by GET /_sandbox; they open nothing real.
CLIENT_SECRET: Final = "visma-sandbox-secret"  # noqa: S105
REFRESH_TOKEN: Final = "visma-sandbox-refresh-token"  # noqa: S105
SCOPES: Final = frozenset({"ea:api", "ea:sales", "offline_access"})
INVOICED: Final = frozenset({"completed", "processing", "refunded"})
MAX_PAGE_SIZE: Final = 1000
_NAMESPACE: Final = uuid.UUID("0b6f8c53-3d55-4c0a-9d6b-3c1f0e7a9e42")
_TERMS_OF_PAYMENT: Final = "8f9a8f5b-3b1a-4c67-9d7e-2b1f5c8e1a10"
_CODES: Final = {400: 4000, 401: 4010, 403: 4030, 404: 4004, 409: 4009, 429: 4290}
_CONDITION = re.compile(r"^\s*(\w+)\s+eq\s+(?:'((?:[^']|'')*)'|(\S+))\s*$", re.IGNORECASE)
REQUIRED: Final = ("Name", "InvoiceCity", "InvoicePostalCode")
# What a PUT may set; Id, CreatedUtc, ChangedUtc and LastInvoiceDate are the server's.
WRITABLE: Final = frozenset(
    {
        "CustomerNumber",
        "CorporateIdentityNumber",
        "ContactPersonEmail",
        "ContactPersonMobile",
        "ContactPersonName",
        "ContactPersonPhone",
        "CurrencyCode",
        "EmailAddress",
        "InvoiceAddress1",
        "InvoiceAddress2",
        "InvoiceCity",
        "InvoiceCountryCode",
        "InvoicePostalCode",
        "DeliveryCustomerName",
        "DeliveryAddress1",
        "DeliveryAddress2",
        "DeliveryCity",
        "DeliveryCountryCode",
        "DeliveryPostalCode",
        "MobilePhone",
        "Telephone",
        "Name",
        "Note",
        "WwwAddress",
        "IsPrivatePerson",
        "IsActive",
        "TermsOfPaymentId",
    }
)


def error_body(status: int, message: str = "", reason: str = "") -> dict[str, Any]:
    return {
        "ErrorCode": _CODES.get(status, status * 10),
        "DeveloperErrorMessage": message or reason or f"The service answered {status}.",
        "ErrorId": str(uuid.uuid4()),
    }


def _error(status: int, message: str, reason: str = "") -> Response:
    return JSONResponse(error_body(status, message, reason), status_code=status)


def _utc(moment: datetime) -> str:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def customer_id_of(email: str) -> str:
    """The Visma id of the customer with this address in the seeded sandbox."""
    return str(uuid.uuid5(_NAMESPACE, "customer:" + email.lower()))


@dataclass
class VismaState:
    issuer: TokenIssuer
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    invoices: dict[str, dict[str, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def snapshot(self) -> dict[str, dict[str, Any]]:
        with self.lock:
            return {
                "customers": {k: dict(v) for k, v in self.customers.items()},
                "customerinvoices": {k: dict(v) for k, v in self.invoices.items()},
            }


def _invoice(customer_id: str, order: Order) -> dict[str, Any]:
    day = order.created_at.date()
    return {
        "Id": str(uuid.uuid5(_NAMESPACE, "invoice:" + order.number)),
        "InvoiceNumber": 10000 + order.id,
        "CustomerId": customer_id,
        "InvoiceDate": day.isoformat(),
        "DueDate": (day + timedelta(days=14)).isoformat(),
        "CurrencyCode": order.currency,
        "TotalAmount": float(order.total),
        "TotalVatAmount": float(order.vat),
        "InvoiceCustomerName": order.billing.name,
        "InvoiceAddress1": order.billing.street,
        "InvoicePostalCode": order.billing.postal_code,
        "InvoiceCity": order.billing.city,
        "InvoiceCountryCode": order.billing.country or "NO",
        "YourReference": order.number,
        "IsCreditInvoice": False,
        "CreatedUtc": _utc(order.created_at),
    }


def _customer(person: Person, invoiced: list[Order]) -> dict[str, Any]:
    last = invoiced[-1]
    number = str(person.customer_id) if person.customer_id is not None else f"G{last.id}"
    shipping_differs = (last.shipping.street, last.shipping.city) != (
        last.billing.street,
        last.billing.city,
    )
    created = invoiced[0].created_at
    return {
        "Id": customer_id_of(person.email),
        "CustomerNumber": number,
        "CorporateIdentityNumber": None,
        "ContactPersonEmail": None,
        "ContactPersonMobile": None,
        "ContactPersonName": None,
        "ContactPersonPhone": None,
        "CurrencyCode": "NOK",
        "EmailAddress": person.email,
        "InvoiceAddress1": last.billing.street,
        "InvoiceAddress2": None,
        "InvoiceCity": last.billing.city,
        "InvoiceCountryCode": last.billing.country or "NO",
        "InvoicePostalCode": last.billing.postal_code,
        "DeliveryCustomerName": last.shipping.name if shipping_differs else None,
        "DeliveryAddress1": last.shipping.street if shipping_differs else None,
        "DeliveryAddress2": None,
        "DeliveryCity": last.shipping.city if shipping_differs else None,
        "DeliveryCountryCode": last.shipping.country if shipping_differs else None,
        "DeliveryPostalCode": last.shipping.postal_code if shipping_differs else None,
        "MobilePhone": person.phone,
        "Telephone": None,
        "Name": person.name or last.billing.name,
        "Note": f"Nettbutikkunde, ordre {last.number}",
        "WwwAddress": None,
        "IsPrivatePerson": True,
        "IsActive": True,
        "TermsOfPaymentId": _TERMS_OF_PAYMENT,
        "LastInvoiceDate": last.created_at.date().isoformat(),
        "CreatedUtc": _utc(created),
        "ChangedUtc": _utc(created),
    }


def _matcher(expression: str | None) -> Callable[[dict[str, Any]], bool] | str:
    """A predicate for an OData ``$filter`` of ``eq`` terms joined by ``and``, or an error."""
    if not expression:
        return lambda row: True
    terms: list[tuple[str, Any]] = []
    for part in re.split(r"\s+and\s+", expression.strip(), flags=re.IGNORECASE):
        found = _CONDITION.match(part)
        if found is None:
            return f"The filter {part!r} is not supported: use Field eq 'value'."
        name, quoted, bare = found.groups()
        if quoted is not None:
            terms.append((name, quoted.replace("''", "'").lower()))
        elif bare.lower() in {"true", "false"}:
            terms.append((name, bare.lower() == "true"))
        elif bare.lower() == "null":
            terms.append((name, None))
        else:
            terms.append((name, bare.lower()))

    def match(row: dict[str, Any]) -> bool:
        for name, wanted in terms:
            value = row.get(name)
            if isinstance(value, str | int | float) and not isinstance(value, bool):
                value = str(value).lower()
            if value != wanted:
                return False
        return True

    return match


def _page(request: Request, rows: Iterable[dict[str, Any]]) -> Response:
    found = _matcher(request.query_params.get("$filter"))
    if isinstance(found, str):
        return _error(400, found)
    try:
        page = int(request.query_params.get("$page", "1"))
        size = int(request.query_params.get("$pagesize", "50"))
    except ValueError:
        return _error(400, "$page and $pagesize must be whole numbers.")
    if page < 1 or not 1 <= size <= MAX_PAGE_SIZE:
        return _error(400, f"$page starts at 1; $pagesize is 1 to {MAX_PAGE_SIZE}.")
    matched = [dict(r) for r in rows if found(r)]
    return JSONResponse(
        {
            "Meta": {
                "CurrentPage": page,
                "PageSize": size,
                "TotalNumberOfPages": max(1, math.ceil(len(matched) / size)),
                "TotalNumberOfResults": len(matched),
                "ServerTimeUtc": _utc(datetime.now(UTC)),
            },
            "Data": matched[(page - 1) * size : page * size],
        }
    )


class _Api:
    def __init__(self, state: VismaState) -> None:
        self.state = state

    def _denied(self, request: Request, write: bool) -> Response | None:
        issuer = self.state.issuer
        sales = {"ea:sales"} if write else {"ea:sales", "ea:sales_readonly"}
        return issuer.authorize(request, {"ea:api"}, _error) or issuer.authorize(
            request, sales, _error
        )

    async def customers(self, request: Request) -> Response:
        denied = self._denied(request, write=False)
        if denied is not None:
            return denied
        with self.state.lock:
            return _page(request, list(self.state.customers.values()))

    async def invoices(self, request: Request) -> Response:
        denied = self._denied(request, write=False)
        if denied is not None:
            return denied
        with self.state.lock:
            return _page(request, list(self.state.invoices.values()))

    async def customer(self, request: Request) -> Response:
        denied = self._denied(request, write=request.method != "GET")
        if denied is not None:
            return denied
        key = request.path_params["customer_id"]
        with self.state.lock:
            found = self.state.customers.get(key)
            if found is None:
                return _error(404, f"Customer with id {key} was not found.")
            if request.method == "GET":
                return JSONResponse(dict(found))
            if request.method == "DELETE":
                if any(i["CustomerId"] == key for i in self.state.invoices.values()):
                    return _error(
                        400, "The customer has invoices and cannot be deleted. Set it inactive."
                    )
                del self.state.customers[key]
                return Response(status_code=204)
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "The request body is not JSON.")
        if not isinstance(body, dict):
            return _error(400, "The request body must be a customer object.")
        missing = [k for k in REQUIRED if not body.get(k)]
        if missing:
            return _error(400, f"Required fields are missing: {', '.join(missing)}.")
        if body.get("Id") not in (None, key):
            return _error(400, "Id in the body does not match the customer in the path.")
        with self.state.lock:
            row = self.state.customers.get(key)
            if row is None:
                return _error(404, f"Customer with id {key} was not found.")
            # PUT replaces: a writable field left out of the body becomes empty.
            for name in WRITABLE:
                row[name] = body.get(name)
            row["IsActive"] = bool(body.get("IsActive", True))
            row["ChangedUtc"] = _utc(datetime.now(UTC))
            return JSONResponse(dict(row))


def build(context: SandboxContext) -> VendorApp:
    issuer = TokenIssuer({CLIENT_ID: CLIENT_SECRET}, lifetime=3600, rotate=True)
    issuer.add_refresh_token(CLIENT_ID, SCOPES, REFRESH_TOKEN)
    state = VismaState(issuer=issuer)
    for person in context.people:
        invoiced = [o for o in person.orders if o.status in INVOICED]
        if not invoiced:
            continue
        customer = _customer(person, invoiced)
        state.customers[customer["Id"]] = customer
        for order in invoiced:
            invoice = _invoice(customer["Id"], order)
            state.invoices[invoice["Id"]] = invoice
    api = _Api(state)
    app = Starlette(
        routes=[
            Route("/connect/token", issuer.token_endpoint, methods=["POST"]),
            Route("/v2/customers", api.customers, methods=["GET"]),
            Route("/v2/customers/{customer_id}", api.customer, methods=["GET", "PUT", "DELETE"]),
            Route("/v2/customerinvoices", api.invoices, methods=["GET"]),
        ]
    )
    return VendorApp(
        app=app,
        snapshot=state.snapshot,
        credentials={
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "refresh_token": REFRESH_TOKEN,
        },
        state=state,
    )


VENDOR = Vendor(
    name="visma_eaccounting",
    reference=REFERENCE,
    build=build,
    error_body=lambda status: error_body(status),
)
