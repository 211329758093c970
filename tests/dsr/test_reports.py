"""The reports a person gets (GDPR Art. 15, 16/19, 17, 18, 21): written from the store's
request and step rows as the executor leaves them, checked in every format they come in.

The helpers here (:func:`add_request`, :func:`access_steps`, …) are used by the download
tests too (``test_reports_download.py``).
"""

from __future__ import annotations

import csv
import io
import json
import stat
import uuid
import zipfile
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from personvern.dsr.reports import ReportError, write_report
from personvern.runtime import Runtime
from personvern.store.requests import DataRequest, RequestStep

KARI = "kari.nordmann@example.no"
OLA = "ola.hansen@example.no"
COMPLETED = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)

# What the sql connector finds in the shop for Kari: her account, an order (wide: more
# fields than fit across a page) and its lines. Ola's rows are in his own request only.
CATEGORIES = {
    "id": "user.unique_id",
    "email": "user.contact.email",
    "first_name": "user.name.first",
    "last_name": "user.name.last",
    "phone": "user.contact.phone_number",
}


def customer(cid: int, email: str, first: str, last: str) -> dict[str, Any]:
    return {
        "collection": "customers",
        "key": str(cid),
        "fields": {
            "id": cid,
            "email": email,
            "first_name": first,
            "last_name": last,
            "phone": "+47 900 00 00" + str(cid)[-1],
        },
        "categories": CATEGORIES,
    }


def order(oid: int, cid: int, email: str, name: str) -> dict[str, Any]:
    return {
        "collection": "orders",
        "key": str(oid),
        "fields": {
            "id": oid,
            "order_number": f"AP-{oid}",
            "customer_id": cid,
            "billing_email": email,
            "billing_name": name,
            "billing_address": "Storgata 1",
            "billing_postal_code": "0155",
            "billing_city": "Oslo",
            "created_at": "2025-06-01T10:15:00",
            "total": "1249.00",
            "customer_note": "Ring på, takk",
            "paid": True,
        },
        "categories": {
            "billing_email": "user.contact.email",
            "billing_name": "user.name",
            "billing_address": "user.contact.address.street",
            "created_at": "user.behavior.purchase_history",
            "customer_note": "user.content.private",
        },
    }


def line(lid: int, oid: int) -> dict[str, Any]:
    return {
        "collection": "order_lines",
        "key": str(lid),
        "fields": {"id": lid, "order_id": oid, "product_name": "Skrivebord", "quantity": 1},
        "categories": {},
    }


def add_request(
    runtime: Runtime,
    *,
    kind: str = "access",
    email: str = KARI,
    name: str | None = "Kari Nordmann",
    lang: str = "en",
    status: str = "completed",
    changes: Mapping[str, str] | None = None,
    steps: Sequence[dict[str, Any]] = (),
) -> str:
    """A request and its steps, as the lifecycle and the executor leave them."""
    request_id = str(uuid.uuid4())
    received = COMPLETED - timedelta(days=3)
    with runtime.sessions() as db, db.begin():
        db.add(
            DataRequest(
                id=request_id,
                kind=kind,
                status=status,
                email=email,
                email_key=runtime.audit.subject_key(email),
                name=name,
                phone=None,
                lang=lang,
                channel="form",
                received_at=received,
                due_at=received + timedelta(days=31),
                verified_at=received,
                completed_at=COMPLETED if status == "completed" else None,
                changes=json.dumps(dict(changes or {})),
                details="{}",
            )
        )
        db.flush()
        for step in steps:
            manual = step.get("manual", False)
            result = step.get("result")
            db.add(
                RequestStep(
                    request_id=request_id,
                    system_key=step["system"],
                    connector=None if manual else step.get("connector", "sql"),
                    action=step.get("action", kind if kind != "object" else "unsubscribe"),
                    status=step.get("status", "done"),
                    plan=json.dumps(
                        {"disposition": step.get("disposition", "manual" if manual else "run")}
                    ),
                    result=None if result is None else json.dumps(result),
                    note=step.get("note"),
                    done_by="eier@assemble.no" if manual else None,
                    finished_at=COMPLETED,
                )
            )
    return request_id


def access_steps(email: str, first: str, last: str, base: int) -> list[dict[str, Any]]:
    name = f"{first} {last}"
    records = [
        customer(base, email, first, last),
        order(base * 10, base, email, name),
        line(base * 100, base * 10),
        line(base * 100 + 1, base * 10),
    ]
    return [
        {"system": "woocommerce", "result": {"records": records, "notes": []}},
        {"system": "wordpress", "connector": "wordpress", "result": {"records": [], "notes": []}},
        {
            "system": "mailchimp",
            "manual": True,
            "note": f"Exported the Mailchimp profile of {first} and sent it.",
            "result": {"manual": True},
        },
    ]


