"""The ``visma_eaccounting`` connector: the shop's customers in Visma eAccounting (API v2).

Sources: Visma eAccounting API v2 (https://developer.vismaonline.com/ — ``Customers``:
``GET /v2/customers`` with OData ``$filter``/``$page``/``$pagesize``, ``GET``/``PUT``/
``DELETE /v2/customers/{customerId}``; ``CustomerInvoices``: ``GET /v2/customerinvoices``;
"Authentication": OAuth2 at ``https://identity.vismaonline.com/connect/token``, scopes
``ea:api``, ``ea:sales``, ``offline_access``, refresh tokens rotated on every use).

What it does:

- **access**: the customers whose ``EmailAddress`` is the person's, each with its list of
  invoices (``Invoices``), every page of both;
- **rectify**: ``name``, ``email``, ``phone`` (``MobilePhone``) and ``address`` (the
  invoice address, written as "street, postcode city") on the customer card. Booked
  invoices are accounting documents and stay as they were issued;
- **erase**: a customer with invoices is kept for the bookkeeping (bokføringsloven § 13:
  sales documents are kept five years after the end of the accounting year; per
  bokføringsforskriften § 5-1-1 they name the buyer and the buyer's address). The card is
  set inactive (``IsActive: false``) and every field the bookkeeping does not need is
  emptied — e-mail, phones, web address, note, contact person, delivery address — while the
  name, invoice address, customer and organisation number and the invoices stay; the hold
  is reported with its end (31 December of the latest invoice's year + 5). A customer
  without invoices is deleted. Fields named by a hold in the plan are never emptied;
- **restrict** (Art. 18): the card is set inactive, so it is not picked for new sales.

A second erasure finds no customer by the address (it was emptied) and changes nothing.

Refresh tokens: Visma issues a new one with every access token and, by default, a used one
stops working. Set ``token_cache_file`` so the newest one survives a restart
(:mod:`personvern.connectors.oauth`); otherwise choose "re-use" refresh tokens for the
integration in Visma's developer portal.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from datetime import date
from pathlib import Path
from typing import Any, ClassVar, Final

from pydantic import BaseModel, ConfigDict, EmailStr, Field, SecretStr

from personvern.connectors.base import (
    AccessResult,
    Capability,
    Connector,
    ErasurePlan,
    ErasureResult,
    Fatal,
    Hold,
    Identity,
    IdentityType,
    Record,
    RectifyResult,
)
from personvern.connectors.http import VendorApi
from personvern.connectors.oauth import BearerAuth, TokenSource

VISMA_API: Final = "https://eaccountingapi.vismaonline.com"
VISMA_TOKEN_URL: Final = "https://identity.vismaonline.com/connect/token"  # noqa: S105 (a URL)
CUSTOMERS: Final = "customers"
GROUND: Final = "bokføringsloven § 13"
RETENTION_YEARS: Final = 5

# What the bookkeeping needs of a customer card: who the buyer is and where the invoices
# went (bokføringsforskriften § 5-1-1), and the invoices themselves.
KEPT: Final = (
    "Name",
    "CustomerNumber",
    "CorporateIdentityNumber",
    "InvoiceAddress1",
    "InvoiceAddress2",
    "InvoicePostalCode",
    "InvoiceCity",
    "InvoiceCountryCode",
    "Invoices",
)
# What it does not need, emptied on erasure.
BLANKED: Final = (
    "EmailAddress",
    "Telephone",
    "MobilePhone",
    "WwwAddress",
    "Note",
    "ContactPersonName",
    "ContactPersonEmail",
    "ContactPersonPhone",
    "ContactPersonMobile",
    "DeliveryCustomerName",
    "DeliveryAddress1",
    "DeliveryAddress2",
    "DeliveryPostalCode",
    "DeliveryCity",
    "DeliveryCountryCode",
)
CATEGORIES: Final[Mapping[str, str]] = {
    "Name": "user.name",
    "EmailAddress": "user.contact.email",
    "ContactPersonEmail": "user.contact.email",
    "MobilePhone": "user.contact.phone_number",
    "Telephone": "user.contact.phone_number",
    "ContactPersonPhone": "user.contact.phone_number",
    "ContactPersonMobile": "user.contact.phone_number",
    "InvoiceAddress1": "user.contact.address.street",
    "InvoiceAddress2": "user.contact.address.street",
    "InvoicePostalCode": "user.contact.address.postal_code",
    "InvoiceCity": "user.contact.address.city",
    "InvoiceCountryCode": "user.contact.address.country",
    "DeliveryAddress1": "user.contact.address.street",
    "DeliveryAddress2": "user.contact.address.street",
    "DeliveryPostalCode": "user.contact.address.postal_code",
    "DeliveryCity": "user.contact.address.city",
    "DeliveryCountryCode": "user.contact.address.country",
    "CorporateIdentityNumber": "user.government_id",
    "CustomerNumber": "user.unique_id",
    "Invoices": "user.behavior.purchase_history",
}
_ADDRESS = re.compile(r"^(?P<street>[^,]+?)\s*,\s*(?P<postal>\d{4})\s+(?P<city>\S.*?)\s*$")
# The keys the request form proposes (personvern.dsr.intake.FORM_CHANGES).
CHANGE_FIELDS: Final = {"name": "Name", "email": "EmailAddress", "phone": "MobilePhone"}


class VismaSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client_id: str = Field(description="the integration's client id (set client_id_env)")
    client_secret: SecretStr
    refresh_token: SecretStr
    base_url: str = VISMA_API
    token_url: str | None = None  # default: Visma's, or base_url + /connect/token
    token_cache_file: Path | None = Field(
        default=None, description="where the newest (rotated) refresh token is kept"
    )
    page_size: int = Field(default=100, ge=1, le=1000)
    timeout: float = 15.0
    # Read by the planner for manual tasks (personvern.dsr.drafts).
    contact_email: EmailStr | None = None
    contact_url: str | None = None
    instructions: str | None = None
    # A checklist for those tasks, in bokmål and English: checked by the planner
    # (personvern.connectors.manual.checklist), carried here only so it is not refused.
    checklist: str | list[Any] = Field(default_factory=list)
    customer_lists: bool = False


def _quoted(value: str) -> str:
    """An OData string literal: single quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


