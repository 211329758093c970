"""The WooCommerce sandbox's customers: the shop's ``customers`` and ``addresses`` tables.

See :mod:`personvern.sandbox.woocommerce_shop` for the field mapping. WooCommerce's
customer endpoints: https://woocommerce.github.io/woocommerce-rest-api-docs/#customers
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Row,
    Table,
    and_,
    asc,
    delete,
    desc,
    func,
    insert,
    or_,
    select,
    update,
)

from personvern.sandbox.woocommerce_common import (
    _ADDRESS_COLUMNS,
    _ADDRESS_FIELDS,
    Page,
    WooError,
    _join,
    _split,
    _text,
    iso,
)


class Accounts:
    """Customers as WooCommerce shows them; ``extra`` holds fields the tables lack."""

    def __init__(self, engine: Engine, tables: Mapping[str, Table], lock: threading.RLock) -> None:
        self.engine = engine
        self.t = tables
        self.lock = lock
        self.customer_extra: dict[int, dict[str, Any]] = {}

    # --- customers -------------------------------------------------------------------------

    def customers(
        self,
        *,
        email: str | None,
        search: str | None,
        role: str,
        orderby: str,
        order: str,
        offset: int,
        per_page: int,
    ) -> Page:
        c = self.t["customers"]
        if role not in ("all", "customer"):
            return Page([], 0)  # every account of the shop has the role "customer"
        conds = []
        if email is not None:
            conds.append(func.lower(c.c.email) == email.strip().lower())
        if search:
            like = f"%{search.strip().lower()}%"
            conds.append(
                or_(
                    func.lower(c.c.email).like(like),
                    func.lower(c.c.username).like(like),
                    func.lower(c.c.first_name).like(like),
                    func.lower(c.c.last_name).like(like),
                )
            )
        sort = {"id": c.c.id, "registered_date": c.c.registered_at, "name": c.c.username}.get(
            orderby, c.c.username
        )
        direction = desc if order == "desc" else asc
        with self.lock, self.engine.connect() as conn:
            where = and_(*conds) if conds else and_(True)
            total = conn.execute(select(func.count()).select_from(c).where(where)).scalar_one()
            rows = conn.execute(
                select(c)
                .where(where)
                .order_by(direction(sort), direction(c.c.id))
                .offset(offset)
                .limit(per_page)
            ).all()
            return Page(self.customer_json(conn, rows), total)

    def customer(self, customer_id: int) -> dict[str, Any]:
        c = self.t["customers"]
        with self.lock, self.engine.connect() as conn:
            rows = conn.execute(select(c).where(c.c.id == customer_id)).all()
            if not rows:
                raise WooError(404, "woocommerce_rest_invalid_id", "Invalid resource ID.")
            return self.customer_json(conn, rows)[0]

    def customer_json(self, conn: Connection, rows: Sequence[Row[Any]]) -> list[dict[str, Any]]:
        if not rows:
            return []
        a, o = self.t["addresses"], self.t["orders"]
        ids = [r.id for r in rows]
        addresses: dict[tuple[int, str], Row[Any]] = {}
        for row in conn.execute(select(a).where(a.c.customer_id.in_(ids)).order_by(a.c.id)):
            addresses.setdefault((row.customer_id, row.kind), row)
        last_order = dict(
            conn.execute(
                select(o.c.customer_id, func.max(o.c.created_at))
                .where(o.c.customer_id.in_(ids))
                .group_by(o.c.customer_id)
            ).all()
        )
        out = []
        for r in rows:
            extra = self.customer_extra.get(r.id, {})
            last = max(d for d in (r.registered_at, last_order.get(r.id)) if d is not None)
            active = datetime(last.year, last.month, last.day, tzinfo=UTC)
            billing = self._customer_address(addresses.get((r.id, "billing")), extra, "billing")
            billing["email"] = extra.get("billing.email", r.email)
            if not billing["phone"]:
                billing["phone"] = r.phone or ""
            modified = extra.get("date_modified", r.registered_at)
            out.append(
                {
                    "id": r.id,
                    "date_created": iso(r.registered_at),
                    "date_created_gmt": iso(r.registered_at),
                    "date_modified": iso(modified),
                    "date_modified_gmt": iso(modified),
                    "email": r.email,
                    "first_name": r.first_name,
                    "last_name": r.last_name,
                    "role": "customer",
                    "username": r.username,
                    "billing": billing,
                    "shipping": self._customer_address(
                        addresses.get((r.id, "shipping")), extra, "shipping"
                    ),
                    "is_paying_customer": r.id in last_order,
                    "avatar_url": "https://secure.gravatar.com/avatar/?s=96&d=mm&r=g",
                    "meta_data": [
                        {
                            "id": r.id * 10,
                            "key": "wc_last_active",
                            "value": str(int(active.timestamp())),
                        }
                    ],
                }
            )
        return out

    @staticmethod
    def _customer_address(
        row: Row[Any] | None, extra: Mapping[str, Any], kind: str
    ) -> dict[str, Any]:
        first, last = _split(row.name if row is not None else None)
        out: dict[str, Any] = {
            "first_name": first,
            "last_name": last,
            "company": "",
            "address_1": (row.street if row is not None else None) or "",
            "address_2": "",
            "city": (row.city if row is not None else None) or "",
            "state": "",
            "postcode": (row.postal_code if row is not None else None) or "",
            "country": (row.country if row is not None else None) or "",
            "phone": (row.phone if row is not None else None) or "",
        }
        for key in out:
            if f"{kind}.{key}" in extra:
                out[key] = extra[f"{kind}.{key}"]
        return out

    def update_customer(self, customer_id: int, body: Mapping[str, Any]) -> dict[str, Any]:
        c, a = self.t["customers"], self.t["addresses"]
        with self.lock, self.engine.begin() as conn:
            row = conn.execute(select(c).where(c.c.id == customer_id)).first()
            if row is None:
                raise WooError(404, "woocommerce_rest_invalid_id", "Invalid resource ID.")
            username = body.get("username")
            if username not in (None, "", row.username):
                raise WooError(
                    400, "woocommerce_rest_customer_invalid_argument", "Username isn't editable."
                )
            values: dict[str, Any] = {}
            for key in ("first_name", "last_name"):
                if key in body:
                    values[key] = _text(body[key], key)
            if "email" in body:
                new = _text(body["email"], "email").strip()
                if "@" not in new:
                    raise WooError(400, "rest_invalid_param", "Invalid parameter(s): email")
                clash = conn.execute(
                    select(c.c.id).where(func.lower(c.c.email) == new.lower(), c.c.id != row.id)
                ).first()
                if clash is not None:
                    raise WooError(
                        400,
                        "registration-error-email-exists",
                        "An account is already registered with your email address.",
                    )
                values["email"] = new
            if values:
                conn.execute(update(c).where(c.c.id == row.id).values(values))
            extra = self.customer_extra.setdefault(row.id, {})
            for kind in ("billing", "shipping"):
                part = body.get(kind)
                if not isinstance(part, Mapping):
                    continue
                current = conn.execute(
                    select(a).where(a.c.customer_id == row.id, a.c.kind == kind).order_by(a.c.id)
                ).first()
                shown = self._customer_address(current, extra, kind)
                changes: dict[str, Any] = {}
                for key, value in part.items():
                    text = _text(value, f"{kind}[{key}]")
                    if key == "email" and kind == "billing":
                        extra["billing.email"] = text
                    elif key in ("first_name", "last_name"):
                        shown[key] = text
                        changes["name"] = _join(shown["first_name"], shown["last_name"])
                    elif key in _ADDRESS_COLUMNS:
                        if key == "country" and len(text) > 2:
                            raise WooError(
                                400, "rest_invalid_param", f"Invalid parameter(s): {kind}"
                            )
                        changes[_ADDRESS_COLUMNS[key]] = text or None
                        if key == "phone" and kind == "billing":
                            conn.execute(
                                update(c).where(c.c.id == row.id).values(phone=text or None)
                            )
                    elif key in _ADDRESS_FIELDS:
                        extra[f"{kind}.{key}"] = text
                if changes and current is not None:
                    conn.execute(update(a).where(a.c.id == current.id).values(changes))
                elif changes and any(changes.values()):
                    next_id = (conn.execute(select(func.max(a.c.id))).scalar_one() or 0) + 1
                    conn.execute(
                        insert(a).values(
                            id=next_id,
                            customer_id=row.id,
                            kind=kind,
                            **{k: changes.get(k) for k in ("name", *_ADDRESS_COLUMNS.values())},
                        )
                    )
            extra["date_modified"] = datetime.now(UTC).replace(tzinfo=None)
        return self.customer(customer_id)

    def delete_customer(self, customer_id: int) -> dict[str, Any]:
        """Delete the account; its orders stay, with ``customer_id`` 0 (as WooCommerce's
        ``wc_reset_order_customer_id_on_deleted_user`` does), and support tickets stay
        without an owner (WordPress keeps content when no one is named to reassign it to)."""
        before = self.customer(customer_id)
        c, a, o, s = (self.t[n] for n in ("customers", "addresses", "orders", "support_tickets"))
        with self.lock, self.engine.begin() as conn:
            conn.execute(update(o).where(o.c.customer_id == customer_id).values(customer_id=None))
            conn.execute(update(s).where(s.c.customer_id == customer_id).values(customer_id=None))
            conn.execute(delete(a).where(a.c.customer_id == customer_id))
            conn.execute(delete(c).where(c.c.id == customer_id))
        self.customer_extra.pop(customer_id, None)
        return before