def kari_access(runtime: Runtime, lang: str = "en", status: str = "completed") -> str:
    return add_request(
        runtime, lang=lang, status=status, steps=access_steps(KARI, "Kari", "Nordmann", 7)
    )


def ola_access(runtime: Runtime, lang: str = "en") -> str:
    return add_request(
        runtime,
        email=OLA,
        name="Ola Hansen",
        lang=lang,
        steps=access_steps(OLA, "Ola", "Hansen", 3),
    )


def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def by_suffix(paths: Sequence[Path]) -> dict[str, Path]:
    return {p.suffix: p for p in paths}


# --- access -------------------------------------------------------------------------------


@pytest.fixture
def access_report(runtime: Runtime, tmp_path: Path) -> dict[str, Path]:
    ola_access(runtime)  # someone else, in the same store
    written = write_report(runtime, kari_access(runtime), tmp_path / "out")
    return by_suffix(written)


def test_access_report_comes_as_html_pdf_and_zip(access_report: dict[str, Path]) -> None:
    assert sorted(access_report) == [".html", ".pdf", ".zip"]
    assert {p.name for p in access_report.values()} == {
        "access-report.html",
        "access-report.pdf",
        "access-report.zip",
    }
    for path in access_report.values():
        # Personal data: readable by the owner of the files only.
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_access_html_holds_the_data_and_every_article_15_item(
    access_report: dict[str, Path],
) -> None:
    html = access_report[".html"].read_text()
    # Confirmation, and the copy itself, in tables with headers and categories in words.
    assert "Yes: we process personal data about you" in html
    for value in (KARI, "Nordmann", "AP-70", "Storgata 1", "Skrivebord", "Ring på, takk"):
        assert value in html
    assert '<th scope="col">email<span class="category">E-mail address</span></th>' in html
    assert "<caption>orders – record 1 of 1</caption>" not in html  # one order: no count
    assert "<caption>orders</caption>" in html
    assert "We also searched WordPress" in html  # searched, nothing there
    assert "Exported the Mailchimp profile of Kari" in html  # a manual task's outcome
    # Nobody else's data (Art. 15(4)), and the report says so.
    assert OLA not in html
    assert "Hansen" not in html
    assert "Article 15(4)" in html
    # Art. 15(1)(a) purposes and legal bases, (b) categories, (c) recipients, (d) retention,
    # (e) rights, (f) complaint, (g) sources, (h) automated decisions; 15(2) transfers.
    for text in (
        "Order fulfilment",
        "GDPR Art. 6(1)(b)",
        "Categories of data",
        "One.com",
        "Processor",
        "How long we keep it",
        "5 years",
        "after the end of the accounting year",
        "Article 16",
        "Article 17",
        "Article 18",
        "Article 21",
        "Datatilsynet",
        "Article 77",
        "Where the data comes from",
        "Vipps",
        "Automated decisions",
        "Transfers outside the EEA",
        "Mailchimp",
        "Data Privacy Framework",
    ):
        assert text in html, text
    assert "<script" not in html
    assert "http://" not in html.split("<body>")[0]  # nothing fetched: styles are inline


def test_access_pdf_has_extractable_text(access_report: dict[str, Path]) -> None:
    text = pdf_text(access_report[".pdf"])
    for value in (KARI, "AP-70", "Skrivebord", "Order fulfilment", "Datatilsynet", "Article 77"):
        assert value in text, value
    assert OLA not in text


