"""End to end with the demo shop: a request made through the privacy center's form, verified
by the link in an e-mail caught by a real SMTP server, run by the real ``sql`` connector, its
manual tasks marked done, and its report fetched by the link in the next e-mail.

- Access: the report lists exactly that person's rows in the shop — no more, no fewer, no
  one else's — in HTML, PDF, JSON and CSV.
- Erasure: the person can no longer be found, except the bookkeeping fields held under
  bokføringsloven § 13, which the confirmation lists with their end date; a second erasure
  changes nothing.
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from pypdf import PdfReader
from request_support import (
    Inbox,
    app_client,
    csrf_from,
    free_port,
    smtp_server,
    submit,
    verify_token,
)
from sqlalchemy import create_engine, select, text

from personvern.dsr import handoff
from personvern.dsr import requests as lifecycle
from personvern.dsr.deadlines import local_day
from personvern.jobs import run_request_now
from personvern.mail.sender import deliver_due
from personvern.runtime import Runtime
from personvern.settings import Settings
from personvern.store.base import utcnow
from personvern.store.requests import DataRequest, RequestStep

ROOT = Path(__file__).resolve().parents[2]
ASSEMBLE = ROOT / "examples" / "assemble" / "privacy.yaml"
DATASET = ROOT / "examples" / "assemble" / "shop_dataset.yml"
HOLDS = [
    "bookkeeping_primary: orders(order_number, created_at, billing_name, billing_address, "
    "billing_postal_code, billing_city, payment_method, currency, total, vat)",
    "bookkeeping_primary: order_lines(order_id, sku, product_name, quantity, unit_price, "
    "line_total)",
    "bookkeeping_secondary: none",
]
_LINK = re.compile(r"/privacy/download/([A-Za-z0-9_-]{43}\.[0-9a-f]{32})")

# What the person's rows are, asked of the shop directly (the dataset's graph, by hand).
EXPECTED = {
    "customers": "SELECT id FROM customers WHERE email = :e",
    "addresses": "SELECT a.id FROM addresses a JOIN customers c ON a.customer_id = c.id "
    "WHERE c.email = :e",
    "orders": "SELECT o.id FROM orders o LEFT JOIN customers c ON o.customer_id = c.id "
    "WHERE o.billing_email = :e OR c.email = :e",
    "order_lines": "SELECT l.id FROM order_lines l JOIN orders o ON l.order_id = o.id "
    "LEFT JOIN customers c ON o.customer_id = c.id WHERE o.billing_email = :e OR c.email = :e",
    "support_tickets": "SELECT t.id FROM support_tickets t LEFT JOIN customers c "
    "ON t.customer_id = c.id WHERE t.email = :e OR c.email = :e",
    "newsletter_signups": "SELECT id FROM newsletter_signups WHERE email = :e",
}


@dataclass
class Shop:
    runtime: Runtime
    settings: Settings
    url: str
    person: Any
    other: Any
    inbox: Inbox
    client: TestClient


@pytest.fixture
def shop(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Shop]:
    pytest.importorskip("personvern.connectors.sql")
    from personvern.demo.shop import build_shop, sample_people

    url = f"sqlite:///{tmp_path / 'shop.sqlite3'}"
    build_shop(url, customers=40, seed=11)
    person, other = sample_people(url, 2)
    monkeypatch.setenv("SHOP_DATABASE_URL", url)
    data = yaml.safe_load(ASSEMBLE.read_text())
    for system in data["systems"]:
        if system["key"] == "woocommerce":
            system["connector"] = {
                "type": "sql",
                "settings": {
                    "url_env": "SHOP_DATABASE_URL",
                    "dataset": str(DATASET),
                    "holds": HOLDS,
                },
            }
    inventory = tmp_path / "privacy.yaml"
    inventory.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    port = free_port()
    changed = settings.model_copy(
        update={
            "inventory": inventory,
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "smtp_security": "none",
            "mail_from": "Assemble Prosjekt AS <personvern@assemble.no>",
            "base_url": "https://assemble.example",
        }
    )
    runtime = Runtime.open(changed, migrate=False)
    try:
        with smtp_server(port) as inbox, app_client(changed, runtime) as client:
            yield Shop(runtime, changed, url, person, other, inbox, client)
    finally:
        runtime.close()


def rows(url: str, sql: str, **params: Any) -> list[Any]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql), params))
    finally:
        engine.dispose()


def mails(shop: Shop, address: str, subject: str) -> list[str]:
    out = []
    for message in shop.inbox.received:
        if message["To"] == address and str(message["Subject"]) == subject:
            body = message.get_body(("plain",))
            assert body is not None
            out.append(str(body.get_content()))
    return out


def mail_to(shop: Shop, address: str, subject: str, seen: int = 0) -> str:
    """The text of the newest e-mail with ``subject`` to ``address``, once the SMTP server
    has more than ``seen`` of them."""
    deadline = time.monotonic() + 20
    while len(found := mails(shop, address, subject)) <= seen:
        assert time.monotonic() < deadline, f"no e-mail {subject!r} arrived"
        deliver_due(shop.runtime)
        time.sleep(0.05)
    return found[-1]


def request_by_form(shop: Shop, kind: str) -> str:
    """The person asks in the privacy center and follows the link e-mailed to them."""
    person = shop.person
    seen = len(mails(shop, person.email, "Confirm your privacy request"))
    assert (
        submit(shop.client, kind, "?lang=en", email=person.email, name=person.name).status_code
        == 200
    )
    body = mail_to(shop, person.email, "Confirm your privacy request", seen)
    token = verify_token(body)
    page = shop.client.get(f"/privacy/verify/{token}")
    confirmed = shop.client.post(
        f"/privacy/verify/{token}",
        data={"csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert confirmed.status_code == 303
    with shop.runtime.sessions() as db:
        newest = db.scalars(
            select(DataRequest.id)
            .where(DataRequest.kind == kind)
            .order_by(DataRequest.received_at.desc())
        ).first()
    assert newest is not None
    return newest


def run_to_completion(shop: Shop, request_id: str) -> None:
    """Run the request; the systems without a connector are tasks an admin marks done."""
    assert run_request_now(shop.runtime, request_id) == "waiting"
    with shop.runtime.sessions() as db:
        waiting = list(
            db.scalars(
                select(RequestStep.id).where(
                    RequestStep.request_id == request_id, RequestStep.status == "waiting"
                )
            )
        )
    assert waiting
    for step_id in waiting:
        handoff.complete_manual_step(
            shop.runtime, step_id, "eier@assemble.no", "Checked; nothing more found.", None
        )
    assert lifecycle.get(shop.runtime, request_id).status == "completed"
    assert lifecycle.notify_completed(shop.runtime, request_id, "eier@assemble.no")


def download(shop: Shop, subject: str) -> dict[str, bytes]:
    """Follow the link in the report e-mail, give the address, fetch every file."""
    body = mail_to(shop, shop.person.email, subject)
    match = _LINK.search(body)
    assert match, body
    assert "https://assemble.example/privacy/download/" in body
    token = match.group(1)
    client = shop.client
    page = client.get(f"/privacy/download/{token}")
    posted = client.post(
        f"/privacy/download/{token}",
        data={"csrf_token": csrf_from(page.text), "email": shop.person.email},
        follow_redirects=False,
    )
    assert posted.status_code == 303
    listing = client.get(f"/privacy/download/{token}")
    names = re.findall(rf'href="/privacy/download/{re.escape(token)}/([^"]+)"', listing.text)
    files = {}
    for name in names:
        got = client.get(f"/privacy/download/{token}/{name}")
        assert got.status_code == 200
        files[name] = got.content
    return files


def test_access_report_lists_exactly_that_persons_rows(shop: Shop) -> None:
    email = shop.person.email
    expected = {
        (collection, str(row[0]))
        for collection, sql in EXPECTED.items()
        for row in rows(shop.url, sql, e=email)
    }
    assert {c for c, _ in expected} >= {"customers", "orders", "order_lines"}
    orders = [
        r.order_number
        for r in rows(
            shop.url,
            "SELECT order_number FROM orders o "
            "LEFT JOIN customers c ON o.customer_id = c.id "
            "WHERE o.billing_email = :e OR c.email = :e",
            e=email,
        )
    ]
    others = [
        r.order_number
        for r in rows(
            shop.url, "SELECT order_number FROM orders WHERE billing_email = :e", e=shop.other.email
        )
    ]
    assert orders
    assert others

    request_id = request_by_form(shop, "access")
    run_to_completion(shop, request_id)
    files = download(shop, "Your copy of your personal data is ready")
    assert sorted(files) == ["access-report.html", "access-report.pdf", "access-report.zip"]

    # JSON: every record found, and nothing else.
    with zipfile.ZipFile(io.BytesIO(files["access-report.zip"])) as archive:
        assert archive.testzip() is None
        data = json.loads(archive.read("data.json"))
        csvs = {
            name.split("/")[-1].removesuffix(".csv"): list(
                csv.DictReader(io.StringIO(archive.read(name).decode()))
            )
            for name in archive.namelist()
            if name.startswith("csv/woocommerce/")
        }
    [shop_system] = [s for s in data["systems"] if s["system"] == "woocommerce"]
    found = {(r["collection"], r["key"]) for r in shop_system["records"]}
    assert found == expected
    # CSV: one file per collection, a row per record, the same ones.
    assert {(c, row["id"]) for c, table in csvs.items() for row in table} == expected
    assert {r["order_number"] for r in csvs["orders"]} == set(orders)

    # HTML and PDF: her order numbers are there, nobody else's.
    html = files["access-report.html"].decode()
    pdf = "\n".join(
        p.extract_text() for p in PdfReader(io.BytesIO(files["access-report.pdf"])).pages
    )
    for document in (html, pdf):
        assert email in document
        for number in orders:
            assert number in document
        for number in others:
            assert number not in document
        assert shop.other.email not in document
        assert "Datatilsynet" in document
    assert "How we use your data" in html
    assert "Article 15(4)" in html


def test_erasure_leaves_only_the_held_bookkeeping_fields(shop: Shop) -> None:
    email = shop.person.email
    held = rows(
        shop.url,
        "SELECT o.id, o.order_number, o.billing_name, o.total FROM orders o "
        "LEFT JOIN customers c ON o.customer_id = c.id WHERE o.billing_email = :e OR c.email = :e",
        e=email,
    )
    assert held

    request_id = request_by_form(shop, "erase")
    run_to_completion(shop, request_id)
    files = download(shop, "Confirmation of erasure")
    assert sorted(files) == ["erasure-confirmation.html", "erasure-confirmation.pdf"]
    html = files["erasure-confirmation.html"].decode()
    until = f"31 December {local_day(utcnow()).year + 5}"
    kept = html.split('id="kept"')[1]
    for fieldname in ("order_number", "billing_name", "total", "product_name"):
        assert fieldname in kept
    assert until in kept
    assert "the Bookkeeping Act (bokføringsloven) § 13" in kept
    pdf = "\n".join(
        p.extract_text() for p in PdfReader(io.BytesIO(files["erasure-confirmation.pdf"])).pages
    )
    assert until in pdf

    # Unfindable by any identity...
    for table, column in (
        ("customers", "email"),
        ("orders", "billing_email"),
        ("support_tickets", "email"),
        ("newsletter_signups", "email"),
    ):
        assert rows(shop.url, f"SELECT 1 FROM {table} WHERE {column} = :e", e=email) == []  # noqa: S608
    # ...but the sales documents keep what bokføringsloven § 13 asks for.
    ids = ", ".join(str(r.id) for r in held)
    orders = f"SELECT id, order_number, billing_name, total FROM orders WHERE id IN ({ids})"  # noqa: S608
    assert sorted(rows(shop.url, orders)) == sorted(held)

    # A second erasure finds nothing more to change.
    second = request_by_form(shop, "erase")
    assert run_request_now(shop.runtime, second) == "waiting"
    with shop.runtime.sessions() as db:
        step = db.scalars(
            select(RequestStep).where(
                RequestStep.request_id == second, RequestStep.system_key == "woocommerce"
            )
        ).one()
        result = json.loads(step.result or "{}")
    assert step.status == "done"
    assert sum(result["deleted"].values()) + sum(result["anonymized"].values()) == 0
    assert sorted(rows(shop.url, orders)) == sorted(held)
