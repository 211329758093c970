"""The machine-readable half of an access report: a ZIP of JSON and CSV (GDPR Art. 20).

Art. 20(1) gives the person the data they provided "in a structured, commonly used and
machine-readable format", and Art. 15(3) lets an electronic request be answered "in a
commonly used electronic form". The archive serves both:

- ``data.json`` — everything in the report, structured: the request, each system with its
  records (fields as stored, and each field's fideslang data category), and the Art. 15
  information; categories are the fideslang keys, so another controller's tools can read
  them, with their words in ``category_names``;
- ``csv/SYSTEM/COLLECTION.csv`` — one file per system and collection, a header row of field
  names and a row per record (RFC 4180, UTF-8), for a spreadsheet;
- what personvern keeps itself (:mod:`personvern.dsr.reports.own`): ``data.json``'s
  ``personvern`` (the suppression list entry, the requests, where consents are) and
  ``csv/personvern/requests.csv`` and ``suppression_list.csv``;
- ``README.txt`` — what the files are, in the person's language.

The archive is the same bytes for the same request: entries are written in a fixed order
with the request's completion time as their date.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from dataclasses import asdict
from datetime import datetime
from typing import Any

from personvern.dsr.reports.access import AccessContent, system_name
from personvern.dsr.reports.gather import Answer
from personvern.dsr.reports.processing import Processing
from personvern.i18n import N_, Translator
from personvern.inventory.schema import Inventory
from personvern.notices.vocabulary import Words

FORMAT = "personvern.access-report"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def _name(value: str) -> str:
    """A collection name as a file name: no separators, no dot files."""
    return _UNSAFE.sub("_", value).strip("._") or "records"


def csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def archive_data(
    answer: Answer,
    content: AccessContent,
    processing: Processing,
    inventory: Inventory,
    words: Words,
    as_of: datetime,
    *,
    own: dict[str, Any],
) -> dict[str, Any]:
    """Everything in the report, as JSON-able data (``data.json``).

    ``as_of`` is when the request was completed (or now, for an interim report), so the
    same request always gives the same data. ``own`` is what personvern keeps itself
    (:func:`personvern.dsr.reports.own.own_data`).
    """
    systems = []
    categories: set[str] = set()
    for outcome in answer.outcomes:
        if outcome.action != "access":
            continue
        if outcome.manual:
            state = "checked_by_hand" if outcome.done else "in_progress"
        elif not outcome.done:
            state = "in_progress"
        else:
            state = "found" if outcome.records else "nothing_found"
        records = []
        for record in outcome.records:
            categories.update(record.categories.values())
            records.append(
                {
                    "collection": record.collection,
                    "key": record.key,
                    "fields": dict(record.fields),
                    "categories": dict(record.categories),
                }
            )
        entry: dict[str, Any] = {
            "system": outcome.system_key,
            "name": system_name(inventory, outcome.system_key),
            "state": state,
            "records": records,
        }
        if outcome.manual and outcome.note:
            entry["note"] = outcome.note
        systems.append(entry)
    return {
        "format": FORMAT,
        "version": 1,
        "as_of": as_of.isoformat(),
        "language": words.lang,
        "controller": asdict(processing.controller),
        "request": {
            "id": answer.id,
            "kind": answer.kind,
            "status": answer.status,
            "received_at": _iso(answer.received_at),
            "completed_at": _iso(answer.completed_at),
        },
        "subject": {"email": answer.email, "name": answer.name, "phone": answer.phone},
        "systems": systems,
        "personvern": own,
        "category_names": {key: words.data_category(key) for key in sorted(categories)},
        "processing": {
            "purposes": [asdict(p) for p in processing.purposes],
            "recipients": [asdict(r) for r in processing.recipients],
            "transfers": [asdict(t) for t in processing.transfers],
        },
        "others_left_out": True,  # GDPR Art. 15(4): only records found by the person's ids
    }


def csv_files(answer: Answer) -> dict[str, str]:
    """``csv/SYSTEM/COLLECTION.csv`` → its text, for every collection with records."""
    files: dict[str, str] = {}
    for outcome in answer.outcomes:
        if outcome.action != "access" or not outcome.records:
            continue
        grouped: dict[str, list[dict[str, Any]]] = {}
        for record in outcome.records:
            grouped.setdefault(record.collection, []).append(dict(record.fields))
        for collection, rows in grouped.items():
            header: list[str] = []
            for row in rows:
                header.extend(name for name in row if name not in header)
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180 line ends
            writer.writerow(header)
            for row in rows:
                writer.writerow([csv_value(row.get(name)) for name in header])
            path = f"csv/{_name(outcome.system_key)}/{_name(collection)}.csv"
            files[path] = buffer.getvalue()
    return files


def readme(tr: Translator, controller: str) -> str:
    lines = [
        tr.gettext(N_("Your personal data from %(controller)s, machine-readable"))
        % {"controller": controller},
        "",
        tr.gettext(
            N_(
                "data.json holds everything in the access report, structured: the request, "
                "each system with the records about you (every field as stored, with its "
                "data category), what personvern, our privacy system, keeps about you itself, "
                "and how we process the data."
            )
        ),
        tr.gettext(
            N_(
                "The csv folder holds one file per system and table, with a header row of "
                "field names and one row per record. The files are UTF-8, comma-separated."
            )
        ),
        tr.gettext(
            N_(
                "You may give these files to another service (GDPR Article 20: the right to "
                "data portability)."
            )
        ),
    ]
    return "\n".join(lines) + "\n"


def build_zip(
    data: dict[str, Any], csvs: dict[str, str], readme_text: str, when: datetime
) -> bytes:
    """The ZIP archive: ``README.txt``, ``data.json`` and the CSV files, in that order."""
    stamp = (when.year, when.month, when.day, when.hour, when.minute, when.second)
    buffer = io.BytesIO()
    entries = [
        ("README.txt", readme_text),
        ("data.json", json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n"),
        *sorted(csvs.items()),
    ]
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, text in entries:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16  # unpacked readable by the owner only
            archive.writestr(info, text.encode("utf-8"))
    return buffer.getvalue()