def _year(invoice: Mapping[str, Any]) -> int | None:
    raw = invoice.get("InvoiceDate")
    try:
        return date.fromisoformat(str(raw)[:10]).year
    except ValueError:
        return None


class VismaEAccountingConnector(Connector):
    """Finds, corrects, restricts and (for bookkeeping: partly) erases Visma customers."""

    name: ClassVar[str] = "visma_eaccounting"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {"access", "erase", "rectify", "restrict"}
    )
    identity_types: ClassVar[frozenset[IdentityType]] = frozenset({"email"})
    Settings: ClassVar[type[BaseModel]] = VismaSettings

    def __init__(self, settings: BaseModel) -> None:
        super().__init__(settings)
        assert isinstance(settings, VismaSettings)
        self.config = settings
        self._tokens: TokenSource | None = None
        self._client: VendorApi | None = None

    @property
    def tokens(self) -> TokenSource:
        if self._tokens is None:
            s = self.config
            stand_in = s.base_url.rstrip("/") != VISMA_API
            default = s.base_url.rstrip("/") + "/connect/token" if stand_in else VISMA_TOKEN_URL
            self._tokens = TokenSource(
                "Visma",
                s.token_url or default,
                client_id=s.client_id,
                client_secret=s.client_secret,
                refresh_token=s.refresh_token,
                client_auth="basic",
                cache_file=s.token_cache_file,
                timeout=s.timeout,
            )
        return self._tokens

    def _api(self) -> VendorApi:
        if self._client is None:
            self._client = VendorApi(
                "Visma eAccounting",
                self.config.base_url,
                auth=BearerAuth(self.tokens),
                timeout=self.config.timeout,
            )
        return self._client

    async def _pages(self, path: str, odata_filter: str) -> AsyncIterator[dict[str, Any]]:
        """Every row of a list endpoint matching the filter, page after page."""
        page = 1
        while True:
            body = await self._api().json(
                "GET",
                path,
                params={
                    "$filter": odata_filter,
                    "$page": page,
                    "$pagesize": self.config.page_size,
                },
            )
            if not isinstance(body, dict) or not isinstance(body.get("Data"), list):
                raise Fatal(f"Visma answered GET {path} without Meta/Data; check base_url")
            for row in body["Data"]:
                if isinstance(row, dict):
                    yield row
            meta = body.get("Meta") or {}
            pages = meta.get("TotalNumberOfPages") if isinstance(meta, dict) else None
            if not isinstance(pages, int) or page >= pages or not body["Data"]:
                return
            page += 1

    async def _customers(self, identity: Identity) -> list[dict[str, Any]]:
        if not identity.email:
            return []
        where = f"EmailAddress eq {_quoted(identity.email)}"
        wanted = identity.email.strip().lower()
        # Visma compares without regard to case; the check here keeps a loose server honest.
        return [
            c
            async for c in self._pages("/v2/customers", where)
            if str(c.get("EmailAddress") or "").strip().lower() == wanted
        ]

    async def _invoices(self, customer_id: str) -> list[dict[str, Any]]:
        where = f"CustomerId eq {customer_id}"
        return [i async for i in self._pages("/v2/customerinvoices", where)]

    async def _put(self, customer: Mapping[str, Any]) -> None:
        await self._api().json("PUT", f"/v2/customers/{customer['Id']}", json=dict(customer))

    # --- the contract ------------------------------------------------------------------

    async def check(self) -> None:
        """A token, and one customer read with it (needs ``ea:api`` and ``ea:sales``)."""
        await self._api().json("GET", "/v2/customers", params={"$page": 1, "$pagesize": 1})

    async def access(self, identity: Identity) -> AccessResult:
        records: list[Record] = []
        for customer in await self._customers(identity):
            invoices = await self._invoices(str(customer["Id"]))
            fields = {**customer, "Invoices": invoices}
            records.append(
                Record(
                    CUSTOMERS,
                    fields,
                    {k: v for k, v in CATEGORIES.items() if k in fields},
                    key=str(customer["Id"]),
                )
            )
        return AccessResult(records)

    async def erase(self, identity: Identity, plan: ErasurePlan) -> ErasureResult:
        held = tuple(h for h in plan.holds if h.collection == CUSTOMERS)
        keep = {f for h in held for f in h.fields}
        deleted = anonymized = 0
        latest: int | None = None
        notes: list[str] = []
        for customer in await self._customers(identity):
            invoices = await self._invoices(str(customer["Id"]))
            years = [y for y in map(_year, invoices) if y is not None]
            if not invoices and not held:
                await self._api().request("DELETE", f"/v2/customers/{customer['Id']}")
                deleted += 1
                continue
            if years:
                latest = max([latest or 0, *years])
            changed = dict(customer)
            for name in BLANKED:
                if name not in keep and changed.get(name) not in (None, ""):
                    changed[name] = None
            if "IsActive" not in keep:
                changed["IsActive"] = False
            if changed != customer:
                await self._put(changed)
                anonymized += 1
        kept = held
        if latest is not None:
            until = date(latest + RETENTION_YEARS, 12, 31)
            own = Hold(CUSTOMERS, KEPT, GROUND, until)
            kept = (*held, own) if own not in held else held
            if until < date.today():
                notes.append(
                    f"The bookkeeping period of these invoices ended on {until.isoformat()}; "
                    "the customer card can now be deleted in Visma by hand, if Visma allows it."
                )
        return ErasureResult(
            deleted={CUSTOMERS: deleted} if deleted else {},
            anonymized={CUSTOMERS: anonymized} if anonymized else {},
            kept=kept,
            notes=tuple(notes),
        )

    async def rectify(self, identity: Identity, changes: Mapping[str, Any]) -> RectifyResult:
        wanted: dict[str, Any] = {}
        notes: list[str] = []
        for key, value in changes.items():
            if key in CHANGE_FIELDS:
                wanted[CHANGE_FIELDS[key]] = value
            elif key == "address":
                found = _ADDRESS.match(str(value))
                if found is None:
                    raise Fatal(
                        f"cannot read the corrected address {value!r}: write it as "
                        "'street, postcode city', e.g. 'Storgata 1, 0155 Oslo'"
                    )
                wanted |= {
                    "InvoiceAddress1": found["street"],
                    "InvoicePostalCode": found["postal"],
                    "InvoiceCity": found["city"],
                }
            else:
                notes.append(f"{key} is not kept in Visma eAccounting, so it was not changed")
        changed = 0
        for customer in await self._customers(identity):
            updated = {**customer, **wanted}
            if updated != customer:
                await self._put(updated)
                changed += 1
        if changed and any(k in wanted for k in ("Name", "InvoiceAddress1")):
            notes.append(
                "Invoices already issued keep the name and address they were issued with "
                "(they are accounting documents); new invoices use the corrected ones."
            )
        return RectifyResult({CUSTOMERS: changed} if changed else {}, tuple(notes))

    async def restrict(self, identity: Identity) -> RectifyResult:
        changed = 0
        for customer in await self._customers(identity):
            if customer.get("IsActive") is not False:
                await self._put({**customer, "IsActive": False})
                changed += 1
        return RectifyResult({CUSTOMERS: changed} if changed else {})

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        if self._tokens is not None:
            await self._tokens.aclose()
            self._tokens = None
