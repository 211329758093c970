"""Delivering a completed request's report to the person: files, an expiring link, an e-mail.

GDPR Art. 12(3) wants an electronic request answered electronically where possible, and
Art. 15(3) the copy "in a commonly used electronic form". An access report is the person's
whole record, so it is not attached to an e-mail (which may be forwarded, or read by a
mail provider) but kept on the server and fetched through a link:

- :func:`deliver_report` writes the report files into ``<data_dir>/reports/<request_id>/``
  (the folder mode 0700, the files 0600), issues a ``download`` token
  (:mod:`personvern.dsr.verification`: only its SHA-256 is stored; it expires after
  ``PERSONVERN_REQUEST_DOWNLOAD_DAYS``), and puts the e-mail with the link in the outbox, in
  one transaction with the audit entry ``request.report_created``;
- the download page (:mod:`personvern.dsr.reports.downloads`,
  ``personvern.web.center.downloads``) asks for the e-mail address again before it opens.

A request gets its report once: a second call sends nothing (so it is safe to call each
time a request is seen completed) unless ``force`` asks for a new link, which ends the old
ones.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from personvern.dsr import verification
from personvern.dsr.deadlines import effective_due_at
from personvern.dsr.letters import Sender
from personvern.dsr.reports.gather import ReportError
from personvern.dsr.reports.render import SUFFIXES, build_report, formats
from personvern.dsr.requests import RequestNotFound
from personvern.dsr.status import RequestKind
from personvern.dsr.texts import KIND, article
from personvern.i18n import N_, Translator, translator
from personvern.i18n.terms import label
from personvern.runtime import Runtime
from personvern.store.base import utcnow
from personvern.store.mail import OutboxMessage
from personvern.store.requests import DataRequest, RequestToken

log = logging.getLogger(__name__)

PURPOSE = "report"  # the outbox purpose of the e-mail with the link
SYSTEM = "system"

SUBJECT = {
    "access": N_("Your copy of your personal data is ready"),
    "erase": N_("Confirmation of erasure"),
    "rectify": N_("Confirmation of rectification"),
    "object": N_("Confirmation: direct marketing stopped"),
    "restrict": N_("Confirmation of restriction"),
}

WHAT = {
    "access": N_(
        "Your copy is ready: the data we hold about you, what we use it for, who receives it "
        "and how long we keep it, as a report (HTML and PDF) and as machine-readable files "
        "(JSON and CSV)."
    ),
    "erase": N_(
        "The confirmation says what we erased in each system, and what the law requires us "
        "to keep, why, and until when."
    ),
    "rectify": N_("The confirmation says what we corrected in each system, and whom we told."),
    "object": N_("The confirmation says where the marketing has stopped."),
    "restrict": N_("The confirmation says where the processing is now restricted."),
}


@dataclass(frozen=True)
class Delivered:
    """A report made available: its files, the link e-mailed, and when the link expires."""

    request_id: str
    files: tuple[Path, ...]
    url: str
    expires_at: datetime


def reports_root(runtime: Runtime) -> Path:
    return Path(runtime.settings.data_dir) / "reports"


def report_dir(runtime: Runtime, request_id: str) -> Path:
    # The id is a UUID made by personvern; refuse anything else rather than build a path.
    if not request_id or not all(c.isalnum() or c == "-" for c in request_id):
        raise RequestNotFound(request_id)
    return reports_root(runtime) / request_id


def download_url(runtime: Runtime, value: str) -> str:
    return f"{runtime.settings.base_url.rstrip('/')}/privacy/download/{value}"


def _private_dir(path: Path) -> None:
    """Make ``path`` (and the reports root) a folder only the owner can enter."""
    for folder in (path.parent, path):
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        # mkdir's mode is reduced by the umask, and not applied to a folder that exists.
        os.chmod(folder, 0o700)


def _clear(path: Path) -> None:
    """Remove the files of an earlier delivery, so the page lists only this one's."""
    for child in path.iterdir():
        if child.is_file() and child.suffix in SUFFIXES:
            child.unlink()


def _sent(db: Session, request_id: str) -> bool:
    found = db.scalar(
        select(OutboxMessage.id).where(
            OutboxMessage.request_id == request_id, OutboxMessage.purpose == PURPOSE
        )
    )
    return found is not None


def _greeting(tr: Translator, name: str | None) -> str:
    if name:
        return tr.gettext(N_("Hello %(name)s,")) % {"name": name}
    return tr.gettext(N_("Hello,"))


