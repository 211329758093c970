"""The ``klarna`` connector: the Klarna orders of a person, found through the shop's orders.

Reference: Klarna Order Management API, https://docs.klarna.com/api/ordermanagement/
(``GET /ordermanagement/v1/orders/{order_id}``), authenticated with HTTP Basic: the API
username (UID) and its password (docs.klarna.com, "Authentication"). Base URL
``https://api.klarna.com`` (EU), ``https://api.playground.klarna.com`` for tests. Order
data can be read for up to three years after the purchase.

Klarna Bank AB is an independent controller (GDPR Art. 4(7); Klarna's own GDPR guidance for
merchants: no data processing agreement, each party responsible for its own processing),
and the API has no erasure or data-subject endpoint. So the only capability is ``access``;
erasure, rectification and restriction become manual forward tasks with a drafted letter
(Art. 17(2), Art. 19), see :mod:`personvern.connectors.payments`::

    connector:
      type: klarna
      settings:
        base_url: https://api.klarna.com
        username_env: KLARNA_API_USERNAME
        password_env: KLARNA_API_PASSWORD
        woocommerce_url: https://www.assemble.no
        woocommerce_consumer_key_env: WOOCOMMERCE_CONSUMER_KEY
        woocommerce_consumer_secret_env: WOOCOMMERCE_CONSUMER_SECRET
"""

from __future__ import annotations

import uuid
from typing import ClassVar, Final

from pydantic import BaseModel, SecretStr

from personvern.connectors.base import Record
from personvern.connectors.http import VendorApi
from personvern.connectors.payments import (
    PaymentConnector,
    PaymentReference,
    PaymentSettings,
    categorise,
    flatten,
)

ORDERS_PATH: Final = "/ordermanagement/v1/orders"
# The Klarna plugins for WooCommerce: Klarna Checkout ("kco"), Klarna Payments
# ("klarna_payments"); "klarna" is what the demo shop stores.
PAYMENT_METHODS: Final = ("kco", "klarna_payments", "klarna")
_ADDRESS: Final = {
    "given_name": "user.name",
    "family_name": "user.name",
    "title": "user.name",
    "street_address": "user.contact.address.street",
    "street_address2": "user.contact.address.street",
    "postal_code": "user.contact.address.postal_code",
    "city": "user.contact.address.city",
    "region": "user.contact.address.state",
    "country": "user.contact.address.country",
    "email": "user.contact.email",
    "phone": "user.contact.phone_number",
}
CATEGORIES: Final = {
    **{
        f"{side}.{k}": v
        for side in ("billing_address", "shipping_address")
        for k, v in _ADDRESS.items()
    },
    "customer.date_of_birth": "user.demographic.date_of_birth",
    "customer.national_identification_number": (
        "user.government_id.national_identification_number"
    ),
    "order_lines": "user.behavior.purchase_history",
    "order_amount": "user.behavior.purchase_history",
    "captures": "user.payment",
    "refunds": "user.payment",
    "initial_payment_method.type": "user.payment",
    "initial_payment_method.description": "user.payment",
}


class KlarnaSettings(PaymentSettings):
    base_url: str = "https://api.klarna.com"
    username: str  # the API username (UID); it names the merchant, it is not the secret
    password: SecretStr
    payment_methods: tuple[str, ...] = PAYMENT_METHODS


class KlarnaConnector(PaymentConnector):
    name: ClassVar[str] = "klarna"
    provider: ClassVar[str] = "Klarna"
    Settings: ClassVar[type[BaseModel]] = KlarnaSettings

    def __init__(self, settings: BaseModel) -> None:
        super().__init__(settings)
        if not isinstance(settings, KlarnaSettings):
            raise TypeError("the klarna connector needs KlarnaSettings")
        self.klarna_settings = settings
        self._api: VendorApi | None = None

    def api(self) -> VendorApi:
        if self._api is None:
            s = self.klarna_settings
            self._api = VendorApi(
                "Klarna",
                s.base_url,
                auth=(s.username, s.password.get_secret_value()),
                headers={"Accept": "application/json"},
                timeout=s.timeout,
            )
        return self._api

    async def check_provider(self) -> None:
        """The credentials work: an order id nobody has is 404 to them, 401 to bad ones."""
        await self.api().json("GET", f"{ORDERS_PATH}/{uuid.uuid4()}", missing_ok=True)

    async def fetch(self, ref: PaymentReference) -> list[Record] | None:
        order = await self.api().json("GET", f"{ORDERS_PATH}/{ref.reference}", missing_ok=True)
        if not isinstance(order, dict):
            return None
        fields = flatten(order)
        return [
            Record(
                collection="orders",
                key=str(order.get("order_id") or ref.reference),
                fields=fields,
                categories=categorise(fields, CATEGORIES),
            )
        ]

    async def close_provider(self) -> None:
        if self._api is not None:
            await self._api.aclose()
            self._api = None
