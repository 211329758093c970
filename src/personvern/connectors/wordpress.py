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
  ``items_removed``, ``items_retained``, ``messages``, ``done``;
- ``POST /wp-json/personvern/v1/delete-account`` (``email``, ``reassign``) → ``found``,
  ``deleted``, ``posts_reassigned``, ``reassigned_to``, ``kept``: core's ``wp_delete_user()``
  with the account's posts given to another user, since core has no eraser for accounts.

Pages are asked for from 1 until ``done``, as core's own admin screen does
(``wp_ajax_wp_privacy_export_personal_data`` / ``wp_ajax_wp_privacy_erase_personal_data``).
Exported items become :class:`Record` values: the collection is the item's ``group_id``
(``user``, ``comments``, ``woocommerce_orders`` …), the key its ``item_id``, the fields its
name/value pairs. What an eraser does (anonymize, delete, keep for bookkeeping) is the
plugin's decision; what it kept comes back with the reasons it gave. After the erasers, the
account itself is deleted, so the person cannot be found any more (the inventory promises
it: user name, e-mail address, password hash).

A hold names a collection as ``access`` reports it (core's ``user``, ``comments``,
``media``; WooCommerce's ``woocommerce_orders`` …) or an eraser id, ``-`` and ``_`` alike
(the inventory's holds syntax has no ``-``). WordPress's erasers cannot keep single fields,
so the eraser behind the collection is skipped whole; and the account is kept unless the
held data is known to live outside it (comments, media, WooCommerce orders), since deleting
an account deletes its user meta, where plugins (and the profile itself) keep data.

Sources: developer.wordpress.org/plugins/privacy/adding-the-personal-data-exporter-to-your-plugin/
and …/adding-the-personal-data-eraser-to-your-plugin/ (the callback contract);
make.wordpress.org/core/2020/11/05/application-passwords-integration-guide/ (the auth).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
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
# The collections (export group ids) of WordPress core and WooCommerce, and the exporter
# (and eraser, same id) behind each: core's wp-includes/user.php, comment.php, media.php;
# WooCommerce's includes/class-wc-privacy.php and class-wc-privacy-exporters.php.
COLLECTIONS: Final[dict[str, str]] = {
    "user": "wordpress-user",
    "community-events-location": "wordpress-user",
    "session-tokens": "wordpress-user",
    "comments": "wordpress-comments",
    "media": "wordpress-media",
    "woocommerce_customer": "woocommerce-customer-data",
    "woocommerce_orders": "woocommerce-customer-orders",
    "woocommerce_downloads": "woocommerce-customer-downloads",
    "woocommerce_download_logs": "woocommerce-customer-downloads",
    "woocommerce_tokens": "woocommerce-customer-tokens",
}
# Exporters whose data is stored outside the account, so deleting the account keeps it:
# comments (wp_comments, which wp_delete_user() leaves alone), media and WooCommerce orders
# (posts or order tables, given to another user rather than deleted). A hold on anything
# else keeps the account, whose user meta may be what the hold keeps.
OUTSIDE_ACCOUNT: Final = frozenset(
    {"wordpress-comments", "wordpress-media", "woocommerce-customer-orders"}
)
PROFILE: Final = "user"  # the collection of the account itself
PROFILE_FIELDS: Final = ("user_login", "user_email", "user_pass")
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
    reassign_posts_to: str | None = Field(
        default=None,
        min_length=1,
        description="user name that gets the posts of an erased account (default: username)",
    )

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
        """Lists exporters and erasers: proves the plugin, the password and both capabilities;
        then makes sure the bridge can delete accounts (version 0.2), before any erasure."""
        await self._registered("exporters")
        await self._registered("erasers")
        index = await self._client().json("GET", f"{API}", missing_ok=True)
        routes = index.get("routes", {}) if isinstance(index, dict) else {}
        if f"/{NAMESPACE}/delete-account" not in routes:
            raise Fatal(
                f"the personvern bridge at {self.config.url} cannot delete accounts (it is "
                "older than 0.2.0); update the personvern-bridge plugin to the version of "
                "this personvern"
            )

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
        """Runs every eraser page by page until done, then deletes the account.

        A hold skips the eraser behind its collection (:func:`_resolve_holds`) and, unless
        the held data lives outside the account, keeps the account too. The eraser decides
        whether to anonymize or delete (core anonymizes comments: deleting one would change
        the replies to it, which are other people's); ``plan.action`` cannot change that.
        """
        if not identity.email:
            return ErasureResult(notes=("WordPress finds people by e-mail address only",))
        erasers = await self._registered("erasers")
        exporters = await self._registered("exporters") if plan.holds else []
        held = _resolve_holds(
            plan.holds, [eid for eid, _ in erasers], [eid for eid, _ in exporters]
        )
        removed: dict[str, int] = {}
        notes: list[str] = []
        for eraser_id, eraser_name in erasers:
            if eraser_id in held.erasers:
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
        kept = tuple(plan.holds)
        deleted: dict[str, int] = {}
        if held.account:
            grounds = "; ".join(f"{h.collection} ({h.ground})" for h in held.account)
            notes.append(
                f"The user account, if there is one, was kept: the hold on {grounds} may keep "
                "data stored on the account, which deleting it would remove"
            )
        else:
            body = await self._delete_account(identity.email)
            if body["deleted"]:
                deleted[PROFILE] = 1
                moved = body["posts_reassigned"]
                notes.append(
                    "The user account was deleted"
                    + (
                        f"; its posts ({moved}) now belong to {body['reassigned_to']}"
                        if moved
                        else ""
                    )
                )
            elif body["kept"]:
                reason = str(body["kept"])
                kept += (Hold(PROFILE, PROFILE_FIELDS, reason, None),)
                notes.append(f"The user account was kept: {reason}")
        return ErasureResult(deleted=deleted, anonymized=removed, kept=kept, notes=tuple(notes))

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

    async def _delete_account(self, email: str) -> dict[str, Any]:
        """The bridge's account step; its answer, checked."""
        payload: dict[str, str] = {"email": email}
        if self.config.reassign_posts_to:
            payload["reassign"] = self.config.reassign_posts_to
        body = await self._client().json(
            "POST", f"{API}/delete-account", json=payload, missing_ok=True
        )
        if body is None:
            raise await self._not_found()
        if not isinstance(body, dict) or not {"deleted", "kept", "posts_reassigned"} <= set(body):
            raise self._shape("delete-account")
        return body

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


@dataclass(frozen=True)
class _Held:
    """What the holds of a plan keep: erasers not to run, and the holds that keep the account."""

    erasers: frozenset[str]
    account: tuple[Hold, ...]


def _normal(name: str) -> str:
    return name.replace("-", "_")


def _resolve_holds(
    holds: Sequence[Hold], erasers: Sequence[str], exporters: Sequence[str]
) -> _Held:
    """The eraser behind each hold's collection; a hold naming nothing known is a mistake.

    A name is a collection of :data:`COLLECTIONS` or the id of an eraser or exporter, ``-``
    and ``_`` alike. Checked for all holds before anything is erased.
    """
    ids = {_normal(i): i for i in (*exporters, *erasers)}
    skipped: set[str] = set()
    account: list[Hold] = []
    for hold in holds:
        target = COLLECTIONS.get(hold.collection) or ids.get(_normal(hold.collection))
        if target is None or (target not in erasers and target not in exporters):
            known = [c for c, e in COLLECTIONS.items() if e in erasers or e in exporters]
            raise Fatal(
                f"a hold on the wordpress system names {hold.collection!r}, which is neither "
                f"a collection nor an eraser of this site; name one of the erasers "
                f"{', '.join(erasers)} (with _ for -) or the collections {', '.join(known)} "
                "in the system's holds"
            )
        if target in erasers:
            skipped.add(target)
        if target not in OUTSIDE_ACCOUNT:
            account.append(hold)
    return _Held(frozenset(skipped), tuple(account))
