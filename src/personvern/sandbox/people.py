"""The people a sandbox holds: read from the demo shop's database.

Every vendor sandbox is seeded from the same shop (:mod:`personvern.demo.shop`), so a
request for someone who bought in the shop finds them in Mailchimp, Visma, Klarna and Vipps
too, with the same name, address and orders. Payment references are derived from the order
number (:func:`klarna_order_id`, :func:`vipps_reference`), the way the shop's payment
plugins store them on the WooCommerce order (``transaction_id``), so a connector can follow
an order from the shop to the payment provider.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import create_engine, select

from personvern.demo.shop import shop_metadata

_KLARNA_NAMESPACE = uuid.UUID("6f1d3c1e-6a43-4c57-9a55-5c9d8f2e7b10")


def klarna_order_id(order_number: str) -> str:
    """The Klarna order id the shop's Klarna plugin stored for an order (a UUID)."""
    return str(uuid.uuid5(_KLARNA_NAMESPACE, order_number))


def vipps_reference(order_number: str) -> str:
    """The ePayment reference the shop's Vipps plugin used for an order."""
    return f"assemble-{order_number}"


@dataclass(frozen=True)
class Address:
    name: str | None
    street: str | None
    postal_code: str | None
    city: str | None
    country: str | None
    phone: str | None


@dataclass(frozen=True)
class Order:
    id: int
    number: str
    created_at: datetime
    status: str
    payment_method: str  # vipps | klarna | card
    currency: str
    total: Decimal
    vat: Decimal
    billing_email: str | None
    billing: Address
    shipping: Address
    customer_ip: str | None
    customer_note: str | None

    @property
    def transaction_id(self) -> str | None:
        """The payment provider's reference, as WooCommerce stores it on the order."""
        if self.payment_method == "klarna":
            return klarna_order_id(self.number)
        if self.payment_method == "vipps":
            return vipps_reference(self.number)
        return None


@dataclass(frozen=True)
class Person:
    """A customer (``customer_id`` set) or a guest who only placed orders."""

    customer_id: int | None
    email: str
    first_name: str
    last_name: str
    username: str | None
    phone: str | None
    registered_at: datetime | None
    last_login_ip: str | None
    addresses: tuple[Address, ...]
    orders: tuple[Order, ...]
    newsletter_since: datetime | None  # None: not signed up

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


def _address(
    name: str | None, street: str | None, postal: str | None, city: str | None, phone: str | None
) -> Address:
    return Address(name, street, postal, city, "NO" if street else None, phone)


def people_from_shop(url: str, *, limit: int | None = None) -> list[Person]:
    """Everyone in the shop at ``url``: customers first (by id), then guests (by e-mail).

    ``limit`` caps the number of registered customers read (guests of their orders' era are
    not capped); the demo shop's 2,000 customers take well under a second.
    """
    md = shop_metadata()
    customers = md.tables["customers"]
    addresses = md.tables["addresses"]
    orders = md.tables["orders"]
    signups = md.tables["newsletter_signups"]
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            query = select(customers).order_by(customers.c.id)
            if limit is not None:
                query = query.limit(limit)
            customer_rows = conn.execute(query).all()
            wanted = {r.id for r in customer_rows}
            address_rows = conn.execute(select(addresses).order_by(addresses.c.id)).all()
            order_rows = conn.execute(select(orders).order_by(orders.c.id)).all()
            newsletter = {r.email.lower(): r.signed_up_at for r in conn.execute(select(signups))}
    finally:
        engine.dispose()
    by_customer: dict[int, list[Address]] = {}
    for a in address_rows:
        by_customer.setdefault(a.customer_id, []).append(
            _address(a.name, a.street, a.postal_code, a.city, a.phone)
        )
    orders_of: dict[int | str, list[Order]] = {}
    for o in order_rows:
        if o.customer_id is not None and o.customer_id not in wanted:
            continue
        owner: int | str = o.customer_id if o.customer_id is not None else (o.billing_email or "")
        orders_of.setdefault(owner, []).append(
            Order(
                id=o.id,
                number=o.order_number,
                created_at=o.created_at,
                status=o.status,
                payment_method=o.payment_method,
                currency=o.currency,
                total=Decimal(o.total),
                vat=Decimal(o.vat),
                billing_email=o.billing_email,
                billing=_address(
                    o.billing_name,
                    o.billing_address,
                    o.billing_postal_code,
                    o.billing_city,
                    o.billing_phone,
                ),
                shipping=_address(
                    o.shipping_name,
                    o.shipping_address,
                    o.shipping_postal_code,
                    o.shipping_city,
                    None,
                ),
                customer_ip=o.customer_ip,
                customer_note=o.customer_note,
            )
        )
    people = [
        Person(
            customer_id=r.id,
            email=r.email,
            first_name=r.first_name,
            last_name=r.last_name,
            username=r.username,
            phone=r.phone,
            registered_at=r.registered_at,
            last_login_ip=r.last_login_ip,
            addresses=tuple(by_customer.get(r.id, ())),
            orders=tuple(orders_of.get(r.id, ())),
            newsletter_since=newsletter.get(r.email.lower()),
        )
        for r in customer_rows
    ]
    for email, guest_orders in sorted((k, v) for k, v in orders_of.items() if isinstance(k, str)):
        if not email:
            continue
        first = guest_orders[0].billing
        given, _, family = (first.name or "").partition(" ")
        people.append(
            Person(
                customer_id=None,
                email=email,
                first_name=given,
                last_name=family,
                username=None,
                phone=first.phone,
                registered_at=None,
                last_login_ip=None,
                addresses=(),
                orders=tuple(guest_orders),
                newsletter_since=newsletter.get(email.lower()),
            )
        )
    return people


def find(people: Sequence[Person], email: str) -> Person | None:
    """The person with this address (compared case-insensitively), if the shop has them."""
    wanted = email.strip().lower()
    return next((p for p in people if p.email.lower() == wanted), None)
