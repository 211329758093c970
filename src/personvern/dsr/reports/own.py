"""The part of an access report about personvern itself: what it keeps about the person.

GDPR Art. 15(1) covers all personal data the controller processes about the person, and
personvern's own store holds some (:mod:`personvern.dsr.own_records`): the suppression
list entry for the address, kept to honour an objection to direct marketing (Art. 21(3),
markedsføringsloven § 15), and the person's requests, kept as proof that each was handled
(Art. 5(2)). Consent records are kept under a random id from the browser's cookie, not by
address, so the report says where to see them instead (``/privacy/consent``).

The section "Det personvern selv har lagret om deg" / "What personvern itself keeps about
you" is built here for the HTML and PDF (:func:`own_content`), and the same data for the
ZIP (:func:`own_data`, :func:`own_csv_files`), each item with its legal ground.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from personvern.dsr.own_records import OwnRecords, RequestEntry, SuppressionEntry
from personvern.dsr.reports.access import Column, Table
from personvern.dsr.texts import KIND, PUBLIC_STATUS
from personvern.i18n import N_, Translator
from personvern.i18n.catalogs import DISPLAY_TIMEZONE
from personvern.i18n.terms import label
from personvern.notices.vocabulary import Words

# The folder of personvern's own files in the ZIP, beside one per connector's system.
CSV_FOLDER: Final = "csv/personvern"

# How an address got onto the suppression list (personvern.store.suppressions.SOURCES).
SOURCE: Final[Mapping[str, str]] = {
    "one_click": N_("You used the unsubscribe link in one of our e-mails"),
    "webhook": N_("You unsubscribed in Mailchimp, which told us"),
    "request": N_("Your objection to direct marketing (a request to us)"),
    "admin": N_("Added by us, for example after you asked us by e-mail"),
}

# Whether the entry has reached Mailchimp (``Suppression.sync_status``).
PUSHED: Final[Mapping[str, str]] = {
    "synced": N_("Yes: Mailchimp has your address as unsubscribed"),
    "pending": N_("Not yet: we tell Mailchimp shortly"),
    "failed": N_("Not yet: Mailchimp refused it, and we are following it up"),
}

# The legal ground of each item, in the section and in data.json.
SUPPRESSION_GROUND: Final = N_(
    "You have said no to direct marketing, and we must respect that from then on (GDPR "
    "Article 21(3) and the Marketing Control Act, markedsføringsloven § 15). To do that we "
    "keep your e-mail address, and nothing else about you, on our list of addresses that get "
    "no marketing, and tell our newsletter service (Mailchimp). We keep it for as long as we "
    "send marketing by e-mail, so that you never get it again."
)
REQUESTS_GROUND: Final = N_(
    "We keep your requests to us, and how we handled them, to be able to show that we "
    "answered them as the law requires (GDPR Article 5(2) and Articles 12 to 22). How long "
    "we keep them is under “How we use your data”."
)
CONSENT_NOTE: Final = N_(
    "Your choices in our cookie banner are kept under a random consent id stored in a "
    "cookie in your browser, not under your name or e-mail address, so we cannot find them "
    "by your address (GDPR Article 5(1)(c)). You can see them, and change them, at %(url)s on "
    "each device and browser you have used."
)


@dataclass(frozen=True)
class OwnContent:
    """The section as the template shows it: tables of text, and the consent page's URL."""

    suppression: Table | None
    requests: Table
    nothing_else: bool  # nothing is kept besides the request this report answers
    suppression_ground: str
    requests_ground: str
    consent_note: str  # where to see the consents, which cannot be found by address


def _day(words: Words, moment: datetime | None) -> str:
    return words.date(moment.astimezone(DISPLAY_TIMEZONE).date()) if moment else ""


def _suppression_table(entry: SuppressionEntry, words: Words, tr: Translator) -> Table:
    fields = [
        (tr.gettext(N_("E-mail address")), entry.address),
        (tr.gettext(N_("On the list since")), _day(words, entry.since)),
        (tr.gettext(N_("How it got there")), label(tr, SOURCE, entry.source)),
        (tr.gettext(N_("Told to Mailchimp")), label(tr, PUSHED, entry.sync_status)),
    ]
    # Column names are words already, as in the request's own table.
    columns = tuple(Column(name, "") for name, _ in fields)
    caption = tr.gettext(N_("Your address on the list"))
    return Table(caption, columns, (tuple(value for _, value in fields),))


