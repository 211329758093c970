"""An access report shows what personvern itself keeps about the person (GDPR Art. 15(1)):
the suppression list entry for their address, their earlier and current requests, and where
their cookie consents are, which cannot be found by address. Nobody else's entries appear.

The rows are written as the code that keeps them writes them: the suppression list through
``suppress_in`` (as an unsubscribe or a completed objection does), requests as the lifecycle
leaves them, with the keyed hash of the address the request store indexes.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from test_reports import COMPLETED, KARI, OLA, add_request, by_suffix, kari_access, pdf_text

from personvern.dsr.own_records import own_records
from personvern.dsr.reports import write_report
from personvern.keyed import keyed_hash
from personvern.runtime import Runtime
from personvern.store.requests import DataRequest
from personvern.suppression.entries import suppress_in

OBJECTED = datetime(2025, 10, 3, 8, 0, tzinfo=UTC)
REFUSED = datetime(2025, 6, 20, 12, 0, tzinfo=UTC)


def past_request(
    runtime: Runtime,
    email: str,
    *,
    kind: str,
    status: str,
    received: datetime,
    closed: datetime | None,
) -> str:
    """A request as the lifecycle leaves it: completed, or refused (``completed_at`` set)."""
    request_id = str(uuid.uuid4())
    with runtime.sessions() as db, db.begin():
        db.add(
            DataRequest(
                id=request_id,
                kind=kind,
                status=status,
                email=email,
                email_key=keyed_hash(runtime.secret, email, kind="email"),
                name=None,
                phone=None,
                lang="en",
                channel="form",
                received_at=received,
                due_at=received + timedelta(days=31),
                verified_at=received,
                completed_at=closed,
                refusal_reason="Manifestly unfounded: the same request twice in a day."
                if status == "refused"
                else None,
                changes="{}",
                details="{}",
            )
        )
    return request_id


def suppressed(runtime: Runtime, address: str, *, source: str, at: datetime, synced: bool) -> None:
    with runtime.audit.session() as db:
        added = suppress_in(
            db, runtime.audit, address, source=source, actor="test", synced=synced, now=at
        )
    assert added.created


def ola_everywhere(runtime: Runtime) -> dict[str, str]:
    """Ola, in the same store: on the suppression list, with requests of his own."""
    suppressed(runtime, OLA, source="one_click", at=OBJECTED, synced=False)
    return {
        "object": past_request(
            runtime,
            OLA,
            kind="object",
            status="completed",
            received=OBJECTED - timedelta(days=1),
            closed=OBJECTED,
        ),
        "erase": past_request(
            runtime,
            OLA,
            kind="erase",
            status="refused",
            received=REFUSED - timedelta(days=2),
            closed=REFUSED,
        ),
    }


def read_zip(path: Path) -> tuple[dict[str, Any], dict[str, list[dict[str, str]]]]:
    with zipfile.ZipFile(path) as archive:
        data = json.loads(archive.read("data.json"))
        tables = {
            name: list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8"))))
            for name in archive.namelist()
            if name.startswith("csv/personvern/")
        }
    return data, tables


def assert_none_of_ola(text: str, ola: dict[str, str]) -> None:
    assert OLA not in text
    for request_id in ola.values():
        assert request_id not in text


def test_her_suppression_entry_and_earlier_requests_are_in_every_format(
    runtime: Runtime, tmp_path: Path
) -> None:
    ola = ola_everywhere(runtime)
    # Kari objected to direct marketing last autumn (a request, which put her on the list,
    # and Mailchimp was told); an earlier erasure request was refused. She typed her address
    # in capitals then: the keyed hash normalises it, as the request store does.
    objection = past_request(
        runtime,
        KARI.upper(),
        kind="object",
        status="completed",
        received=OBJECTED - timedelta(days=2),
        closed=OBJECTED,
    )
    refused = past_request(
        runtime,
        KARI,
        kind="erase",
        status="refused",
        received=REFUSED - timedelta(days=3),
        closed=REFUSED,
    )
    suppressed(runtime, KARI, source="request", at=OBJECTED, synced=True)
    current = kari_access(runtime)

    paths = by_suffix(write_report(runtime, current, tmp_path))
    html = paths[".html"].read_text()
    own = html.split('<h2 id="own">')[1].split("</section>")[0]
    assert own.startswith("What personvern itself keeps about you")
    assert "Nothing besides this request" not in own
    # The suppression list entry: address, since when, how, whether Mailchimp has it, why.
    assert f"<td>{KARI}</td>" in own
    assert "3 October 2025" in own
    assert "Your objection to direct marketing (a request to us)" in own
    assert "Yes: Mailchimp has your address as unsubscribed" in own
    assert "Article 21(3)" in own
    assert "markedsføringsloven § 15" in own
    # Her requests, oldest first, this one marked; completed and refused on their dates.
    rows = own.split("All your requests, and how we handled them")[1]
    assert rows.index(refused) < rows.index(objection) < rows.index(current)
    assert "Erasure</td>" in rows
    assert "20 June 2025" in rows  # refused
    assert "Objection to direct marketing</td>" in rows
    assert "Access to your data (this request)" in rows
    assert "Refused</td>" in rows
    assert "Article 5(2)" in own
    # Consents: not findable by address; where to see them.
    assert f"at {runtime.settings.base_url}/privacy/consent on each device" in own
    assert "cannot find them by your address" in own
    assert_none_of_ola(html, ola)

    data, tables = read_zip(paths[".zip"])
    kept = data["personvern"]
    assert kept["suppression"]["address"] == KARI
    assert kept["suppression"]["source"] == "request"
    assert kept["suppression"]["since"] == OBJECTED.isoformat()
    assert kept["suppression"]["pushed_to_mailchimp"] is True
    assert "Article 21(3)" in kept["suppression"]["ground"]
    assert "Article 5(2)" in kept["requests"]["ground"]
    assert [(r["id"], r["kind"], r["status"]) for r in kept["requests"]["items"]] == [
        (refused, "erase", "refused"),
        (objection, "object", "completed"),
        (current, "access", "completed"),
    ]
    assert kept["requests"]["items"][0]["refused_at"] == REFUSED.isoformat()
    assert kept["requests"]["items"][0]["completed_at"] is None
    assert [r["this_request"] for r in kept["requests"]["items"]] == [False, False, True]
    assert kept["consent"]["linked_to_address"] is False
    assert kept["consent"]["where"].endswith("/privacy/consent")
    assert sorted(tables) == ["csv/personvern/requests.csv", "csv/personvern/suppression_list.csv"]
    assert [r["id"] for r in tables["csv/personvern/requests.csv"]] == [refused, objection, current]
    assert tables["csv/personvern/requests.csv"][1]["completed_at"] == OBJECTED.isoformat()
    assert tables["csv/personvern/suppression_list.csv"] == [
        {
            "address": KARI,
            "lists": "*",
            "since": OBJECTED.isoformat(),
            "source": "request",
            "mailchimp_status": "synced",
            "pushed_at": OBJECTED.isoformat(),
        }
    ]
    assert_none_of_ola(json.dumps(data), ola)
    assert_none_of_ola(json.dumps(tables), ola)

    text = pdf_text(paths[".pdf"])
    assert "What personvern itself keeps about you" in text
    assert_none_of_ola(text, ola)


def test_with_neither_the_section_says_nothing_is_kept_but_this_request(
    runtime: Runtime, tmp_path: Path
) -> None:
    ola = ola_everywhere(runtime)
    current = kari_access(runtime)
    # After her request was answered she unsubscribed and asked again: not part of this
    # report (it is as of its completion), so writing it again gives the same report.
    later = COMPLETED + timedelta(days=5)
    suppressed(runtime, KARI, source="one_click", at=later, synced=False)
    past_request(runtime, KARI, kind="erase", status="completed", received=later, closed=later)

    paths = by_suffix(write_report(runtime, current, tmp_path))
    own = paths[".html"].read_text().split('<h2 id="own">')[1].split("</section>")[0]
    assert "Nothing besides this request" in own
    assert "Your address is not on this list." in own
    assert "Access to your data (this request)" in own
    assert own.count(current) == 1
    assert "Erasure" not in own
    assert_none_of_ola(own, ola)

    data, tables = read_zip(paths[".zip"])
    assert data["personvern"]["suppression"] is None
    assert [r["id"] for r in data["personvern"]["requests"]["items"]] == [current]
    assert sorted(tables) == ["csv/personvern/requests.csv"]
    assert_none_of_ola(json.dumps(data), ola)


def test_the_section_in_bokmal(runtime: Runtime, tmp_path: Path) -> None:
    suppressed(runtime, KARI, source="webhook", at=OBJECTED, synced=True)
    paths = by_suffix(write_report(runtime, kari_access(runtime, lang="nb"), tmp_path))
    html = paths[".html"].read_text()
    own = html.split('<h2 id="own">')[1].split("</section>")[0]
    assert own.startswith("Det personvern selv har lagret om deg")
    for text in (
        "3. oktober 2025",
        "Du meldte deg av i Mailchimp, som sa fra til oss",
        "Innsyn i opplysningene dine (denne forespørselen)",
        "markedsføringsloven § 15",
        "artikkel 5 nr. 2",
        "/privacy/consent",
    ):
        assert text in own, text
    data, _ = read_zip(paths[".zip"])
    assert "markedsføringsloven § 15" in data["personvern"]["suppression"]["ground"]
    with zipfile.ZipFile(paths[".zip"]) as archive:
        assert "personvern" in archive.read("README.txt").decode()


def test_an_entry_on_the_list_alone_is_data_we_process(runtime: Runtime, tmp_path: Path) -> None:
    # The shop's systems held nothing about her; the answer to "do you process data about
    # me?" still depends on what personvern keeps.
    nothing = [{"system": "woocommerce", "result": {"records": [], "notes": []}}]
    before = add_request(runtime, steps=nothing)
    html = by_suffix(write_report(runtime, before, tmp_path / "a"))[".html"].read_text()
    assert "found no personal data about you, apart from this request itself" in html
    assert "Yes: we process personal data about you" not in html
    suppressed(runtime, KARI, source="admin", at=OBJECTED, synced=False)
    html = by_suffix(write_report(runtime, before, tmp_path / "b"))[".html"].read_text()
    assert "Yes: we process personal data about you" in html
    assert "Added by us, for example after you asked us by e-mail" in html
    assert "Not yet: we tell Mailchimp shortly" in html


def test_own_records_match_by_keyed_address_only(runtime: Runtime) -> None:
    ola = ola_everywhere(runtime)
    mine = past_request(
        runtime, KARI, kind="access", status="expired", received=REFUSED, closed=None
    )
    kept = own_records(runtime, f"  {KARI.title()} ", current=mine)
    assert [r.id for r in kept.requests] == [mine]
    assert kept.requests[0].current
    assert kept.suppression is None
    assert not kept.beyond(mine)
    theirs = own_records(runtime, OLA)
    assert {r.id for r in theirs.requests} == set(ola.values())
    assert theirs.suppression is not None
    assert not theirs.suppression.pushed
    assert theirs.beyond(ola["object"])
    assert own_records(runtime, "not an address").requests == ()