def test_access_zip_is_json_and_csv_of_exactly_her_rows(access_report: dict[str, Path]) -> None:
    with zipfile.ZipFile(access_report[".zip"]) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        assert names[:2] == ["README.txt", "data.json"]
        assert sorted(names[2:]) == [
            "csv/personvern/requests.csv",  # her request, as personvern keeps it
            "csv/woocommerce/customers.csv",
            "csv/woocommerce/order_lines.csv",
            "csv/woocommerce/orders.csv",
        ]
        data = json.loads(archive.read("data.json"))
        orders = list(
            csv.DictReader(io.StringIO(archive.read("csv/woocommerce/orders.csv").decode()))
        )
        lines = list(
            csv.DictReader(io.StringIO(archive.read("csv/woocommerce/order_lines.csv").decode()))
        )
        readme = archive.read("README.txt").decode()
    assert "Article 20" in readme
    assert data["format"] == "personvern.access-report"
    assert data["subject"]["email"] == KARI
    shop = next(s for s in data["systems"] if s["system"] == "woocommerce")
    assert shop["state"] == "found"
    assert {(r["collection"], r["key"]) for r in shop["records"]} == {
        ("customers", "7"),
        ("orders", "70"),
        ("order_lines", "700"),
        ("order_lines", "701"),
    }
    assert {s["system"]: s["state"] for s in data["systems"]} == {
        "woocommerce": "found",
        "wordpress": "nothing_found",
        "mailchimp": "checked_by_hand",
    }
    assert data["category_names"]["user.contact.email"] == "e-mail address"
    purposes = {p["key"] for p in data["processing"]["purposes"]}
    assert {"order_fulfilment", "bookkeeping", "privacy_requests"} <= purposes
    assert OLA not in json.dumps(data)
    assert orders == [
        {
            "id": "70",
            "order_number": "AP-70",
            "customer_id": "7",
            "billing_email": KARI,
            "billing_name": "Kari Nordmann",
            "billing_address": "Storgata 1",
            "billing_postal_code": "0155",
            "billing_city": "Oslo",
            "created_at": "2025-06-01T10:15:00",
            "total": "1249.00",
            "customer_note": "Ring på, takk",
            "paid": "true",
        }
    ]
    assert [row["id"] for row in lines] == ["700", "701"]


def test_the_archive_is_the_same_bytes_each_time(runtime: Runtime, tmp_path: Path) -> None:
    request_id = kari_access(runtime)
    first = by_suffix(write_report(runtime, request_id, tmp_path / "a"))[".zip"].read_bytes()
    second = by_suffix(write_report(runtime, request_id, tmp_path / "b"))[".zip"].read_bytes()
    assert first == second


def test_access_report_in_bokmal(runtime: Runtime, tmp_path: Path) -> None:
    paths = by_suffix(write_report(runtime, kari_access(runtime, lang="nb"), tmp_path))
    assert paths[".html"].name == "innsyn.html"
    html = paths[".html"].read_text()
    assert '<html lang="nb">' in html
    for text in (
        "Innsyn i personopplysninger",
        "Rettslig grunnlag",
        "personvernforordningen artikkel 6 nr. 1 bokstav b",
        "Gjennomføring av kjøp",
        "E-postadresse",
        "Datatilsynet",
    ):
        assert text in html, text
    assert "Innsyn i personopplysninger" in pdf_text(paths[".pdf"])


def test_an_interim_report_says_so(runtime: Runtime, tmp_path: Path) -> None:
    request_id = add_request(
        runtime,
        status="waiting",
        steps=[
            *access_steps(KARI, "Kari", "Nordmann", 7)[:2],
            {"system": "mailchimp", "manual": True, "status": "waiting"},
        ],
    )
    html = by_suffix(write_report(runtime, request_id, tmp_path))[".html"].read_text()
    assert "This is an interim report" in html
    assert "Still being checked" in html


@pytest.mark.parametrize("status", ["unverified", "expired", "refused", "verified"])
def test_no_report_before_the_plan_has_run(runtime: Runtime, tmp_path: Path, status: str) -> None:
    request_id = add_request(runtime, status=status)
    with pytest.raises(ReportError, match=status):
        write_report(runtime, request_id, tmp_path)
    assert not tmp_path.joinpath("access-report.html").exists()


def test_unknown_request_is_a_lookup_error(runtime: Runtime, tmp_path: Path) -> None:
    with pytest.raises(LookupError):
        write_report(runtime, str(uuid.uuid4()), tmp_path)


def test_writing_a_report_is_audited_without_personal_data(
    runtime: Runtime, tmp_path: Path
) -> None:
    request_id = kari_access(runtime)
    write_report(runtime, request_id, tmp_path)
    [entry] = [e for e in runtime.audit.entries(KARI) if e.action == "request.report_written"]
    assert entry.object_id == request_id
    assert json.loads(entry.details) == {"formats": ["html", "pdf", "zip"], "kind": "access"}
    assert runtime.audit.verify().ok


# --- erasure, rectification, objection, restriction ---------------------------------------

BOOKKEEPING = "bokføringsloven § 13 (GDPR Art. 17(3)(b))"


