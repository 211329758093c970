"""The ``mailchimp`` connector: find, correct, unsubscribe and erase a person in every audience.

Mailchimp Marketing API v3 (https://mailchimp.com/developer/marketing/api/; the facts
personvern relies on are in ``reference/vendor_apis.md`` § 3):

- **auth**: HTTP Basic with the API key as password; the key ends in ``-<dc>``, the data
  center, and the API lives at ``https://<dc>.api.mailchimp.com/3.0`` (``base_url``
  overrides it, e.g. with a sandbox's address);
- **finding**: ``GET /search-members?query=<address>`` finds the person across audiences;
  since a person can be in several and the search skips archived contacts, every audience
  (``GET /lists``) the search did not name is asked directly,
  ``GET /lists/{list_id}/members/{subscriber_hash}`` (the hash is the MD5 of the
  lower-cased address);
- **access** (Art. 15): each membership is one ``members`` record: status, merge fields,
  sign-up and opt-in times and IPs, location, ratings, its tags
  (``…/{subscriber_hash}/tags``) and its activity (``…/{subscriber_hash}/activity-feed``);
- **rectification** (Art. 16): ``PATCH`` of the merge fields and the address
  (:mod:`personvern.connectors.mailchimp.changes`);
- **objection** (Art. 21(3)): ``PATCH {"status": "unsubscribed"}`` in every audience. The
  member stays, which is the point: the unsubscribe is what keeps Mailchimp from mailing
  them again, even when the shop imports the address once more;
- **erasure** (Art. 17): ``POST …/{subscriber_hash}/actions/delete-permanent`` in every
  audience. Mailchimp then refuses to re-import the address ("Forgotten Email Not
  Subscribed"), so the erasure does not undo an unsubscribe. A hold over ``members``
  (e.g. the proof of consent, Art. 7(1)) keeps the member with its held fields instead:
  the other merge fields are blanked, the tags removed and the member unsubscribed;
  Mailchimp has no way to delete a member's activity short of deleting the member;
- **retention** (issue 7): :mod:`personvern.connectors.mailchimp.sweep`.

Mailchimp allows 10 simultaneous connections per API key (more are answered 429); the
connector keeps to ``max_connections`` (4 by default) so other tools using the key still fit.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Coroutine, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Final, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from personvern.connectors.base import (
    AccessResult,
    Capability,
    Connector,
    ConnectorError,
    ErasurePlan,
    ErasureResult,
    Fatal,
    Identity,
    IdentityType,
    Record,
    RectifyResult,
    SweepResult,
    SweepRule,
)
from personvern.connectors.http import DEFAULT_TIMEOUT, VendorApi
from personvern.connectors.mailchimp.changes import correction

T = TypeVar("T")
COLLECTION: Final = "members"
_DATA_CENTER: Final = re.compile(r"^[a-z]{2,3}[0-9]{1,3}$")
_PAGE: Final = 1000  # the largest page Mailchimp serves
# Statuses in which Mailchimp may still send to the address (archived contacts can be
# brought back by an import); these are the ones an objection changes.
_MAILABLE: Final = frozenset({"subscribed", "pending", "transactional", "archived"})
_CATEGORIES: Final[Mapping[str, str]] = {
    "email_address": "user.contact.email",
    "merge_fields.FNAME": "user.name.first",
    "merge_fields.LNAME": "user.name.last",
    "merge_fields.PHONE": "user.contact.phone_number",
    "merge_fields.ADDRESS": "user.contact.address",
    "ip_signup": "user.device.ip_address",
    "ip_opt": "user.device.ip_address",
    "location": "user.location.imprecise",
    "member_rating": "user.behavior",
    "stats": "user.behavior",
    "tags": "user.behavior",
    "activity": "user.behavior",
}
_MEMBER_FIELDS: Final = (
    "email_address",
    "status",
    "unsubscribe_reason",
    "email_type",
    "language",
    "vip",
    "ip_signup",
    "timestamp_signup",
    "ip_opt",
    "timestamp_opt",
    "last_changed",
    "member_rating",
    "location",
    "stats",
    "source",
)


def subscriber_hash(email: str) -> str:
    """Mailchimp's member id: the MD5 hash of the lower-cased address (not a secret)."""
    return hashlib.md5(email.strip().lower().encode(), usedforsecurity=False).hexdigest()