def _request_row(entry: RequestEntry, words: Words, tr: Translator) -> tuple[str, ...]:
    kind = label(tr, KIND, entry.kind)
    if entry.current:
        kind = tr.gettext(N_("%(kind)s (this request)")) % {"kind": kind}
    return (
        entry.id,
        kind,
        _day(words, entry.received_at),
        label(tr, PUBLIC_STATUS, entry.status),
        _day(words, entry.completed),
        _day(words, entry.refused),
    )


def _requests_table(records: OwnRecords, words: Words, tr: Translator) -> Table:
    names = (
        N_("Reference"),
        N_("Request"),
        N_("Received"),
        N_("Status"),
        N_("Completed"),
        N_("Refused"),
    )
    columns = tuple(Column(tr.gettext(name), "") for name in names)
    rows = tuple(_request_row(r, words, tr) for r in records.requests)
    return Table(tr.gettext(N_("All your requests, and how we handled them")), columns, rows)


def own_content(
    records: OwnRecords, request_id: str, tr: Translator, *, center_url: str
) -> OwnContent:
    """The section of the HTML/PDF report for ``records``, answering ``request_id``."""
    words = Words("en" if tr.lang == "en" else "nb")
    return OwnContent(
        suppression=(
            None
            if records.suppression is None
            else _suppression_table(records.suppression, words, tr)
        ),
        requests=_requests_table(records, words, tr),
        nothing_else=not records.beyond(request_id),
        suppression_ground=tr.gettext(SUPPRESSION_GROUND),
        requests_ground=tr.gettext(REQUESTS_GROUND),
        consent_note=tr.gettext(CONSENT_NOTE) % {"url": consent_url(center_url)},
    )


def consent_url(center_url: str) -> str:
    """The privacy center's page of the visitor's own consents (``GET /privacy/consent``)."""
    return f"{center_url.rstrip('/')}/consent"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def own_data(records: OwnRecords, tr: Translator, *, center_url: str) -> dict[str, Any]:
    """The same for ``data.json`` (key ``personvern``): stored values, with the grounds."""
    entry = records.suppression
    suppression = None
    if entry is not None:
        suppression = {
            "address": entry.address,
            "lists": entry.list_key,
            "since": _iso(entry.since),
            "source": entry.source,
            "source_text": label(tr, SOURCE, entry.source),
            "pushed_to_mailchimp": entry.pushed,
            "mailchimp_status": entry.sync_status,
            "pushed_at": _iso(entry.synced_at),
            "ground": tr.gettext(SUPPRESSION_GROUND),
        }
    return {
        "suppression": suppression,
        "requests": {
            "ground": tr.gettext(REQUESTS_GROUND),
            "items": [
                {
                    "id": r.id,
                    "kind": r.kind,
                    "status": r.status,
                    "received_at": _iso(r.received_at),
                    "completed_at": _iso(r.completed),
                    "refused_at": _iso(r.refused),
                    "this_request": r.current,
                }
                for r in records.requests
            ],
        },
        "consent": {
            "linked_to_address": False,
            "where": consent_url(center_url),
            "note": tr.gettext(CONSENT_NOTE) % {"url": consent_url(center_url)},
        },
    }


def _csv(header: list[str], rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180 line ends
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def own_csv_files(records: OwnRecords) -> dict[str, str]:
    """``csv/personvern/requests.csv`` and, when on the list, ``suppression_list.csv``.

    Field names and codes as stored (as for every system's CSV); the words are in the
    report and in ``data.json``.
    """
    files = {
        f"{CSV_FOLDER}/requests.csv": _csv(
            ["id", "kind", "status", "received_at", "completed_at", "refused_at"],
            [
                [
                    r.id,
                    r.kind,
                    r.status,
                    _iso(r.received_at) or "",
                    _iso(r.completed) or "",
                    _iso(r.refused) or "",
                ]
                for r in records.requests
            ],
        )
    }
    entry = records.suppression
    if entry is not None:
        files[f"{CSV_FOLDER}/suppression_list.csv"] = _csv(
            ["address", "lists", "since", "source", "mailchimp_status", "pushed_at"],
            [
                [
                    entry.address,
                    entry.list_key,
                    _iso(entry.since) or "",
                    entry.source,
                    entry.sync_status,
                    _iso(entry.synced_at) or "",
                ]
            ],
        )
    return files
