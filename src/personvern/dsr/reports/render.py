"""Writing a request's report: HTML and PDF in the person's language, and for access a ZIP.

One standalone HTML page per report (its stylesheet inline, no external resources, so it
reads the same offline, in a mail attachment and printed), the PDF printed from that same
page by WeasyPrint with real text (``personvern.notices.pdf``), and for an access request
the ZIP of JSON and CSV (:mod:`personvern.dsr.reports.archive`). Files are written readable
by their owner only (mode 0600) and atomically, so a reader never sees half a report.

The words are the gettext catalogs' (``dsr/reports/templates/reports/``); the person's language is
the request's (``DataRequest.lang``), as for every letter they get (GDPR Art. 12(1): in a
clear and plain language).
"""

from __future__ import annotations

import functools
import logging
import os
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final, cast

from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup

from personvern.dsr.own_records import own_records
from personvern.dsr.reports import access, archive, outcomes, own
from personvern.dsr.reports.gather import Answer, gather
from personvern.dsr.reports.processing import capfirst, processing_info
from personvern.dsr.status import RequestKind
from personvern.dsr.texts import KIND, article
from personvern.i18n import N_, Language, Translator, translator
from personvern.i18n.catalogs import DISPLAY_TIMEZONE
from personvern.i18n.jinja import environment
from personvern.i18n.terms import label
from personvern.notices.vocabulary import Words
from personvern.runtime import Runtime
from personvern.store.base import utcnow

log = logging.getLogger(__name__)

# Beside the code, not among the app's pages: a report is a standalone document, read
# offline and printed, so it carries its own <style> and is never served under the CSP.
TEMPLATES: Final = Path(__file__).resolve().parent / "templates"

# The title of each kind of report, as Datatilsynet's pages name them in bokmål.
TITLE: Final[Mapping[str, str]] = {
    "access": N_("Access to your personal data"),
    "erase": N_("Confirmation of erasure"),
    "rectify": N_("Confirmation of rectification"),
    "object": N_("Confirmation: direct marketing stopped"),
    "restrict": N_("Confirmation of restriction"),
}

# File names (without suffix): ASCII, in the person's language, the same for every request
# of a kind so that the download page can list them.
STEM: Final[Mapping[str, Mapping[str, str]]] = {
    "nb": {
        "access": "innsyn",
        "erase": "bekreftelse-sletting",
        "rectify": "bekreftelse-retting",
        "object": "bekreftelse-protest",
        "restrict": "bekreftelse-begrensning",
    },
    "en": {
        "access": "access-report",
        "erase": "erasure-confirmation",
        "rectify": "rectification-confirmation",
        "object": "objection-confirmation",
        "restrict": "restriction-confirmation",
    },
}
# A short confirmation needs no print copy; the others are proof the person may keep.
PDF_KINDS: Final = frozenset({"access", "erase", "rectify"})
SUFFIXES: Final = (".html", ".pdf", ".zip")


@dataclass(frozen=True)
class Report:
    """A report in memory: its file stem, HTML, and for access the ZIP."""

    kind: str
    stem: str
    html: str
    archive: bytes | None

    @property
    def wants_pdf(self) -> bool:
        return self.kind in PDF_KINDS


@functools.cache
def stylesheet() -> Markup:
    """The reports' CSS as a ``<style>`` element, for the standalone HTML and the PDF."""
    css = (TEMPLATES / "reports" / "report.css").read_text("utf-8")
    return Markup(f"<style>\n{css}</style>")  # noqa: S704  # our own file, not input


@functools.cache
def _environment(lang: Language) -> Environment:
    # One environment per language, as the web's pages have (personvern.i18n.jinja).
    env = environment(FileSystemLoader(TEMPLATES), translator(lang))
    env.filters["capfirst"] = capfirst
    return env


def _local_day(words: Words, moment: datetime | None) -> str:
    # A document to keep: dates written out in full, as the notices write them.
    return words.date(moment.astimezone(DISPLAY_TIMEZONE).date()) if moment else ""


def _identifiers(answer: Answer, tr: Translator) -> list[str]:
    found = [tr.gettext(N_("e-mail address %(value)s")) % {"value": answer.email}]
    if answer.phone:
        found.append(tr.gettext(N_("phone number %(value)s")) % {"value": answer.phone})
    if answer.name:
        found.append(tr.gettext(N_("name %(value)s")) % {"value": answer.name})
    return found


def _systems_of(answer: Answer) -> set[str]:
    return {o.system_key for o in answer.outcomes}