def data_center(api_key: str) -> str:
    """The data center a key belongs to: the part after its last dash (``…-us21``)."""
    _, dash, dc = api_key.strip().rpartition("-")
    if not dash or not _DATA_CENTER.match(dc):
        raise Fatal(
            "the Mailchimp API key does not end in a data center such as '-us21'; copy the "
            "whole key from Mailchimp (Profile → Extras → API keys) into the environment "
            "variable named by api_key_env"
        )
    return dc


class MailchimpSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    api_key: SecretStr = Field(description="Marketing API key, ending in -<dc> (api_key_env)")
    base_url: str | None = Field(
        default=None, description="API root; by default https://<dc>.api.mailchimp.com/3.0"
    )
    timeout: float = Field(default=DEFAULT_TIMEOUT, gt=0)
    main_audience: str | None = Field(
        default=None,
        description="id or name of the audience an unsubscribed address is added to when "
        "it is in none (suppress); by default the oldest audience",
    )
    max_connections: int = Field(default=4, ge=1, le=10)


@dataclass(frozen=True)
class Membership:
    """The person in one audience: the audience's id and name, and the member object."""

    list_id: str
    list_name: str
    member: Mapping[str, Any]

    @property
    def hash(self) -> str:
        return str(self.member.get("id") or subscriber_hash(str(self.member["email_address"])))

    @property
    def key(self) -> str:
        return f"{self.list_id}:{self.hash}"

    @property
    def path(self) -> str:
        return f"/lists/{self.list_id}/members/{self.hash}"


def _first_error(group: BaseExceptionGroup[Any]) -> BaseException:
    """The error to raise for a failed fan-out: a Fatal before a Retriable, else the first."""
    leaves: list[BaseException] = []

    def walk(exc: BaseException) -> None:
        if isinstance(exc, BaseExceptionGroup):
            for inner in exc.exceptions:
                walk(inner)
        else:
            leaves.append(exc)

    walk(group)
    for kind in (Fatal, ConnectorError):
        for leaf in leaves:
            if isinstance(leaf, kind):
                return leaf
    return leaves[0]


