"""Retention sweeps in WooCommerce (issue 7): old orders and inactive accounts.

What WooCommerce's own daily ``woocommerce_cleanup_personal_data`` job does with its
"Personal data retention" settings (reference/vendor_apis.md § 1), driven instead by the
inventory's rules, with holds, exclusions and dry runs:

- ``orders``: orders whose ``date_field`` (``date_created``, ``date_completed``,
  ``date_paid`` or ``date_modified``; all on or after ``date_created``, so
  ``before=<cutoff>`` narrows the listing safely) is before the cutoff and whose fields
  match ``where`` (``status`` is passed to the API) are anonymized as WooCommerce's eraser
  does (:mod:`.anonymize`; ``fields`` narrows it to the fields named, a ``null_rewrite``
  blanks) and lose their notes, or are deleted (``force=true``). An order already marked
  ``_anonymized`` is not counted again. Held fields are never changed, and an order with
  held fields is anonymized instead of deleted.
- ``customers``: accounts whose ``date_field`` (``date_created``, ``date_modified``, or
  ``last_active``: WooCommerce's ``wc_last_active`` meta, what its "inactive accounts" rule
  reads) is before the cutoff are deleted (``force=true``); their orders stay. With a hold
  on ``customers`` the account is kept and its other fields blanked.

People under a legal hold (``exclude``) are matched by e-mail or customer id and counted as
held. Work goes page by page (100 at a time, by id, ``offset`` stepping past what was kept),
each change its own call, so a sweep stopped half-way carries on where it stopped.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from personvern.connectors.base import Fatal, SweepResult, SweepRule
from personvern.connectors.woocommerce.anonymize import (
    ORDER_PROPS,
    customer_erasure,
    is_anonymized,
    order_erasure,
)
from personvern.connectors.woocommerce.client import PER_PAGE, WooClient
from personvern.connectors.woocommerce.erasure import held_fields
from personvern.connectors.woocommerce.finding import flatten

ORDER_DATES: Final = ("date_created", "date_completed", "date_paid", "date_modified")
CUSTOMER_DATES: Final = ("date_created", "date_modified", "last_active")
SAMPLES: Final = 5


def redact_email(value: Any) -> str:
    text = str(value or "")
    local, at, domain = text.partition("@")
    return f"{local[:1]}***{at}{domain}" if at else ("***" if text else "")


def _when(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo else when


def _cutoff(rule: SweepRule) -> datetime:
    c = rule.cutoff
    return c.astimezone(UTC).replace(tzinfo=None) if c.tzinfo else c


def _last_active(customer: Mapping[str, Any]) -> datetime | None:
    for meta in customer.get("meta_data") or []:
        if isinstance(meta, Mapping) and meta.get("key") == "wc_last_active":
            try:
                return datetime.fromtimestamp(int(meta["value"]), UTC).replace(tzinfo=None)
            except (TypeError, ValueError):
                return None
    return None


@dataclass
class _Tally:
    matched: int = 0
    deleted: int = 0
    anonymized: int = 0
    held: int = 0
    oldest_kept: datetime | None = None
    samples: list[Mapping[str, str]] = field(default_factory=list)
    ip_left: int = 0

    def keep(self, when: datetime | None) -> None:
        if when is not None and (self.oldest_kept is None or when < self.oldest_kept):
            self.oldest_kept = when


class Sweeper:
    def __init__(self, client: WooClient, rule: SweepRule, *, dry_run: bool) -> None:
        self.client = client
        self.rule = rule
        self.dry_run = dry_run
        self.tally = _Tally()
        self.held = held_fields(rule.holds, rule.collection)
        self.emails = {i.email.strip().lower() for i in rule.exclude if i.email}
        self.ids = {str(i.customer_id) for i in rule.exclude if i.customer_id}

    async def _resolve_excluded(self) -> None:
        """Excluded people by e-mail also by their account's id (their orders may differ)."""
        for email in sorted(self.emails):
            customer = await self.client.customer(email)
            if customer is not None:
                self.ids.add(str(customer["id"]))

    def _where(self, flat: Mapping[str, Any]) -> bool:
        return all(
            str(flat.get(name, "")) in values
            for name, values in self.rule.where.items()
            if not (name == "status" and self.rule.collection == "orders")
        )

    def _excluded(self, email: Any, customer_id: Any) -> bool:
        return str(email or "").strip().lower() in self.emails or str(customer_id) in self.ids

    def _sample(self, flat: Mapping[str, Any], when: datetime | None, email: Any) -> None:
        if len(self.tally.samples) < SAMPLES:
            sample = {"id": str(flat.get("id")), self.rule.date_field: str(when or "")}
            if "status" in flat:
                sample["status"] = str(flat["status"])
            sample["email"] = redact_email(email)
            self.tally.samples.append(sample)

    async def _walk(
        self,
        path: str,
        params: Mapping[str, Any],
        handle: Callable[[Mapping[str, Any]], Awaitable[bool]],
    ) -> None:
        """``handle`` each item, page by page by id; it says whether the item went, so
        ``offset`` steps past what stayed only (what went no longer takes a place)."""
        offset = 0
        while True:
            query = {**params, "orderby": "id", "order": "asc", "per_page": PER_PAGE}
            items = await self.client.api.json("GET", path, params={**query, "offset": offset})
            if not isinstance(items, list):
                raise Fatal(f"WooCommerce answered GET {path} with something that is not a list")
            removed = 0
            for item in items:
                removed += bool(await handle(item))
            offset += len(items) - removed
            if len(items) < PER_PAGE:
                return

    async def orders(self) -> None:
        rule, cutoff = self.rule, _cutoff(self.rule)
        if rule.date_field not in ORDER_DATES:
            raise Fatal(
                f"orders are swept by one of {', '.join(ORDER_DATES)}, not {rule.date_field}"
            )
        props = ORDER_PROPS
        if rule.fields:
            unknown = sorted(set(rule.fields) - set(ORDER_PROPS))
            if unknown:
                raise Fatal(
                    f"WooCommerce cannot anonymize {', '.join(unknown)} on orders; "
                    f"use some of: {', '.join(ORDER_PROPS)}"
                )
            props = {
                k: ("blank" if s == "null_rewrite" else ORDER_PROPS[k])
                for k, s in rule.fields.items()
            }
        statuses = rule.where.get("status", ("any",))
        params = {"status": ",".join(statuses), "before": cutoff.isoformat()}

        async def handle(order: Mapping[str, Any]) -> bool:
            return await self._order(order, cutoff, props)

        await self._walk("/orders", params, handle)
        after = await self.client.api.request(
            "GET",
            "/orders",
            params={
                "status": params["status"],
                "after": cutoff.isoformat(),
                "orderby": "date",
                "order": "asc",
                "per_page": 1,
            },
        )
        if after is not None and after.json():
            self.tally.keep(
                _when(after.json()[0].get(rule.date_field) or after.json()[0].get("date_created"))
            )

    async def _order(
        self, order: Mapping[str, Any], cutoff: datetime, props: Mapping[str, str]
    ) -> bool:
        """Handle one order; True when it was deleted (so the listing shifts)."""
        rule, t = self.rule, self.tally
        flat = flatten(order)
        when = _when(flat.get(rule.date_field))
        if when is None or when >= cutoff or not self._where(flat):
            self.tally.keep(when)
            return False
        if rule.action == "anonymize" and is_anonymized(order):
            return False  # done before: not counted again
        t.matched += 1
        email = flat.get("billing.email")
        if self._excluded(email, flat.get("customer_id")):
            t.held += 1
            t.keep(when)
            return False
        if self.dry_run:
            self._sample(flat, when, email)
            return False
        order_id = int(order["id"])
        if rule.action == "delete" and not self.held:
            return bool(await self.client.delete_order(order_id)) and self._count("deleted")
        body, left = order_erasure(flat, self.held, props)
        t.ip_left += bool(left)
        if body:
            await self.client.update_order(order_id, body)
        for note in await self.client.order_notes(order_id):
            await self.client.delete_order_note(order_id, int(note["id"]))
        self._count("anonymized")
        return False

    def _count(self, what: str) -> bool:
        setattr(self.tally, what, getattr(self.tally, what) + 1)
        return True

    async def customers(self) -> None:
        rule, cutoff = self.rule, _cutoff(self.rule)
        if rule.date_field not in CUSTOMER_DATES:
            raise Fatal(
                f"customers are swept by one of {', '.join(CUSTOMER_DATES)}, not {rule.date_field}"
            )

        async def handle(customer: Mapping[str, Any]) -> bool:
            return await self._customer(customer, cutoff)

        await self._walk("/customers", {"role": "customer"}, handle)

    async def _customer(self, customer: Mapping[str, Any], cutoff: datetime) -> bool:
        rule, t = self.rule, self.tally
        flat = flatten(customer)
        when = (
            _last_active(customer)
            if rule.date_field == "last_active"
            else _when(flat.get(rule.date_field))
        )
        if when is None or when >= cutoff or not self._where(flat):
            t.keep(when)
            return False
        body = customer_erasure(flat, self.held) if self.held else {}
        if self.held and not body:
            return False  # kept and blanked before: not counted again
        t.matched += 1
        if self._excluded(flat.get("email"), flat.get("id")):
            t.held += 1
            t.keep(when)
            return False
        if self.dry_run:
            self._sample(flat, when, flat.get("email"))
            return False
        if self.held:
            await self.client.update_customer(int(customer["id"]), body)
            return not self._count("anonymized")
        return bool(await self.client.delete_customer(int(customer["id"]))) and self._count(
            "deleted"
        )

    async def run(self) -> SweepResult:
        rule = self.rule
        if rule.collection not in ("orders", "customers"):
            raise Fatal(
                f"WooCommerce sweeps orders and customers, not {rule.collection!r}; "
                "change the rule's collection"
            )
        if rule.collection == "customers" and rule.action != "delete":
            raise Fatal(
                "WooCommerce accounts are deleted, not anonymized (their orders stay); "
                "set the rule's action to delete"
            )
        await self._resolve_excluded()
        path = "/orders" if rule.collection == "orders" else "/customers"
        head = await self.client.api.request(
            "GET", path, params={"per_page": 1, **({"role": "all"} if path == "/customers" else {})}
        )
        total = int(head.headers.get("X-WP-Total", "0")) if head is not None else 0
        if rule.collection == "orders":
            await self.orders()
        else:
            await self.customers()
        t = self.tally
        notes = []
        if t.ip_left:
            notes.append(
                f"The IP address stays on {t.ip_left} order(s): it is read-only in "
                "WooCommerce's REST API; WooCommerce's own eraser can mask it"
            )
        return SweepResult(
            rule=rule.rule,
            collection=rule.collection,
            matched=t.matched,
            deleted=t.deleted,
            anonymized=t.anonymized,
            held=t.held,
            total=total,
            oldest_kept=t.oldest_kept,
            samples=tuple(t.samples),
            notes=tuple(notes),
        )
