"""The rows of the demo shop, made up from a seed (see :mod:`personvern.demo.shop`).

Faker (locale ``no_NO``: Faker has no ``nb_NO``) is slow per call, so it fills small pools
of names, streets and places once; a :class:`random.Random` per customer, seeded from the
shop's seed and the customer id, combines them. So the shop is the same whatever the batch
size, and a bigger shop begins with the same customers as a smaller one. Row ids derive
from the customer id, so a batch needs nothing from the ones before it.

Nothing here is real: e-mail domains are RFC 2606 example domains, IP addresses are in
10.0.0.0/8 (RFC 1918), phone numbers are made from the customer id.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

TABLES = (
    "customers",
    "addresses",
    "orders",
    "order_lines",
    "support_tickets",
    "newsletter_signups",
)
FAKER_LOCALE = "no_NO"
_EPOCH = datetime(2019, 1, 1, 8, 0, 0)
_SPAN = int((datetime(2025, 10, 1) - _EPOCH).total_seconds())
_EMAIL_DOMAINS = ("example.com", "example.net", "example.org")  # RFC 2606: never real

_PRODUCTS = (
    ("Kappesag 1400 W", "1899.00"),
    ("Drill 18 V med to batterier", "1499.00"),
    ("Vater 120 cm", "349.00"),
    ("Skruesett 500 deler", "199.00"),
    ("Arbeidslampe LED", "449.00"),
    ("Verktøykasse stål", "799.00"),
    ("Målebånd 8 m", "129.00"),
    ("Slipemaskin", "999.00"),
    ("Hammer 600 g", "249.00"),
    ("Vernebriller", "89.00"),
    ("Tommestokk", "79.00"),
    ("Sikkerhetssko str. 43", "1199.00"),
)
_SUBJECTS = (
    "Levering uteblir",
    "Feil vare mottatt",
    "Spørsmål om garanti",
    "Ønsker å returnere",
    "Faktura mangler",
    "Endre leveringsadresse",
)
_BODIES = (
    "Hei! Jeg bestilte for en uke siden og har ikke fått noe. Kan dere sjekke?",
    "Pakken inneholdt feil modell. Hvordan bytter jeg?",
    "Drillen sluttet å virke etter to måneder. Dekkes dette av garantien?",
    "Jeg vil returnere varen, den passet ikke. Hva gjør jeg?",
    "Kan dere sende fakturaen på nytt? Den kom ikke på e-post.",
    "Jeg har flyttet, vennligst send til ny adresse.",
)
_STATUSES = ("completed", "completed", "completed", "processing", "refunded", "cancelled")
_PAYMENTS = ("vipps", "klarna", "card")


class RowMaker:
    """Makes the rows of each batch of customers, deterministically from the seed."""

    def __init__(self, seed: int) -> None:
        from faker import Faker

        fake = Faker(FAKER_LOCALE)
        fake.seed_instance(seed)
        self.first = sorted({fake.first_name() for _ in range(600)})
        self.last = sorted({fake.last_name() for _ in range(600)})
        self.streets = [fake.street_address() for _ in range(1500)]
        self.places = [(fake.postcode(), fake.city()) for _ in range(600)]
        self.seed = seed

    def chunk(self, first: int, last: int) -> dict[str, list[dict[str, Any]]]:
        """Rows for customers ``first`` ≤ id < ``last``, and their share of guests.

        Ids of every table are derived from the customer ids, so a batch needs nothing
        from the ones before it.
        """
        rows: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}
        ids = _Ids()
        for cid in range(first, last):
            # One random stream per customer: the shop is the same whatever the batch size,
            # and its first customers are the same whatever its size.
            rng = random.Random(self.seed * 100_000_007 + cid)  # noqa: S311 - made-up data
            person = self._person(rng, cid, guest=False)
            rows["customers"].append(person["customer"])
            for kind in ("billing", "shipping")[: rng.choice((1, 1, 2))]:
                street, postal, city = self._place(rng)
                rows["addresses"].append(
                    {
                        "id": ids.next("addresses", cid, 2),
                        "customer_id": cid,
                        "kind": kind,
                        "name": person["name"],
                        "street": street,
                        "postal_code": postal,
                        "city": city,
                        "country": "NO",
                        "phone": person["phone"],
                    }
                )
            self._orders(rng, rows, ids, person, cid, rng.randint(0, 8))
            if rng.random() < 0.15:
                self._ticket(rng, rows, ids, person, cid)
            if rng.random() < 0.4:
                self._signup(rng, rows, ids, person["email"], cid)
            if cid % 2 == 0:  # one guest for every two customers
                guest = self._person(rng, cid, guest=True)
                self._orders(rng, rows, ids, guest, cid, rng.randint(1, 3))
                if rng.random() < 0.1:
                    self._ticket(rng, rows, ids, guest, cid)
                if rng.random() < 0.1:
                    self._signup(rng, rows, ids, guest["email"], cid)
        return rows

    def _person(self, rng: random.Random, cid: int, *, guest: bool) -> dict[str, Any]:
        first, last = rng.choice(self.first), rng.choice(self.last)
        tag = f"g{cid}" if guest else str(cid)
        email = f"{_ascii(first)}.{_ascii(last)}.{tag}@{rng.choice(_EMAIL_DOMAINS)}"
        # A unique Norwegian mobile number per person (7919 is prime, so no two collide).
        phone = f"+47{9 if guest else 4}{(cid * 7919) % 10_000_000:07d}"
        street, postal, city = self._place(rng)
        registered = _EPOCH + timedelta(seconds=rng.randrange(_SPAN))
        customer = {
            "id": cid,
            "email": email,
            "username": f"{_ascii(first)}{cid}",
            "first_name": first,
            "last_name": last,
            "phone": phone if rng.random() < 0.8 else None,
            "birth_date": date(1940, 1, 1) + timedelta(days=rng.randrange(365 * 65))
            if rng.random() < 0.3
            else None,
            "registered_at": registered,
            "last_login_ip": _ip(rng),
        }
        return {
            "customer": customer,
            "email": email,
            "name": f"{first} {last}",
            "phone": phone,
            "address": (street, postal, city),
            "since": registered,
            "guest": guest,
        }

    def _place(self, rng: random.Random) -> tuple[str, str, str]:
        postal, city = rng.choice(self.places)
        return rng.choice(self.streets), postal, city

    def _orders(
        self,
        rng: random.Random,
        rows: dict[str, list[dict[str, Any]]],
        ids: _Ids,
        person: Mapping[str, Any],
        cid: int,
        count: int,
    ) -> None:
        street, postal, city = person["address"]
        for _ in range(count):
            oid = ids.next("orders", cid, 12)
            total = Decimal(0)
            for _ in range(rng.choice((1, 1, 2, 2, 3))):
                name, price = rng.choice(_PRODUCTS)
                quantity = rng.choice((1, 1, 1, 2, 3))
                line_total = Decimal(price) * quantity
                total += line_total
                rows["order_lines"].append(
                    {
                        "id": ids.next("order_lines", cid, 40),
                        "order_id": oid,
                        "sku": f"ASM-{_PRODUCTS.index((name, price)) + 100}",
                        "product_name": name,
                        "quantity": quantity,
                        "unit_price": Decimal(price),
                        "line_total": line_total,
                        "gift_message": "Gratulerer med dagen!" if rng.random() < 0.03 else None,
                    }
                )
            created = person["since"] + timedelta(seconds=rng.randrange(86_400 * 365))
            rows["orders"].append(
                {
                    "id": oid,
                    "order_number": f"A{oid:09d}",
                    "customer_id": None if person["guest"] else cid,
                    "billing_email": person["email"],
                    "billing_name": person["name"],
                    "billing_address": street,
                    "billing_postal_code": postal,
                    "billing_city": city,
                    "billing_phone": person["phone"],
                    "shipping_name": person["name"],
                    "shipping_address": street,
                    "shipping_postal_code": postal,
                    "shipping_city": city,
                    "created_at": created,
                    "status": rng.choice(_STATUSES),
                    "payment_method": rng.choice(_PAYMENTS),
                    "currency": "NOK",
                    "total": total,
                    # Prices include 25 % VAT (merverdiavgiftsloven § 5-1): VAT is a fifth.
                    "vat": (total / 5).quantize(Decimal("0.01")),
                    "customer_ip": _ip(rng),
                    "customer_note": "Ring før levering." if rng.random() < 0.05 else None,
                }
            )

    def _ticket(
        self,
        rng: random.Random,
        rows: dict[str, list[dict[str, Any]]],
        ids: _Ids,
        person: Mapping[str, Any],
        cid: int,
    ) -> None:
        n = rng.randrange(len(_SUBJECTS))
        rows["support_tickets"].append(
            {
                "id": ids.next("support_tickets", cid, 2),
                "customer_id": None if person["guest"] else cid,
                "email": person["email"],
                "name": person["name"],
                "subject": _SUBJECTS[n],
                "body": _BODIES[n],
                "created_at": person["since"] + timedelta(days=rng.randrange(400)),
                "status": rng.choice(("open", "closed", "closed")),
            }
        )

    def _signup(
        self,
        rng: random.Random,
        rows: dict[str, list[dict[str, Any]]],
        ids: _Ids,
        email: str,
        cid: int,
    ) -> None:
        rows["newsletter_signups"].append(
            {
                "id": ids.next("newsletter_signups", cid, 2),
                "email": email,
                "signed_up_at": _EPOCH + timedelta(seconds=rng.randrange(_SPAN)),
                "source": rng.choice(("checkout", "footer", "popup")),
                "ip": _ip(rng),
            }
        )


class _Ids:
    """Row ids from the customer id: ``cid * width + n``, so batches never overlap."""

    def __init__(self) -> None:
        self._used: dict[tuple[str, int], int] = {}

    def next(self, table: str, cid: int, width: int) -> int:
        n = self._used.get((table, cid), 0)
        if n >= width:
            raise AssertionError(f"more than {width} {table} rows for customer {cid}")
        self._used[(table, cid)] = n + 1
        return cid * width + n


def _ascii(name: str) -> str:
    text = name.lower()
    for a, b in (("æ", "ae"), ("ø", "o"), ("å", "a"), ("é", "e"), ("ü", "u"), ("ö", "o")):
        text = text.replace(a, b)
    return "".join(ch for ch in text if ch.isalnum())


def _ip(rng: random.Random) -> str:
    # 10.0.0.0/8 is private (RFC 1918): no real visitor's address.
    return f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
