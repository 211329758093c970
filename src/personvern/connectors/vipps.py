"""The ``vipps`` connector: a person's Vipps MobilePay payments, found through the shop's orders.

References: the ePayment API, https://developer.vippsmobilepay.com/api/epayment/
(``GET /epayment/v1/payments/{reference}`` and ``…/{reference}/events``), and the Access
token API, https://developer.vippsmobilepay.com/api/access-token/ (``POST
/accesstoken/get`` with the headers ``client_id``, ``client_secret``,
``Ocp-Apim-Subscription-Key`` and ``Merchant-Serial-Number``; the token is valid for
``expires_in`` seconds: an hour in the test environment, a day in production). Every
ePayment call carries ``Authorization: Bearer``, the subscription key, the MSN and the
``Vipps-System-*`` headers the API guide asks integrations to send. Base URL
``https://api.vipps.no``; ``https://apitest.vipps.no`` for tests.

Vipps MobilePay AS is an independent controller of the wallet and payment data (its own
privacy notice); there is no deletion API, and no way to look a person up by e-mail. So the
only capability is ``access``, through the ePayment references on the shop's orders; the
rest becomes manual forward tasks (Art. 17(2), Art. 19), see
:mod:`personvern.connectors.payments`::

    connector:
      type: vipps
      settings:
        base_url: https://api.vipps.no
        client_id_env: VIPPS_CLIENT_ID
        client_secret_env: VIPPS_CLIENT_SECRET
        subscription_key_env: VIPPS_SUBSCRIPTION_KEY
        merchant_serial_number_env: VIPPS_MERCHANT_SERIAL_NUMBER
        woocommerce_url: https://www.assemble.no
        woocommerce_consumer_key_env: WOOCOMMERCE_CONSUMER_KEY
        woocommerce_consumer_secret_env: WOOCOMMERCE_CONSUMER_SECRET

The access token is fetched once and kept until shortly before it expires; a token the API
refuses anyway (revoked, or expired early) is replaced once and the call made again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any, ClassVar, Final
from urllib.parse import quote

from pydantic import BaseModel, SecretStr

import personvern
from personvern.connectors.base import Fatal, Record
from personvern.connectors.http import VendorApi
from personvern.connectors.payments import (
    PaymentConnector,
    PaymentReference,
    PaymentSettings,
    categorise,
    flatten,
)

ACCESSTOKEN_PATH: Final = "/accesstoken/get"
PAYMENTS_PATH: Final = "/epayment/v1/payments"
# The official Vipps MobilePay plugin for WooCommerce stores this payment method id.
PAYMENT_METHODS: Final = ("vipps",)
# Renew a token this long before Vipps says it expires, so none expires in flight.
TOKEN_MARGIN: Final = 60.0
CATEGORIES: Final = {
    "profile.sub": "user.unique_id",
    "userDetails.sub": "user.unique_id",
    "userDetails.firstName": "user.name",
    "userDetails.lastName": "user.name",
    "userDetails.email": "user.contact.email",
    "userDetails.mobileNumber": "user.contact.phone_number",
    "shippingDetails.firstName": "user.name",
    "shippingDetails.lastName": "user.name",
    "shippingDetails.email": "user.contact.email",
    "shippingDetails.phoneNumber": "user.contact.phone_number",
    "shippingDetails.address.addressLine1": "user.contact.address.street",
    "shippingDetails.address.addressLine2": "user.contact.address.street",
    "shippingDetails.address.city": "user.contact.address.city",
    "shippingDetails.address.postCode": "user.contact.address.postal_code",
    "shippingDetails.address.country": "user.contact.address.country",
    "amount.value": "user.behavior.purchase_history",
    "paymentMethod.type": "user.payment",
}
EVENT_CATEGORIES: Final = {"name": "user.payment", "amount.value": "user.payment"}


class VippsSettings(PaymentSettings):
    base_url: str = "https://api.vipps.no"
    client_id: str
    client_secret: SecretStr
    subscription_key: SecretStr
    merchant_serial_number: str
    payment_methods: tuple[str, ...] = PAYMENT_METHODS


class VippsConnector(PaymentConnector):
    name: ClassVar[str] = "vipps"
    provider: ClassVar[str] = "Vipps MobilePay"
    Settings: ClassVar[type[BaseModel]] = VippsSettings

    def __init__(self, settings: BaseModel) -> None:
        super().__init__(settings)
        if not isinstance(settings, VippsSettings):
            raise TypeError("the vipps connector needs VippsSettings")
        self.vipps_settings = settings
        self._api: VendorApi | None = None
        self._token: str | None = None
        self._token_until = 0.0  # time.monotonic() after which the token is not used
        self._token_lock = asyncio.Lock()

    def api(self) -> VendorApi:
        if self._api is None:
            s = self.vipps_settings
            self._api = VendorApi(
                "Vipps MobilePay",
                s.base_url,
                headers={
                    "Accept": "application/json",
                    "Ocp-Apim-Subscription-Key": s.subscription_key.get_secret_value(),
                    "Merchant-Serial-Number": s.merchant_serial_number,
                    # Asked of every integration (ePayment API guide, "HTTP headers").
                    "Vipps-System-Name": "personvern",
                    "Vipps-System-Version": personvern.__version__,
                    "Vipps-System-Plugin-Name": "personvern-vipps",
                    "Vipps-System-Plugin-Version": personvern.__version__,
                },
                timeout=s.timeout,
            )
        return self._api

    async def _fetch_token(self) -> str:
        s = self.vipps_settings
        body = await self.api().json(
            "POST",
            ACCESSTOKEN_PATH,
            headers={
                "client_id": s.client_id,
                "client_secret": s.client_secret.get_secret_value(),
            },
        )
        token = body.get("access_token") if isinstance(body, Mapping) else None
        if not isinstance(token, str) or not token:
            raise Fatal(
                f"Vipps MobilePay answered POST {ACCESSTOKEN_PATH} without an access_token; check "
                "that base_url points at the Vipps MobilePay API (https://api.vipps.no)"
            )
        try:
            lifetime = float(body.get("expires_in") or 0)  # a string in Vipps' answers
        except (TypeError, ValueError):
            lifetime = 0.0
        self._token = token
        self._token_until = time.monotonic() + max(0.0, lifetime - TOKEN_MARGIN)
        return token

    async def token(self, *, refused: str | None = None) -> tuple[str, bool]:
        """A valid access token, and whether it was kept from before (not just fetched).

        ``refused`` is a token the API turned down: it is not used again, but a newer one
        that a concurrent call fetched meanwhile is, so a burst of calls renews once.
        """
        async with self._token_lock:
            token = self._token
            if token is not None and token != refused and time.monotonic() < self._token_until:
                return token, True
            self._token = None
            return await self._fetch_token(), False

    async def get(self, path: str) -> Any:
        """GET an ePayment path (None on 404), renewing a refused kept token once."""
        token, kept = await self.token()
        try:
            return await self.api().json(
                "GET", path, headers={"Authorization": f"Bearer {token}"}, missing_ok=True
            )
        except Fatal:
            if not kept:
                raise
        # The kept token was refused (revoked, or expired before Vipps said it would):
        # a fresh one settles it, and if that is refused too the credentials are wrong.
        token, _ = await self.token(refused=token)
        return await self.api().json(
            "GET", path, headers={"Authorization": f"Bearer {token}"}, missing_ok=True
        )

    async def check_provider(self) -> None:
        """The client pair, subscription key and MSN work: a token is issued for them."""
        async with self._token_lock:
            self._token = None
            await self._fetch_token()

    async def fetch(self, ref: PaymentReference) -> list[Record] | None:
        path = f"{PAYMENTS_PATH}/{quote(ref.reference, safe='')}"
        payment, events = await asyncio.gather(self.get(path), self.get(path + "/events"))
        if not isinstance(payment, dict):
            return None
        fields = flatten(payment)
        records = [
            Record(
                collection="payments",
                key=str(payment.get("reference") or ref.reference),
                fields=fields,
                categories=categorise(fields, CATEGORIES),
            )
        ]
        for n, event in enumerate(events if isinstance(events, list) else []):
            if isinstance(event, dict):
                event_fields = flatten(event)
                records.append(
                    Record(
                        collection="events",
                        key=f"{records[0].key}/{n}",
                        fields=event_fields,
                        categories=categorise(event_fields, EVENT_CATEGORIES),
                    )
                )
        return records

    async def close_provider(self) -> None:
        if self._api is not None:
            await self._api.aclose()
            self._api = None
        self._token = None