def render(runtime: Runtime, answer: Answer, *, now: datetime | None = None) -> Report:
    """The report of ``answer`` in its language (HTML, and the ZIP for access)."""
    now = now or utcnow()
    tr = translator(answer.lang)
    lang = tr.lang
    words = Words(lang)
    inventory = runtime.inventory()
    center_url = f"{runtime.settings.base_url.rstrip('/')}/privacy"
    kind = cast(RequestKind, answer.kind)
    context: dict[str, Any] = {
        "kind": kind,
        "title": tr.gettext(TITLE[kind]),
        "kind_label": label(tr, KIND, kind),
        "article": article(tr, kind),
        "reference": answer.id,
        "received": _local_day(words, answer.received_at),
        "completed": _local_day(words, answer.completed_at),
        "written": _local_day(words, now),
        "interim": not answer.completed,
        "join": words.join,
        "stylesheet": stylesheet(),
    }
    data: dict[str, Any] | None = None
    own_csvs: dict[str, str] = {}
    as_of = answer.completed_at or now
    if kind == "access":
        content = access.access_content(answer, inventory, tr)
        processing = processing_info(inventory, content.found, tr, center_url=center_url)
        # Art. 15(1) covers personvern's own store too: the suppression list, the requests.
        kept = own_records(runtime, answer.email, current=answer.id, as_of=as_of)
        context.update(
            content=content,
            identifiers=words.join(_identifiers(answer, tr)),
            own=own.own_content(kept, answer.id, tr, center_url=center_url),
        )
        data = archive.archive_data(
            answer,
            content,
            processing,
            inventory,
            words,
            as_of,
            own=own.own_data(kept, tr, center_url=center_url),
        )
        own_csvs = own.own_csv_files(kept)
        template = "reports/access.html"
    else:
        processing = processing_info(inventory, _systems_of(answer), tr, center_url=center_url)
        context.update(done=outcomes.done_content(answer, inventory, tr))
        template = "reports/outcome.html"
    context.update(processing=processing, controller=processing.controller)
    html = _environment(lang).get_template(template).render(context)
    zipped = None
    if data is not None:
        zipped = archive.build_zip(
            data,
            {**archive.csv_files(answer), **own_csvs},
            archive.readme(tr, processing.controller.name),
            as_of.astimezone(DISPLAY_TIMEZONE),
        )
    return Report(kind, STEM[lang][kind], html, zipped)


def write_file(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` with mode 0600, atomically (a temporary file renamed)."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.part")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def _pdf(html: str) -> bytes | None:
    from personvern.notices.pdf import PdfUnavailable, html_to_pdf

    try:
        return html_to_pdf(html)
    except PdfUnavailable as exc:
        # PDF is an optional extra (personvern[pdf]); the HTML says the same.
        log.warning("report written without PDF: %s", exc)
        return None


def build_report(
    runtime: Runtime, request_id: str, out_dir: Path, *, now: datetime | None = None
) -> list[Path]:
    """Write the report files of ``request_id`` into ``out_dir``; the paths written.

    No audit entry: :func:`write_report` and
    :func:`personvern.dsr.reports.delivery.deliver_report` write their own.
    """
    report = render(runtime, gather(runtime, request_id), now=now)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [write_file(out_dir / f"{report.stem}.html", report.html.encode("utf-8"))]
    if report.wants_pdf:
        pdf = _pdf(report.html)
        if pdf is not None:
            written.append(write_file(out_dir / f"{report.stem}.pdf", pdf))
    if report.archive is not None:
        written.append(write_file(out_dir / f"{report.stem}.zip", report.archive))
    return written


def formats(paths: Iterable[Path]) -> list[str]:
    return [p.suffix.lstrip(".") for p in paths]


def write_report(
    runtime: Runtime, request_id: str, out_dir: Path, *, actor: str = "cli"
) -> list[Path]:
    """Write the report of ``request_id`` (GDPR Art. 15, 17, 16/19, 18, 21) into ``out_dir``.

    Access: ``innsyn.html``/``.pdf`` and ``innsyn.zip`` (JSON and CSV, Art. 20), or the
    English names for an English request. Erasure, rectification: HTML and PDF; objection
    and restriction: HTML. Audited as ``request.report_written`` (formats only).
    Raises ``LookupError`` for an unknown request and ``ValueError`` for one with nothing to
    report.
    """
    written = build_report(runtime, request_id, out_dir)
    with runtime.audit.session() as db:
        from personvern.store.requests import DataRequest

        request = db.get_one(DataRequest, request_id)
        runtime.audit.append(
            db,
            actor=actor,
            action="request.report_written",
            subject=request.email,
            object_type="request",
            object_id=request.id,
            details={"kind": request.kind, "formats": formats(written)},
        )
    return written
