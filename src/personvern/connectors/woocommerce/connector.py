"""The ``woocommerce`` connector: a person in a WooCommerce shop, through its REST API v3.

Reference: https://woocommerce.github.io/woocommerce-rest-api-docs/ and
reference/vendor_apis.md § 1. Settings (in the inventory; secrets by environment variable,
resolved by the registry)::

    connector:
      type: woocommerce
      settings:
        url: https://www.assemble.no          # the shop's root; the API is url + /wp-json/wc/v3
        consumer_key_env: WOOCOMMERCE_CONSUMER_KEY        # a Read/Write REST API key …
        consumer_secret_env: WOOCOMMERCE_CONSUMER_SECRET
        # … or a WordPress user with an application password:
        # username: personvern
        # application_password_env: WORDPRESS_APPLICATION_PASSWORD
        holds:                                # read by the planner (personvern.dsr.holds)
          - "bookkeeping_primary: orders(number, date_created, total, total_tax, line_items)"

- **access**: the customer (exact e-mail or customer id), their orders and guest orders
  (:mod:`.finding`), each order's notes; the shop's personal-data retention settings in the
  notes. **describe** reads those settings as facts.
- **rectify**: ``PUT`` of the customer's and orders' fields (:mod:`.rectify`).
- **erase**: the account deleted, orders anonymized like WooCommerce's eraser, notes
  deleted, holds honoured (:mod:`.erasure`).
- **sweep**: old orders and inactive accounts (:mod:`.sweep`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Final, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from personvern.connectors.base import (
    AccessResult,
    Capability,
    Connector,
    ErasurePlan,
    ErasureResult,
    Fact,
    Fatal,
    Identity,
    IdentityType,
    RectifyResult,
    SweepResult,
    SweepRule,
)
from personvern.connectors.woocommerce import erasure, rectify
from personvern.connectors.woocommerce.client import API_PATH, WooClient
from personvern.connectors.woocommerce.finding import find
from personvern.connectors.woocommerce.sweep import Sweeper

SETTINGS_GROUP: Final = "account"  # WooCommerce → Settings → Accounts & Privacy
RETENTION_OPTIONS: Final = (
    "woocommerce_delete_inactive_accounts",
    "woocommerce_trash_pending_orders",
    "woocommerce_trash_failed_orders",
    "woocommerce_trash_cancelled_orders",
    "woocommerce_anonymize_refunded_orders",
    "woocommerce_anonymize_completed_orders",
)
ERASURE_OPTION: Final = "woocommerce_erasure_request_removes_order_data"


class WooCommerceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(description="the shop's root address; the API is url + /wp-json/wc/v3")
    consumer_key: SecretStr | None = Field(default=None, description="REST API key (ck_…)")
    consumer_secret: SecretStr | None = Field(default=None, description="REST API secret")
    username: str | None = Field(default=None, description="WordPress user (app password)")
    application_password: SecretStr | None = Field(default=None, description="its password")
    timeout: float = Field(default=15.0, gt=0)
    # Read by the planner (personvern.dsr.holds), accepted here so an inventory validates.
    holds: list[str] = Field(default_factory=list)
    erasure: Literal["delete", "anonymize"] | None = None

    @model_validator(mode="after")
    def _one_way_in(self) -> Self:
        keys = self.consumer_key is not None and self.consumer_secret is not None
        app = self.username is not None and self.application_password is not None
        if not (keys or app):
            raise ValueError(
                "set consumer_key_env and consumer_secret_env (a WooCommerce REST API key "
                "with Read/Write access), or username and application_password_env"
            )
        return self

    def basic(self) -> tuple[str, str]:
        if self.consumer_key is not None and self.consumer_secret is not None:
            return self.consumer_key.get_secret_value(), self.consumer_secret.get_secret_value()
        password = self.application_password
        return self.username or "", password.get_secret_value() if password is not None else ""


def _period(value: Any) -> str:
    """A ``relative_date_selector`` value as words: ``{"number": "6", "unit": "years"}``."""
    if isinstance(value, Mapping) and str(value.get("number", "")).strip():
        number = str(value["number"]).strip()
        unit = str(value.get("unit", "")).strip()
        return f"{number} {unit.rstrip('s') if number == '1' else unit}".strip()
    return "not set (kept until deleted by hand)"


class WooCommerceConnector(Connector):
    """Finds, corrects, erases and sweeps people in a WooCommerce shop."""

    name: ClassVar[str] = "woocommerce"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {"access", "erase", "rectify", "sweep"}
    )
    identity_types: ClassVar[frozenset[IdentityType]] = frozenset({"email", "customer_id"})
    Settings: ClassVar[type[BaseModel]] = WooCommerceSettings

    def __init__(self, settings: BaseModel) -> None:
        if not isinstance(settings, WooCommerceSettings):
            settings = WooCommerceSettings.model_validate(settings.model_dump())
        super().__init__(settings)
        self.config: WooCommerceSettings = settings
        self._client: WooClient | None = None

    @property
    def client(self) -> WooClient:
        if self._client is None:
            user, password = self.config.basic()
            self._client = WooClient(self.config.url, user, password, timeout=self.config.timeout)
        return self._client

    async def check(self) -> None:
        """List one customer: proves the address, the credentials and their read access."""
        await self.client.api.request("GET", "/customers", params={"per_page": 1})

    async def access(self, identity: Identity) -> AccessResult:
        found = await find(self.client, identity)
        if found.empty:
            return AccessResult(records=[])
        return AccessResult(records=found.records(), notes=await self._retention_notes())

    async def rectify(self, identity: Identity, changes: Mapping[str, Any]) -> RectifyResult:
        wanted = rectify.targets(changes)
        found = await find(self.client, identity, notes=False)
        return await rectify.rectify(self.client, found, wanted)

    async def erase(self, identity: Identity, plan: ErasurePlan) -> ErasureResult:
        return await erasure.erase(self.client, await find(self.client, identity), plan)

    async def sweep(self, rule: SweepRule, *, dry_run: bool = False) -> SweepResult:
        return await Sweeper(self.client, rule, dry_run=dry_run).run()

    async def describe(self) -> tuple[Fact, ...]:
        """The "Personal data retention" settings, as Accounts & Privacy shows them."""
        source = f"GET {API_PATH}/settings/{SETTINGS_GROUP}"
        facts = []
        for setting in await self.client.settings(SETTINGS_GROUP):
            option = setting.get("id")
            label = str(setting.get("label") or option)
            if option in RETENTION_OPTIONS:
                facts.append(Fact(label, _period(setting.get("value")), f"{source}: {option}"))
            elif option == ERASURE_OPTION:
                on = setting.get("value") == "yes"
                value = "remove personal data from orders on request" if on else "orders kept"
                facts.append(Fact(label, value, f"{source}: {option}"))
        return tuple(facts)

    async def _retention_notes(self) -> list[str]:
        """The shop's retention settings, for the person's copy; a key without permission
        to read settings only loses this note, not the access."""
        try:
            facts = await self.describe()
        except Fatal as exc:
            return [f"The shop's retention settings could not be read: {exc}"]
        return [f"{fact.label}: {fact.value}" for fact in facts]

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