class MailchimpConnector(Connector):
    """A person in every audience of one Mailchimp account, found by e-mail address."""

    name: ClassVar[str] = "mailchimp"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {"access", "erase", "rectify", "unsubscribe", "sweep"}
    )
    identity_types: ClassVar[frozenset[IdentityType]] = frozenset({"email"})
    Settings: ClassVar[type[BaseModel]] = MailchimpSettings

    def __init__(self, settings: BaseModel) -> None:
        if not isinstance(settings, MailchimpSettings):
            settings = MailchimpSettings.model_validate(settings.model_dump())
        super().__init__(settings)
        self.config: MailchimpSettings = settings
        self._api: VendorApi | None = None
        self._slots = asyncio.Semaphore(settings.max_connections)

    # --- plumbing shared with the sweep ---------------------------------------------------

    def api(self) -> VendorApi:
        if self._api is None:
            key = self.config.api_key.get_secret_value()
            dc = data_center(key)
            base = self.config.base_url or f"https://{dc}.api.mailchimp.com/3.0"
            # Basic auth: Mailchimp ignores the user name and reads the key as the password.
            self._api = VendorApi(
                "Mailchimp", base, auth=("personvern", key), timeout=self.config.timeout
            )
        return self._api

    async def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One API call, within the connection limit."""
        async with self._slots:
            return await self.api().json(method, path, **kwargs)

    async def fan_out(self, calls: Iterable[Coroutine[Any, Any, T]]) -> list[T]:
        """Run calls concurrently (each keeps to the connection limit); results in order.

        The first failure cancels the rest and is raised as the connector error it is.
        """
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(call) for call in calls]
        except BaseExceptionGroup as failed:
            raise _first_error(failed) from None
        return [task.result() for task in tasks]

    async def audiences(self) -> list[Mapping[str, Any]]:
        """Every audience of the account, oldest first."""
        found: list[Mapping[str, Any]] = []
        while True:
            page = await self.call(
                "GET",
                "/lists",
                params={
                    "count": _PAGE,
                    "offset": len(found),
                    "sort_field": "date_created",
                    "sort_dir": "ASC",
                },
            )
            lists = list(page.get("lists") or [])
            found.extend(lists)
            if not lists or len(found) >= int(page.get("total_items", 0)):
                return found

    async def memberships(self, email: str) -> list[Membership]:
        """The person in every audience they are in, in the order of the audiences."""
        wanted = email.strip().lower()
        search = await self.call("GET", "/search-members", params={"query": wanted})
        exact = {
            str(m["list_id"]): m
            for m in (search.get("exact_matches") or {}).get("members") or []
            if str(m.get("email_address", "")).lower() == wanted
        }
        audiences = await self.audiences()
        unnamed = [a for a in audiences if str(a["id"]) not in exact]
        path = "/lists/{}/members/" + subscriber_hash(wanted)

        asked = await self.fan_out(
            self.call("GET", path.format(a["id"]), missing_ok=True) for a in unnamed
        )
        found = exact | {str(a["id"]): m for a, m in zip(unnamed, asked, strict=True) if m}
        return [
            Membership(str(a["id"]), str(a.get("name", "")), found[str(a["id"])])
            for a in audiences
            if str(a["id"]) in found
        ]

    async def _paged(self, path: str, items: str) -> list[Any]:
        out: list[Any] = []
        while True:
            page = await self.call("GET", path, params={"count": _PAGE, "offset": len(out)})
            chunk = list((page or {}).get(items) or [])
            out.extend(chunk)
            if not chunk or len(out) >= int((page or {}).get("total_items", 0)):
                return out

    # --- the contract ---------------------------------------------------------------------

    async def check(self) -> None:
        await self.call("GET", "/ping")

    async def access(self, identity: Identity) -> AccessResult:
        if not identity.email:
            return AccessResult([], ["Mailchimp finds people by e-mail address only"])
        memberships = await self.memberships(identity.email)

        async def record(m: Membership) -> Record:
            tags, activity = await self.fan_out(
                [
                    self._paged(m.path + "/tags", "tags"),
                    self._paged(m.path + "/activity-feed", "activity"),
                ]
            )
            fields: dict[str, Any] = {"audience": m.list_name}
            for name in _MEMBER_FIELDS:
                if name in m.member:
                    fields[name] = m.member[name]
            for tag, value in (m.member.get("merge_fields") or {}).items():
                fields[f"merge_fields.{tag}"] = value
            fields["tags"] = [
                {"name": t.get("name"), "date_added": t.get("date_added")} for t in tags
            ]
            fields["activity"] = activity
            categories = {k: v for k, v in _CATEGORIES.items() if k in fields}
            return Record(COLLECTION, fields, categories, key=m.key)

        records = await self.fan_out(record(m) for m in memberships)
        return AccessResult(records)

    async def erase(self, identity: Identity, plan: ErasurePlan) -> ErasureResult:
        if not identity.email:
            return ErasureResult(notes=("Mailchimp finds people by e-mail address only",))
        strangers = sorted({h.collection for h in plan.holds} - {COLLECTION})
        if strangers:
            # Ignoring such a hold would erase what it was meant to keep.
            raise Fatal(
                f"a hold names {', '.join(strangers)}, which Mailchimp does not have; its one "
                f"collection is '{COLLECTION}': fix the holds setting of this system"
            )
        holds = plan.holds
        memberships = await self.memberships(identity.email)
        if not memberships:
            return ErasureResult()
        if holds:
            held = {f for h in holds for f in h.fields}
            # delete-permanent would take the held fields too: keep the member instead.
            changed = await self.fan_out(self._strip(m, held) for m in memberships)
            count = sum(changed)
            return ErasureResult(
                anonymized={COLLECTION: count} if count else {},
                kept=holds,
                notes=(
                    "Mailchimp cannot delete a member's activity without deleting the member: "
                    "it stays until the member is deleted permanently (by a new erasure or "
                    "the retention sweep) once the hold no longer applies",
                ),
            )

        deleted = sum(await self.fan_out(self.forget(m.path) for m in memberships))
        return ErasureResult(deleted={COLLECTION: deleted} if deleted else {})

    async def forget(self, path: str) -> int:
        """Delete the member at ``path`` permanently: 1, or 0 when it was already gone."""
        async with self._slots:
            done = await self.api().request(
                "POST", path + "/actions/delete-permanent", missing_ok=True
            )
        return 0 if done is None else 1

    async def _strip(self, m: Membership, held: set[str]) -> int:
        """Keep the member for a hold: blank what is not held, unsubscribe, drop the tags."""
        body: dict[str, Any] = {}
        blank = {
            tag: ""
            for tag, value in (m.member.get("merge_fields") or {}).items()
            if value not in ("", None) and f"merge_fields.{tag}" not in held
        }
        if blank:
            body["merge_fields"] = blank
        if "status" not in held and m.member.get("status") in _MAILABLE:
            body["status"] = "unsubscribed"
        if body:
            await self.call("PATCH", m.path, json=body)
        tags = [t["name"] for t in m.member.get("tags") or [] if t.get("name")]
        if tags and "tags" not in held:
            drop = [{"name": n, "status": "inactive"} for n in tags]
            await self.call("POST", m.path + "/tags", json={"tags": drop})
        return 1 if body or (tags and "tags" not in held) else 0

    async def rectify(self, identity: Identity, changes: Mapping[str, Any]) -> RectifyResult:
        fix = correction(changes)  # an unknown key fails before anything is written
        if not identity.email:
            return RectifyResult(notes=("Mailchimp finds people by e-mail address only",))
        memberships = await self.memberships(identity.email)
        bodies = [(m, fix.against(m.member)) for m in memberships]
        todo = [(m, body) for m, body in bodies if body]
        await self.fan_out(self.call("PATCH", m.path, json=b) for m, b in todo)
        return RectifyResult(changed={COLLECTION: len(todo)} if todo else {})

    async def unsubscribe(self, identity: Identity) -> RectifyResult:
        """Art. 21(3): unsubscribed everywhere; the member stays, keeping the suppression."""
        if not identity.email:
            return RectifyResult(notes=("Mailchimp finds people by e-mail address only",))
        changed = await self._unsubscribe(await self.memberships(identity.email))
        return RectifyResult(changed={COLLECTION: changed} if changed else {})

    async def _unsubscribe(self, memberships: list[Membership]) -> int:
        todo = [m for m in memberships if m.member.get("status") in _MAILABLE]
        body = {"status": "unsubscribed"}
        await self.fan_out(self.call("PATCH", m.path, json=body) for m in todo)
        return len(todo)

    async def suppress(self, email: str) -> int:
        """Make sure Mailchimp never mails ``email`` again; how many audiences changed.

        Unsubscribes the address in every audience it is in and, when the main audience
        (``main_audience``, else the oldest) does not have it, adds it there as
        ``unsubscribed``, so that a later import or sign-up sync cannot mail it. An address
        that was deleted permanently is already blocked from re-import and is left alone.
        """
        memberships = await self.memberships(email)
        changed = await self._unsubscribe(memberships)
        main = self._main(await self.audiences())
        if main is None or any(m.list_id == str(main["id"]) for m in memberships):
            return changed
        path = f"/lists/{main['id']}/members/{subscriber_hash(email)}"
        body = {"email_address": email.strip(), "status_if_new": "unsubscribed"}
        try:
            await self.call("PUT", path, json=body)
        except Fatal as exc:
            # 400 "Forgotten Email Not Subscribed": Mailchimp will not take the address
            # back at all, which is the suppression we wanted.
            if "permanently deleted" in str(exc) or "Forgotten Email" in str(exc):
                return changed
            raise
        return changed + 1

    def _main(self, audiences: list[Mapping[str, Any]]) -> Mapping[str, Any] | None:
        wanted = self.config.main_audience
        if wanted is None:
            return audiences[0] if audiences else None
        for audience in audiences:
            if wanted in (str(audience.get("id")), str(audience.get("name"))):
                return audience
        names = ", ".join(f"{a.get('name')} ({a.get('id')})" for a in audiences)
        raise Fatal(
            f"the Mailchimp account has no audience {wanted!r} (main_audience); it has {names}"
        )

    async def sweep(self, rule: SweepRule, *, dry_run: bool = False) -> SweepResult:
        # The sweep needs this class and this class the sweep: import it when asked.
        from personvern.connectors.mailchimp.sweep import sweep

        return await sweep(self, rule, dry_run=dry_run)

    async def aclose(self) -> None:
        api, self._api = self._api, None
        if api is not None:
            await api.aclose()
