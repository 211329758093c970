"""The ``wordpress`` connector: WordPress's own privacy tools, reached through the bridge plugin.

WordPress has no REST endpoint for its privacy tools (Tools → Export/Erase Personal Data);
they run over admin AJAX after a confirmation e-mail. The personvern bridge plugin
(``integrations/wordpress/personvern-bridge``, PHP) puts them on the REST API, one page of
one exporter or eraser per call, for a user with the privacy capabilities and an
application password (HTTP Basic, core since WordPress 5.6). This connector drives it:

- ``GET  /wp-json/personvern/v1/exporters`` and ``…/erasers``: what the
  ``wp_privacy_personal_data_exporters`` / ``…_erasers`` filters register, core's (user
  profile, comments, media) and every plugin's, WooCommerce's included;
- ``POST /wp-json/personvern/v1/export`` (``email``, ``exporter``, ``page``) → ``data``,
  ``done``; POST rather than GET keeps the address out of the web server's access log;
- ``POST /wp-json/personvern/v1/erase`` (``email``, ``eraser``, ``page``) →
  ``items_removed``, ``items_retained``, ``messages``, ``done``.

Pages are asked for from 1 until ``done``, as core's own admin screen does
(``wp_ajax_wp_privacy_export_personal_data`` / ``wp_ajax_wp_privacy_erase_personal_data``).
Exported items become :class:`Record` values: the collection is the item's ``group_id``
(``user``, ``comments``, ``woocommerce_orders`` …), the key its ``item_id``, the fields its
name/value pairs. What an eraser does (anonymize, delete, keep for bookkeeping) is the
plugin's decision; what it kept comes back with the reasons it gave.

Sources: developer.wordpress.org/plugins/privacy/adding-the-personal-data-exporter-to-your-plugin/
and …/adding-the-personal-data-eraser-to-your-plugin/ (the callback contract);
make.wordpress.org/core/2020/11/05/application-passwords-integration-guide/ (the auth).
"""

from __future__ import annotations

from typing import Any, ClassVar, Final

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

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
)
from personvern.connectors.http import DEFAULT_TIMEOUT, VendorApi

API: Final = "/wp-json/personvern/v1"
NAMESPACE: Final = "personvern/v1"
INSTALL_HINT: Final = (
    "install the personvern-bridge plugin: copy integrations/wordpress/personvern-bridge from "
    "personvern into wp-content/plugins and activate it under Plugins"
)