def letter(request: DataRequest, sender: Sender, url: str, days: int) -> tuple[str, str]:
    """The e-mail with the link: (subject, text), in the request's language."""
    tr = translator(request.lang)
    kind = cast(RequestKind, request.kind)
    parts = [
        _greeting(tr, request.name),
        tr.gettext(N_("We have completed your request: %(kind)s (GDPR Article %(article)s)."))
        % {"kind": label(tr, KIND, kind), "article": article(tr, kind)},
        tr.gettext(WHAT[kind]),
        tr.gettext(
            N_(
                "Download it here. The link works for %(days)d days. Before the files open, "
                "we ask you to type your e-mail address again, so that only you can open them:"
            )
        )
        % {"days": days}
        + "\n"
        + url,
        tr.gettext(
            N_(
                "Once you have typed the address, the link opens the files for an hour. If it "
                "has expired, answer this e-mail and we will send you a new one."
            )
        ),
    ]
    if sender.contact:
        parts.append(
            tr.gettext(N_("Questions? Answer this e-mail or write to %(contact)s."))
            % {"contact": sender.contact}
        )
    parts.append(
        tr.gettext(N_("Best regards,\n%(controller)s")) % {"controller": sender.controller}
    )
    return tr.gettext(SUBJECT[kind]), "\n\n".join(parts) + "\n"


def deliver_report(
    runtime: Runtime,
    request_id: str,
    *,
    actor: str = SYSTEM,
    force: bool = False,
    now: datetime | None = None,
) -> Delivered | None:
    """Make a completed request's report available by link and e-mail the person.

    Returns ``None`` when the report was delivered before (unless ``force``: then a new
    link is sent and the earlier ones stop working). Raises
    :class:`~personvern.dsr.requests.RequestNotFound` for an unknown id and
    :class:`~personvern.dsr.reports.gather.ReportError` for a request not completed.
    """
    now = now or utcnow()
    with runtime.sessions() as db:
        request = db.get(DataRequest, request_id)
        if request is None:
            raise RequestNotFound(request_id)
        if request.status != "completed":
            raise ReportError(
                f"request {request_id} is {request.status}; its report is sent once it is "
                "completed (`personvern request report` writes an interim one)"
            )
        if not force and _sent(db, request_id):
            return None
    folder = report_dir(runtime, request_id)
    _private_dir(folder)
    _clear(folder)
    files = build_report(runtime, request_id, folder, now=now)
    days = runtime.settings.request_download_days
    sender = Sender.of(runtime)
    with runtime.audit.session() as db:
        request = db.get_one(DataRequest, request_id, with_for_update=True)
        if not force and _sent(db, request_id):
            return None  # another process delivered it meanwhile, with the same files
        if force:
            verification.void(db, request_id, "download", now)
        value = verification.issue(
            db,
            runtime.secret,
            request_id=request_id,
            purpose="download",
            lifetime=timedelta(days=days),
            now=now,
        )
        url = download_url(runtime, value)
        subject, text = letter(request, sender, url, days)
        from personvern.mail.outbox import queue

        queue(
            db,
            to=request.email,
            subject=subject,
            text=text,
            lang=request.lang,
            purpose=PURPOSE,
            request_id=request.id,
        )
        runtime.audit.append(
            db,
            actor=actor,
            action="request.report_created",
            subject=request.email,
            object_type="request",
            object_id=request.id,
            details={
                "kind": request.kind,
                "formats": formats(files),
                "link_days": days,
                "resent": force,
                # Answered after the deadline (Art. 12(3))? The proof an audit looks for.
                "late": (request.completed_at or now)
                > effective_due_at(request.due_at, request.extended_due_at),
            },
        )
    log.info("request %s: report delivered (%s)", request_id, ", ".join(formats(files)))
    return Delivered(request_id, tuple(files), url, now + timedelta(days=days))


def deliver_quietly(runtime: Runtime, request_id: str) -> bool:
    """:func:`deliver_report` where the caller must not fail because of it; True if sent.

    For the completion hook: the request is completed and the person told whatever happens
    here. Only the exception's type is logged, since its message may quote data; the admin
    can deliver again (``force``) once the cause is fixed.
    """
    try:
        return deliver_report(runtime, request_id) is not None
    except Exception as exc:
        log.error("request %s: the report was not delivered (%s)", request_id, type(exc).__name__)
        return False


def purge_reports(runtime: Runtime, now: datetime | None = None) -> int:
    """Remove report folders whose download links have all ended; returns how many.

    A delivered report is a copy of personal data kept only for the person to fetch
    (GDPR Art. 5(1)(e)); the step results it was made from stay with the request, so a new
    link (``deliver_report(..., force=True)``) makes it again. Run it periodically.
    """
    now = now or utcnow()
    root = reports_root(runtime)
    if not root.is_dir():
        return 0
    removed = 0
    with runtime.sessions() as db:
        for folder in sorted(root.iterdir()):
            if not folder.is_dir():
                continue
            tokens = db.scalars(
                select(RequestToken).where(
                    RequestToken.request_id == folder.name, RequestToken.purpose == "download"
                )
            )
            # A download session ends with its link (downloads.session_end), so a folder
            # whose links have all expired is no longer reachable.
            if any(token.expires_at > now for token in tokens):
                continue
            shutil.rmtree(folder)
            removed += 1
    return removed