def erasure_steps() -> list[dict[str, Any]]:
    return [
        {
            "system": "woocommerce",
            "result": {
                "deleted": {"addresses": 2, "support_tickets": 1},
                "anonymized": {"customers": 1, "orders": 3},
                "kept": [
                    {
                        "collection": "orders",
                        "fields": ["order_number", "created_at", "billing_name", "total"],
                        "ground": BOOKKEEPING,
                        "until": "2031-12-31",
                    }
                ],
                "notes": [],
            },
        },
        {
            "system": "visma_eaccounting",
            "connector": "visma_eaccounting",
            "disposition": "keep",
            "result": {
                "deleted": {},
                "anonymized": {},
                "kept": [],
                "kept_rules": [
                    {
                        "rule": "bookkeeping_primary",
                        "ground": BOOKKEEPING,
                        "until": "2031-12-31",
                        "activities": ["bookkeeping"],
                        "categories": ["user.name", "user.contact.address"],
                    }
                ],
                "notes": [],
            },
        },
        {"system": "klarna", "manual": True, "note": "Klarna told on 2 March.", "result": {}},
        {"system": "wordpress", "connector": "wordpress", "result": {"deleted": {}}},
    ]


def test_erasure_confirmation_lists_what_was_kept_why_and_until_when(
    runtime: Runtime, tmp_path: Path
) -> None:
    request_id = add_request(runtime, kind="erase", steps=erasure_steps())
    paths = by_suffix(write_report(runtime, request_id, tmp_path))
    assert sorted(paths) == [".html", ".pdf"]
    html = paths[".html"].read_text()
    for text in (
        "Confirmation of erasure",
        "Deleted: 2 records in addresses.",
        "Deleted: 1 record in support_tickets.",
        "Anonymized: 3 records in orders.",
        "order_number, created_at, billing_name, total",
        "the Bookkeeping Act (bokføringsloven) § 13",
        "Article 17(3)(b)",
        "31 December 2031",
        "Kept until",
        "name and postal address",  # Visma: kept whole, under the rule
        "Klarna told on 2 March.",
        "Nothing about you was found here.",  # WordPress
        "Article 19",
    ):
        assert text in html, text
    told = html.split('id="told"')[1]
    assert "Klarna" in told  # a recipient (independent controller), told by hand
    assert "WooCommerce" not in told  # our own system, not a recipient
    text = pdf_text(paths[".pdf"])
    assert "31 December 2031" in text
    assert "order_number" in text


def test_erasure_confirmation_in_bokmal(runtime: Runtime, tmp_path: Path) -> None:
    request_id = add_request(runtime, kind="erase", lang="nb", steps=erasure_steps())
    html = by_suffix(write_report(runtime, request_id, tmp_path))[".html"].read_text()
    for text in (
        "Bekreftelse på sletting",
        "Oppbevares til",
        "31. desember 2031",
        "Rettslig grunnlag",
        "bokføringsloven § 13 (personvernforordningen artikkel 17 nr. 3 bokstav b)",
    ):
        assert text in html, text


def test_rectification_report_says_what_changed_and_whom_we_told(
    runtime: Runtime, tmp_path: Path
) -> None:
    request_id = add_request(
        runtime,
        kind="rectify",
        changes={"name": "Kari N. Nordmann", "phone": "+47 911 11 111"},
        steps=[
            {"system": "woocommerce", "result": {"changed": {"customers": 1, "orders": 2}}},
            {"system": "mailchimp", "manual": True, "note": "Name corrected in Mailchimp."},
            {"system": "visma_eaccounting", "manual": True, "status": "waiting"},
        ],
    )
    html = by_suffix(write_report(runtime, request_id, tmp_path))[".html"].read_text()
    for text in (
        "Confirmation of rectification",
        "Kari N. Nordmann",
        "+47 911 11 111",
        "Corrected: 2 records in orders.",
        "Name corrected in Mailchimp.",
        "In progress",  # Visma, not yet done
        "about the correction (GDPR Article 19)",
    ):
        assert text in html, text
    told = html.split('id="told"')[1]
    assert "Mailchimp" in told
    assert "Visma" not in told


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("object", "We have stopped all direct marketing to you"),
        ("restrict", "We will tell you before the restriction is lifted"),
    ],
)
def test_objection_and_restriction_get_a_short_confirmation(
    runtime: Runtime, tmp_path: Path, kind: str, expected: str
) -> None:
    request_id = add_request(
        runtime,
        kind=kind,
        steps=[{"system": "mailchimp", "manual": True, "note": "Done in Mailchimp."}],
    )
    paths = write_report(runtime, request_id, tmp_path)
    assert [p.suffix for p in paths] == [".html"]
    html = paths[0].read_text()
    assert expected in html
    assert "Done in Mailchimp." in html