class WordPressSettings(BaseModel):
    """Where the site is and whose application password to use (set the ``*_env`` names)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(description="the site's address, e.g. https://www.assemble.no")
    username: str = Field(min_length=1, description="an administrator's user name")
    application_password: SecretStr = Field(
        description="that user's application password (Users → Profile → Application Passwords)"
    )
    timeout: float = Field(default=DEFAULT_TIMEOUT, gt=0)
    max_pages: int = Field(default=1000, ge=1, description="most pages of one exporter/eraser")

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("https://", "http://")):
            raise ValueError(f"url must start with https:// (got {value!r})")
        return value


class WordPressConnector(Connector):
    """Runs WordPress's registered personal-data exporters and erasers for an e-mail address."""

    name: ClassVar[str] = "wordpress"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({"access", "erase"})
    identity_types: ClassVar[frozenset[IdentityType]] = frozenset({"email"})
    Settings: ClassVar[type[BaseModel]] = WordPressSettings

    def __init__(self, settings: BaseModel) -> None:
        if not isinstance(settings, WordPressSettings):
            settings = WordPressSettings.model_validate(settings.model_dump())
        super().__init__(settings)
        self.config: WordPressSettings = settings
        self._api: VendorApi | None = None

    def _client(self) -> VendorApi:
        if self._api is None:
            self._api = VendorApi(
                "WordPress",
                self.config.url,
                auth=(self.config.username, self.config.application_password.get_secret_value()),
                timeout=self.config.timeout,
            )
        return self._api

    async def check(self) -> None:
        """Lists exporters and erasers: proves the plugin, the password and both capabilities."""
        await self._registered("exporters")
        await self._registered("erasers")

    async def access(self, identity: Identity) -> AccessResult:
        if not identity.email:
            return AccessResult([], ["WordPress finds people by e-mail address only"])
        items: dict[tuple[str, str], dict[str, Any]] = {}
        exporters = await self._registered("exporters")
        for exporter_id, _ in exporters:
            page = 1
            while True:
                body = await self._call("export", identity.email, "exporter", exporter_id, page)
                data = body.get("data")
                if not isinstance(data, list):
                    raise self._shape("export")
                for item in data:
                    _merge(items, item)
                if body.get("done"):
                    break
                page = self._next(page, exporter_id)
        records = [
            Record(collection=group, fields=fields, key=item_id)
            for (group, item_id), fields in items.items()
        ]
        names = ", ".join(f"{name} ({eid})" for eid, name in exporters)
        return AccessResult(records, [f"WordPress's exporters searched: {names}"])

    async def erase(self, identity: Identity, plan: ErasurePlan) -> ErasureResult:
        """Runs every eraser page by page until done; an eraser a hold names is not run.

        WordPress's erasers cannot keep single fields, so a hold's ``collection`` names an
        eraser (``woocommerce-orders``, ``wordpress-comments`` …) and that eraser is skipped
        whole, which keeps at least the fields the hold names. The eraser decides whether to
        anonymize or delete; ``plan.action`` cannot change that.
        """
        if not identity.email:
            return ErasureResult(notes=("WordPress finds people by e-mail address only",))
        erasers = await self._registered("erasers")
        held = _held_erasers(plan.holds, [eid for eid, _ in erasers])
        removed: dict[str, int] = {}
        notes: list[str] = []
        for eraser_id, eraser_name in erasers:
            if eraser_id in held:
                notes.append(f"{eraser_name} ({eraser_id}) was not run: a hold keeps its data")
                continue
            count, retained, messages = await self._erase_all(identity.email, eraser_id)
            if count:
                removed[eraser_id] = count
            if retained:
                said = " ".join(messages) or "it gave no reason"
                notes.append(f"{eraser_name} ({eraser_id}) kept some data: {said}")
            elif messages:
                notes.append(f"{eraser_name} ({eraser_id}): {' '.join(messages)}")
        if removed:
            notes.append(
                "WordPress's erasers keep the user account itself (core has no eraser for "
                "accounts); delete it under Users, or through the woocommerce connector"
            )
        return ErasureResult(anonymized=removed, kept=tuple(plan.holds), notes=tuple(notes))

    async def aclose(self) -> None:
        if self._api is not None:
            await self._api.aclose()
            self._api = None

    # --- the bridge's routes --------------------------------------------------------------

    async def _erase_all(self, email: str, eraser_id: str) -> tuple[int, bool, list[str]]:
        """One eraser over all its pages: items removed, whether any were kept, messages."""
        count, retained, messages, page = 0, False, [], 1
        while True:
            body = await self._call("erase", email, "eraser", eraser_id, page)
            try:
                count += int(body["items_removed"])
                retained = retained or bool(body["items_retained"])
                messages += [str(m) for m in body["messages"] if str(m) not in messages]
            except (KeyError, TypeError, ValueError):
                raise self._shape("erase") from None
            if body.get("done"):
                return count, retained, messages
            page = self._next(page, eraser_id)

    async def _registered(self, kind: str) -> list[tuple[str, str]]:
        """``(id, name)`` of every exporter or eraser (``kind``: exporters | erasers)."""
        body = await self._client().json("GET", f"{API}/{kind}", missing_ok=True)
        if body is None:
            raise await self._not_found()
        try:
            return [(str(entry["id"]), str(entry.get("name") or entry["id"])) for entry in body]
        except (KeyError, TypeError, AttributeError):
            raise self._shape(kind) from None

    async def _call(self, route: str, email: str, kind: str, ident: str, page: int) -> Any:
        body = await self._client().json(
            "POST",
            f"{API}/{route}",
            json={"email": email, kind: ident, "page": page},
            missing_ok=True,
        )
        if body is None:
            raise await self._not_found()
        if not isinstance(body, dict):
            raise self._shape(route)
        return body

    def _next(self, page: int, ident: str) -> int:
        if page >= self.config.max_pages:
            raise Fatal(
                f"WordPress's {ident!r} was not done after {page} pages; it may be looping. "
                "Check that plugin, or raise max_pages if the person really has that much data"
            )
        return page + 1

    async def _not_found(self) -> Fatal:
        """A 404 from a bridge route: no REST API at the address, or no bridge plugin."""
        root = await self._client().json("GET", "/wp-json/", missing_ok=True)
        where = f"{self.config.url}/wp-json/"
        if not isinstance(root, dict) or "namespaces" not in root:
            return Fatal(
                f"there is no WordPress REST API at {where}: check the url setting, and that "
                "Settings → Permalinks is not “Plain”; then " + INSTALL_HINT
            )
        if NAMESPACE not in root["namespaces"]:
            return Fatal(
                f"the WordPress site at {self.config.url} has no personvern bridge; " + INSTALL_HINT
            )
        return Fatal(
            f"the personvern bridge at {where} lacks a route personvern needs; update the "
            "personvern-bridge plugin to the version of this personvern"
        )

    def _shape(self, route: str) -> Fatal:
        return Fatal(
            f"the personvern bridge answered {route} in a shape personvern does not know; "
            "update the personvern-bridge plugin to the version of this personvern"
        )


def _merge(items: dict[tuple[str, str], dict[str, Any]], item: Any) -> None:
    """Adds one exported item; one group and item id make one record, as in core's export."""
    if not isinstance(item, dict) or "group_id" not in item or "item_id" not in item:
        raise Fatal(
            "the personvern bridge returned an item without group_id or item_id; "
            "update the personvern-bridge plugin"
        )
    fields = items.setdefault((str(item["group_id"]), str(item["item_id"])), {})
    for pair in item.get("data") or []:
        name, value = str(pair.get("name", "")), pair.get("value")
        label, n = name, 2
        while label in fields and fields[label] != value:
            label, n = f"{name} ({n})", n + 1
        fields[label] = value


def _held_erasers(holds: tuple[Hold, ...], erasers: list[str]) -> set[str]:
    """The erasers that holds name; a hold naming no eraser is an inventory mistake."""
    for hold in holds:
        if hold.collection not in erasers:
            raise Fatal(
                f"a hold on the wordpress system names {hold.collection!r}, which is not an "
                f"eraser of this site; name one of: {', '.join(erasers)} in the system's holds"
            )
    return {hold.collection for hold in holds}
