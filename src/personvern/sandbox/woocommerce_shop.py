"""The WooCommerce sandbox's state: the demo shop's own database, seen as WooCommerce objects.

The sandbox (:mod:`personvern.sandbox.woocommerce`) serves the demo shop's tables
(:func:`personvern.demo.shop.shop_metadata`) as WooCommerce REST API v3 customers and orders,
so the ``sql`` connector and the ``woocommerce`` connector see one shop and every change
persists in it. What WooCommerce has but the shop's tables do not (order notes, the
"company", "address_2" and "state" fields, meta data, the personal-data retention
settings) lives in this object while the sandbox runs, seeded deterministically.

Field mapping (shop column → WooCommerce property):

- ``customers``: ``email``, ``first_name``, ``last_name``, ``username``, ``registered_at`` →
  ``date_created``; the billing/shipping rows of ``addresses`` → ``billing{}``/``shipping{}``
  (``name`` split at the first space into first and last name, ``street`` → ``address_1``,
  ``postal_code`` → ``postcode``); the account's ``phone`` → ``billing.phone`` when there is
  no billing row; ``wc_last_active`` (meta) is the day of the last order or registration.
- ``orders``: ``order_number`` → ``number``, ``customer_id`` (NULL → 0), the ``billing_*`` and
  ``shipping_*`` columns, ``created_at`` → ``date_created``, ``status``, ``payment_method``,
  ``total``/``vat`` → ``total``/``total_tax``, ``customer_ip`` → ``customer_ip_address``,
  ``customer_note``; ``order_lines`` → ``line_items`` (a gift message as line item meta);
  ``transaction_id`` is the payment plugin's reference (:mod:`personvern.sandbox.people`).

Dates are the site's time, and the site runs on UTC, so ``date_created`` equals
``date_created_gmt``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Connection,
    Row,
    Select,
    and_,
    asc,
    create_engine,
    delete,
    desc,
    func,
    or_,
    select,
    update,
)

from personvern.demo.shop import shop_metadata
from personvern.sandbox.people import klarna_order_id, vipps_reference
from personvern.sandbox.woocommerce_common import (
    _ADDRESS_FIELDS,
    _ORDER_COLUMNS,
    _PAYMENT_TITLE,
    _STATUS_LABEL,
    _USER_AGENT,
    ORDER_STATUSES,
    Page,
    WooError,
    _join,
    _split,
    _text,
    flatten,
    iso,
    parse_date,
)
from personvern.sandbox.woocommerce_customers import Accounts

__all__ = ["ORDER_STATUSES", "Accounts", "WooError", "WooShop", "parse_date"]


@dataclass
class WooShop:
    """The shop at ``shop_url`` as WooCommerce: customers, orders, notes and settings."""

    shop_url: str
    settings: dict[str, list[dict[str, Any]]]
    notes: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    order_extra: dict[int, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.md = shop_metadata()
        self.t = self.md.tables
        self.engine = create_engine(self.shop_url)
        self.lock = threading.RLock()
        self.accounts = Accounts(self.engine, self.t, self.lock)
        self._seed_notes()

    # --- seeding ---------------------------------------------------------------------------

    def _seed_notes(self) -> None:
        """Notes as WooCommerce and the payment plugins write them, the same every time."""
        o = self.t["orders"]
        query = select(
            o.c.id,
            o.c.order_number,
            o.c.created_at,
            o.c.status,
            o.c.payment_method,
            o.c.customer_note,
        ).order_by(o.c.id)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        for r in rows:
            notes: list[tuple[str, str, bool]] = []
            if r.status != "pending":
                title = _PAYMENT_TITLE.get(r.payment_method, r.payment_method)
                ref = _transaction_id(r.payment_method, r.order_number)
                paid = f"{title} payment completed" + (f" (reference {ref})." if ref else ".")
                notes.append((paid, "system", False))
                notes.append(
                    ("Order status changed from Pending payment to Processing.", "system", False)
                )
            if r.status in _STATUS_LABEL and r.status not in ("pending", "processing"):
                label = _STATUS_LABEL[r.status]
                notes.append((f"Order status changed from Processing to {label}.", "system", False))
            if r.customer_note:
                notes.append(
                    (f"Kunden skrev ved bestilling: «{r.customer_note}» Notert.", "admin", False)
                )
                notes.append(("Vi har notert beskjeden din om leveringen.", "admin", True))
            self.notes[r.id] = [
                {
                    "id": r.id * 10 + n,
                    "author": author,
                    "date_created": iso(r.created_at + timedelta(minutes=5 * (n + 1))),
                    "date_created_gmt": iso(r.created_at + timedelta(minutes=5 * (n + 1))),
                    "note": text,
                    "customer_note": to_customer,
                }
                for n, (text, author, to_customer) in enumerate(notes)
            ]

    # --- orders ----------------------------------------------------------------------------

    def orders(
        self,
        *,
        customer: int | None,
        search: str | None,
        statuses: Iterable[str],
        after: datetime | None,
        before: datetime | None,
        orderby: str,
        order: str,
        offset: int,
        per_page: int,
    ) -> Page:
        o = self.t["orders"]
        query: Select[Any] = select(o)
        conds = []
        wanted = set(statuses)
        if "any" in wanted:
            conds.append(o.c.status != "trash")
        elif wanted:
            conds.append(o.c.status.in_(sorted(wanted)))
        if customer is not None:
            conds.append(
                o.c.customer_id.is_(None) if customer == 0 else o.c.customer_id == customer
            )
        if search:
            like = f"%{search.strip().lower()}%"
            conds.append(
                or_(
                    *(
                        func.lower(o.c[name]).like(like)
                        for name in (
                            "order_number",
                            "billing_email",
                            "billing_name",
                            "billing_address",
                            "billing_city",
                            "billing_phone",
                            "shipping_name",
                            "shipping_address",
                            "shipping_city",
                        )
                    )
                )
            )
        if after is not None:
            conds.append(o.c.created_at > after)
        if before is not None:
            conds.append(o.c.created_at < before)
        where = and_(*conds) if conds else and_(True)
        sort = o.c.id if orderby == "id" else o.c.created_at
        direction = asc if order == "asc" else desc
        with self.lock, self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(o).where(where)).scalar_one()
            rows = conn.execute(
                query.where(where)
                .order_by(direction(sort), direction(o.c.id))
                .offset(offset)
                .limit(per_page)
            ).all()
            return Page(self._order_json(conn, rows), total)

    def order(self, order_id: int) -> dict[str, Any]:
        o = self.t["orders"]
        with self.lock, self.engine.connect() as conn:
            rows = conn.execute(select(o).where(o.c.id == order_id)).all()
            if not rows:
                raise WooError(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
            return self._order_json(conn, rows)[0]

    def _order_json(self, conn: Connection, rows: Sequence[Row[Any]]) -> list[dict[str, Any]]:
        if not rows:
            return []
        lines = self.t["order_lines"]
        items: dict[int, list[dict[str, Any]]] = {}
        query = select(lines).where(lines.c.order_id.in_([r.id for r in rows]))
        for li in conn.execute(query.order_by(lines.c.id)):
            items.setdefault(li.order_id, []).append(
                {
                    "id": li.id,
                    "name": li.product_name,
                    "product_id": int(li.sku.rpartition("-")[2]),
                    "variation_id": 0,
                    "quantity": li.quantity,
                    "tax_class": "",
                    "subtotal": str(li.line_total),
                    "total": str(li.line_total),
                    "sku": li.sku,
                    "price": float(li.unit_price),
                    "meta_data": (
                        [{"id": li.id, "key": "gift_message", "value": li.gift_message}]
                        if li.gift_message
                        else []
                    ),
                }
            )
        return [self._one_order(r, items.get(r.id, [])) for r in rows]

    def _one_order(self, r: Row[Any], items: list[dict[str, Any]]) -> dict[str, Any]:
        extra = self.order_extra.get(r.id, {})
        b_first, b_last = _split(r.billing_name)
        s_first, s_last = _split(r.shipping_name)
        billing = {
            "first_name": b_first,
            "last_name": b_last,
            "company": "",
            "address_1": r.billing_address or "",
            "address_2": "",
            "city": r.billing_city or "",
            "state": "",
            "postcode": r.billing_postal_code or "",
            "country": "NO" if r.billing_address else "",
            "email": r.billing_email or "",
            "phone": r.billing_phone or "",
        }
        shipping = {
            "first_name": s_first,
            "last_name": s_last,
            "company": "",
            "address_1": r.shipping_address or "",
            "address_2": "",
            "city": r.shipping_city or "",
            "state": "",
            "postcode": r.shipping_postal_code or "",
            "country": "NO" if r.shipping_address else "",
            "phone": "",
        }
        for kind, part in (("billing", billing), ("shipping", shipping)):
            for key in part:
                if f"{kind}.{key}" in extra:
                    part[key] = extra[f"{kind}.{key}"]
        created = r.created_at
        paid = created + timedelta(minutes=5) if r.status != "pending" else None
        done = created + timedelta(days=2) if r.status == "completed" else None
        modified = extra.get("date_modified", done or paid or created)
        total = Decimal(r.total)
        return {
            "id": r.id,
            "parent_id": 0,
            "number": r.order_number,
            "order_key": f"wc_order_{r.order_number.lower()}",
            "created_via": "checkout",
            "version": "9.8.0",
            "status": r.status,
            "currency": r.currency,
            "date_created": iso(created),
            "date_created_gmt": iso(created),
            "date_modified": iso(modified),
            "date_modified_gmt": iso(modified),
            "discount_total": "0.00",
            "discount_tax": "0.00",
            "shipping_total": "0.00",
            "shipping_tax": "0.00",
            "cart_tax": str(Decimal(r.vat)),
            "total": str(total),
            "total_tax": str(Decimal(r.vat)),
            "prices_include_tax": True,
            "customer_id": r.customer_id or 0,
            "customer_ip_address": r.customer_ip or "",
            "customer_user_agent": extra.get("customer_user_agent", _USER_AGENT),
            "customer_note": r.customer_note or "",
            "billing": billing,
            "shipping": shipping,
            "payment_method": r.payment_method,
            "payment_method_title": extra.get(
                "payment_method_title", _PAYMENT_TITLE.get(r.payment_method, r.payment_method)
            ),
            "transaction_id": extra.get(
                "transaction_id", _transaction_id(r.payment_method, r.order_number) or ""
            ),
            "date_paid": iso(paid),
            "date_paid_gmt": iso(paid),
            "date_completed": iso(done),
            "date_completed_gmt": iso(done),
            "meta_data": [dict(m) for m in extra.get("meta_data", [])],
            "line_items": items,
            "tax_lines": [],
            "shipping_lines": [],
            "fee_lines": [],
            "coupon_lines": [],
            "refunds": [],
        }

    def update_order(self, order_id: int, body: Mapping[str, Any]) -> dict[str, Any]:
        """Write the writable properties; read-only ones (``customer_ip_address``,
        ``customer_user_agent``, ``number``, totals, dates) are ignored, as WordPress ignores
        request fields that are not arguments of the endpoint."""
        o, c = self.t["orders"], self.t["customers"]
        with self.lock, self.engine.begin() as conn:
            row = conn.execute(select(o).where(o.c.id == order_id)).first()
            if row is None:
                raise WooError(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
            values: dict[str, Any] = {}
            extra = self.order_extra.setdefault(row.id, {})
            if "status" in body:
                status = _text(body["status"], "status")
                if status not in ORDER_STATUSES:
                    raise WooError(400, "rest_invalid_param", "Invalid parameter(s): status")
                values["status"] = status
            if "customer_id" in body:
                try:
                    cid = int(body["customer_id"])
                except (TypeError, ValueError):
                    raise WooError(
                        400, "rest_invalid_param", "Invalid parameter(s): customer_id"
                    ) from None
                if cid and conn.execute(select(c.c.id).where(c.c.id == cid)).first() is None:
                    raise WooError(
                        400, "woocommerce_rest_invalid_customer_id", "Customer ID is invalid."
                    )
                values["customer_id"] = cid or None
            if "customer_note" in body:
                values["customer_note"] = _text(body["customer_note"], "customer_note") or None
            if "payment_method" in body:
                values["payment_method"] = _text(body["payment_method"], "payment_method")[:20]
            for key in ("transaction_id", "payment_method_title"):
                if key in body:
                    extra[key] = _text(body[key], key)
            names = {
                "billing": [row.billing_name, "billing_name"],
                "shipping": [row.shipping_name, "shipping_name"],
            }
            for kind in ("billing", "shipping"):
                part = body.get(kind)
                if not isinstance(part, Mapping):
                    continue
                first, last = _split(names[kind][0])
                for key, value in part.items():
                    text = _text(value, f"{kind}[{key}]")
                    if key == "first_name":
                        first = text
                        values[names[kind][1]] = _join(first, last)
                    elif key == "last_name":
                        last = text
                        values[names[kind][1]] = _join(first, last)
                    elif (kind, key) in _ORDER_COLUMNS:
                        values[_ORDER_COLUMNS[(kind, key)]] = text or None
                    elif key in (*_ADDRESS_FIELDS, "email", "phone"):
                        extra[f"{kind}.{key}"] = text
            meta = body.get("meta_data")
            if isinstance(meta, list):
                kept = {m["key"]: dict(m) for m in extra.get("meta_data", [])}
                for m in meta:
                    if not (isinstance(m, Mapping) and isinstance(m.get("key"), str)):
                        continue
                    if m["key"] in kept:
                        kept[m["key"]]["value"] = m.get("value")
                    else:
                        meta_id = row.id * 100 + len(kept)
                        kept[m["key"]] = {"id": meta_id, "key": m["key"], "value": m.get("value")}
                extra["meta_data"] = list(kept.values())
            if values:
                conn.execute(update(o).where(o.c.id == row.id).values(values))
            extra["date_modified"] = datetime.now(UTC).replace(tzinfo=None)
        return self.order(order_id)

    def delete_order(self, order_id: int, *, force: bool) -> dict[str, Any]:
        """With ``force`` the order and its lines and notes go; without, it goes to the trash."""
        before = self.order(order_id)
        o, lines = self.t["orders"], self.t["order_lines"]
        with self.lock, self.engine.begin() as conn:
            if not force:
                conn.execute(update(o).where(o.c.id == order_id).values(status="trash"))
            else:
                conn.execute(delete(lines).where(lines.c.order_id == order_id))
                conn.execute(delete(o).where(o.c.id == order_id))
        if not force:
            return self.order(order_id)
        self.notes.pop(order_id, None)
        self.order_extra.pop(order_id, None)
        return before

    # --- notes and settings ----------------------------------------------------------------

    def order_notes(self, order_id: int) -> list[dict[str, Any]]:
        self.order(order_id)  # a 404 for an order that is not there
        with self.lock:
            return [dict(n) for n in self.notes.get(order_id, [])]

    def delete_note(self, order_id: int, note_id: int) -> dict[str, Any]:
        self.order(order_id)
        with self.lock:
            notes = self.notes.get(order_id, [])
            for note in notes:
                if note["id"] == note_id:
                    notes.remove(note)
                    return dict(note)
        raise WooError(404, "woocommerce_rest_invalid_id", "Invalid resource ID.")

    def setting_group(self, group: str) -> list[dict[str, Any]]:
        if group not in self.settings:
            raise WooError(404, "rest_setting_setting_group_invalid", "Invalid setting group.")
        with self.lock:
            return [dict(s) for s in self.settings[group]]

    def update_setting(self, group: str, option: str, value: Any) -> dict[str, Any]:
        for setting in self.settings.get(group, []):
            if setting["id"] == option:
                with self.lock:
                    setting["value"] = value
                return dict(setting)
        raise WooError(404, "rest_setting_setting_invalid", "Invalid setting.")

    # --- the whole state -------------------------------------------------------------------

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Every customer, order and order note, flattened (``billing.email``), by id."""
        customers: dict[str, Any] = {}
        orders: dict[str, Any] = {}
        with self.lock, self.engine.connect() as conn:
            for c in self.accounts.customer_json(
                conn, conn.execute(select(self.t["customers"]).order_by("id")).all()
            ):
                customers[str(c["id"])] = flatten(c)
            for o in self._order_json(
                conn, conn.execute(select(self.t["orders"]).order_by("id")).all()
            ):
                orders[str(o["id"])] = flatten(o)
            notes = {
                str(n["id"]): {**n, "order_id": oid}
                for oid, ns in sorted(self.notes.items())
                for n in ns
            }
        return {"customers": customers, "orders": orders, "order_notes": notes}

    def close(self) -> None:
        self.engine.dispose()


def _transaction_id(payment_method: str, number: str) -> str | None:
    if payment_method == "klarna":
        return klarna_order_id(number)
    if payment_method == "vipps":
        return vipps_reference(number)
    return None
