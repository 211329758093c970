"""What the payment-provider connectors share: following the shop's orders to the provider.

Klarna and Vipps MobilePay are **independent controllers** of the payment data they hold
(GDPR Art. 4(7); ``/work/shared/reference/vendor_apis.md`` §§ 7–8): they decide their own
purposes (credit assessment, anti-money-laundering, the wallet) and neither offers an API
to find a person by e-mail or to erase them. What the shop can do is:

- **access** (Art. 15): read the payments it started itself, through the references its
  payment plugins stored on each WooCommerce order (``transaction_id``: a Klarna order id,
  a Vipps ePayment reference). :class:`PaymentConnector` asks WooCommerce for the person's
  orders (:meth:`personvern.connectors.woocommerce.client.WooClient.orders_of`), keeps
  those paid with the provider, and fetches each payment. An order the provider has no
  record of (Klarna keeps orders readable for three years; a reference may be wrong) is a
  note in the result, not an error;
- **erasure, rectification, restriction**: not capabilities. The planner makes each such
  step a manual *forward task* with a drafted letter (:mod:`personvern.dsr.drafts`), since
  Art. 17(2) and Art. 19 require the shop to tell the recipients it shared the data with.
  That is why the settings accept ``contact_email``, ``contact_url`` and ``instructions``:
  the drafts read them from the same inventory block. The shop's own copies of the
  references (on its orders) are erased by the shop's own connector (``woocommerce``, or
  ``sql`` on the shop's database), with the rest of each order.

Each provider's connector subclasses :class:`PaymentConnector` and implements
:meth:`PaymentConnector.check_provider` and :meth:`PaymentConnector.fetch`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Final

from pydantic import BaseModel, ConfigDict, EmailStr, Field, SecretStr

from personvern.connectors.base import (
    AccessResult,
    Capability,
    Connector,
    Identity,
    IdentityType,
    Record,
)
from personvern.connectors.http import DEFAULT_TIMEOUT
from personvern.connectors.woocommerce.client import WooClient

# An address no shop customer has: ``check`` searches for it to prove the keys work.
CHECK_EMAIL: Final = "personvern-check@example.invalid"


class PaymentSettings(BaseModel):
    """Settings both payment connectors take: the shop's WooCommerce API, the forward task.

    ``woocommerce_consumer_key`` / ``_secret`` come from ``woocommerce_consumer_key_env`` /
    ``woocommerce_consumer_secret_env`` in the inventory (a read-only REST key is enough).
    ``payment_methods`` are the WooCommerce payment method ids of the provider's plugins.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: str
    timeout: float = Field(default=DEFAULT_TIMEOUT, gt=0)
    woocommerce_url: str
    woocommerce_consumer_key: SecretStr
    woocommerce_consumer_secret: SecretStr
    payment_methods: tuple[str, ...]
    # Read by the planner's manual forward task (dsr/drafts.py), not by the connector.
    contact_email: EmailStr | None = None
    contact_url: str | None = None
    instructions: str | None = None


@dataclass(frozen=True)
class PaymentReference:
    """A payment the shop started: the provider's reference and the shop's order."""

    reference: str
    order_id: int
    order_number: str


def payment_references(
    orders: Sequence[Mapping[str, Any]], methods: Sequence[str]
) -> list[PaymentReference]:
    """The provider's references on the shop's orders paid with one of ``methods``.

    WooCommerce keeps the provider's id in ``transaction_id``; an order paid with the
    provider but without one (abandoned before payment, or already anonymized, where
    WooCommerce's eraser blanks it) has nothing to follow.
    """
    wanted = {m.lower() for m in methods}
    out: dict[str, PaymentReference] = {}
    for order in orders:
        method = str(order.get("payment_method") or "").lower()
        reference = str(order.get("transaction_id") or "").strip()
        if method not in wanted or reference in ("", "0"):
            continue
        number = str(order.get("number") or order.get("id") or "")
        out.setdefault(reference, PaymentReference(reference, int(order.get("id") or 0), number))
    return list(out.values())


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects as dotted field names (``billing_address.city``); lists kept whole."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def categorise(fields: Mapping[str, Any], categories: Mapping[str, str]) -> dict[str, str]:
    """The fideslang categories of the fields present (``categories`` by field name)."""
    return {name: categories[name] for name in fields if name in categories}


class PaymentConnector(Connector):
    """Access to one payment provider's records of the shop's orders (see the module)."""

    capabilities: ClassVar[frozenset[Capability]] = frozenset({"access"})
    identity_types: ClassVar[frozenset[IdentityType]] = frozenset({"email"})
    provider: ClassVar[str]  # the provider's name in messages, e.g. "Klarna"

    def __init__(self, settings: BaseModel) -> None:
        super().__init__(settings)
        if not isinstance(settings, PaymentSettings):
            raise TypeError(f"the {self.name} connector needs {self.Settings.__name__}")
        self.payment_settings = settings
        self._woo: WooClient | None = None

    def woo(self) -> WooClient:
        """The shop's WooCommerce API, built on first use (``__init__`` does no I/O)."""
        if self._woo is None:
            s = self.payment_settings
            self._woo = WooClient(
                s.woocommerce_url,
                s.woocommerce_consumer_key.get_secret_value(),
                s.woocommerce_consumer_secret.get_secret_value(),
                timeout=s.timeout,
            )
        return self._woo

    async def check(self) -> None:
        """Both ends work: the shop's keys (a search) and the provider's credentials."""
        await self.woo().orders_of(CHECK_EMAIL)
        await self.check_provider()

    async def check_provider(self) -> None:
        raise NotImplementedError

    async def fetch(self, ref: PaymentReference) -> list[Record] | None:
        """The provider's records of one payment, or None when it has no record of it."""
        raise NotImplementedError

    async def references(self, identity: Identity) -> list[PaymentReference]:
        if not identity.email:
            return []
        orders = await self.woo().orders_of(identity.email)
        return payment_references(orders, self.payment_settings.payment_methods)

    async def access(self, identity: Identity) -> AccessResult:
        refs = await self.references(identity)
        # Concurrently, so a person with many orders costs about one round trip; the first
        # failure (in order) is raised as it is, Retriable or Fatal, for the executor.
        found = await asyncio.gather(*(self.fetch(r) for r in refs), return_exceptions=True)
        records: list[Record] = []
        notes: list[str] = []
        for ref, got in zip(refs, found, strict=True):
            if isinstance(got, BaseException):
                raise got
            if got is None:
                notes.append(
                    f"{self.provider} has no record of the payment of order {ref.order_number} "
                    f"(reference {ref.reference}). {self.provider} keeps order data readable "
                    "through its API for a limited time, or the reference on the order is "
                    f"wrong. As an independent controller, {self.provider} answers the "
                    "person's own request for what it still holds."
                )
                continue
            records.extend(got)
        return AccessResult(records=records, notes=notes)

    async def close_provider(self) -> None:
        raise NotImplementedError

    async def aclose(self) -> None:
        if self._woo is not None:
            await self._woo.aclose()
            self._woo = None
        await self.close_provider()
