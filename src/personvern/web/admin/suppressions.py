"""The admin's suppression list (``/admin/suppressions``): who gets no marketing e-mail.

- ``GET /admin/suppressions``: the list, newest first, ``PAGE_SIZE`` to a page (``?page=``),
  searchable by (part of) an address with ``?email=`` — the parameter the access log
  blanks (:mod:`personvern.web.access_log`), so a search never leaves an address in the
  log — and filtered by the state of the push to Mailchimp (``?status=``). Counts by state
  at the top. Any signed-in user.
- ``POST /admin/suppressions``: an admin adds an address (source ``admin``); a bad address
  changes nothing and the form says how to write it.
- ``GET``/``POST /admin/suppressions/{entry_id}/remove``: an admin takes an entry off the
  list after a confirmation page that says what it means — personvern may send marketing
  e-mail to the address again — and asks why; the reason goes to the audit log with any
  address in it blanked (the log names people only by keyed hash).
- ``POST /admin/suppressions/sync``: an admin pushes the pending addresses to Mailchimp
  now, optionally making the failed ones pending first (after fixing the cause), and sees
  what happened. The push runs once, in a worker thread with its own event loop, as
  ``personvern suppression sync`` does.

Why the list keeps the address at all, and how the push works: :mod:`personvern.suppression`
(GDPR Art. 21(2)–(3), markedsføringsloven § 15). Removing an entry does not tell Mailchimp:
a member who unsubscribed there comes back only by signing up again there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends
from sqlalchemy import Select, func, select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from personvern.i18n import N_, Translator
from personvern.i18n.terms import label
from personvern.inventory.loader import InventoryError
from personvern.runtime import Runtime
from personvern.store.suppressions import SYNC_STATUSES, Suppression
from personvern.suppression.entries import suppress, unsuppress_entry
from personvern.suppression.sync import CONNECTOR_TYPE, SyncReport, retry_failed, scrub, sync_due
from personvern.web.admin.sessions import SignedIn, require_admin, require_user
from personvern.web.pages import request_translator
from personvern.web.state import WebState, web_state

PAGE_SIZE = 50
PATH = "/admin/suppressions"
# One press of "sync now" pushes at most this many; the background push does the rest.
SYNC_LIMIT = 500
REASON_MAX = 1000

SOURCE: Mapping[str, str] = {
    "one_click": N_("One-click link"),
    "webhook": N_("Mailchimp webhook"),
    "request": N_("Objection request"),
    "admin": N_("Added by an admin"),
}
SYNC_STATE: Mapping[str, str] = {
    "pending": N_("Pending"),
    "synced": N_("Synced"),
    "failed": N_("Failed"),
}
DONE: Mapping[str, str] = {
    "added": N_("The address is on the list. It is pushed to Mailchimp within seconds."),
    "already": N_("The address was already on the list, so nothing was changed."),
    "removed": N_(
        "The address is off the list: personvern may send it marketing e-mail again. "
        "Mailchimp was not told; someone who unsubscribed there must sign up again there."
    ),
    "gone": N_("That entry is no longer on the list, so nothing was changed."),
}
BAD_ADDRESS = N_(
    "That is not a valid e-mail address, so nothing was added. Write it as name@example.no."
)
NO_REASON = N_(
    "Write why the address is taken off the list; the reason goes to the audit log. "
    "Nothing was changed."
)
NO_MAILCHIMP = N_(
    "No system in the inventory has a Mailchimp connector, so there is nothing to push to. "
    "The list is still honoured by personvern. To tell Mailchimp too, add "
    "“connector: {type: mailchimp}” to the Mailchimp system in privacy.yaml."
)
NOT_FOUND = N_("There is no such entry on the suppression list. It may have been removed.")


@dataclass(frozen=True)
class Filters:
    """What the list shows: ``email`` (part of an address), ``status`` and ``page``."""

    email: str = ""
    status: str | None = None
    page: int = 1

    @classmethod
    def of(cls, request: Request) -> Filters:
        params = request.query_params
        status = params.get("status") or None
        try:
            page = max(1, int(params.get("page") or 1))
        except ValueError:
            page = 1
        return cls(
            email=(params.get("email") or "").strip().lower()[:320],
            status=status if status in SYNC_STATUSES else None,
            page=page,
        )

    def href(self, **changes: Any) -> str:
        """The list's URL with these filters, changed by ``changes``; the address only ever
        as ``email=``, which the access log blanks."""
        values = {"email": self.email, "status": self.status or "", "page": self.page}
        values.update(changes)
        query = {k: str(v) for k, v in values.items() if v and not (k == "page" and v == 1)}
        return f"{PATH}?{urlencode(query)}" if query else PATH


def _filtered(query: Select[Any], filters: Filters) -> Select[Any]:
    if filters.status is not None:
        query = query.where(Suppression.sync_status == filters.status)
    if filters.email:
        # Addresses are kept in lower case (entries.normalise_address); % and _ are literal.
        query = query.where(Suppression.address.contains(filters.email, autoescape=True))
    return query


def _load(runtime: Runtime, filters: Filters) -> tuple[list[Suppression], int, int, dict[str, int]]:
    """The page's rows, the number matching, the page shown, and the counts by state."""
    with runtime.sessions() as session:
        counts = dict.fromkeys(SYNC_STATUSES, 0)
        for status, number in session.execute(
            select(Suppression.sync_status, func.count()).group_by(Suppression.sync_status)
        ):
            counts[status] = int(number)
        matching = int(
            session.scalar(_filtered(select(func.count()).select_from(Suppression), filters)) or 0
        )
        last = max(1, -(-matching // PAGE_SIZE))
        page = min(filters.page, last)
        rows = session.scalars(
            _filtered(select(Suppression), filters)
            .order_by(Suppression.created_at.desc(), Suppression.id.desc())
            .offset((page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE)
        ).all()
        for row in rows:
            session.expunge(row)
    return list(rows), matching, page, counts


def _sync_view(tr: Translator, row: Suppression) -> str:
    when = tr.format_datetime
    if row.sync_status == "synced" and row.synced_at is not None:
        return tr.gettext("Synced %(when)s") % {"when": when(row.synced_at)}
    if row.sync_status == "failed":
        return tr.gettext("Failed: %(error)s") % {"error": row.sync_error or "?"}
    if row.sync_error and row.next_sync_at is not None:
        return tr.gettext("Pending: to be tried again %(when)s (last error: %(error)s)") % {
            "when": when(row.next_sync_at),
            "error": row.sync_error,
        }
    return label(tr, SYNC_STATE, row.sync_status)


def _row_view(tr: Translator, row: Suppression) -> dict[str, Any]:
    return {
        "id": row.id,
        "address": row.address,
        "since": tr.format_datetime(row.created_at),
        "source": label(tr, SOURCE, row.source),
        "list": row.list_key,
        "status": row.sync_status,
        "sync": _sync_view(tr, row),
    }


def mailchimp_systems(runtime: Runtime) -> list[str]:
    """The keys of the inventory's systems the list is pushed to (none without inventory)."""
    try:
        inventory = runtime.inventory()
    except (LookupError, InventoryError):
        return []
    return [s.key for s in inventory.systems if s.connector and s.connector.type == CONNECTOR_TYPE]


def _page(
    request: Request,
    state: WebState,
    user: SignedIn,
    *,
    address: str = "",
    error: str | None = None,
    sync_result: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    tr = request_translator(request)
    filters = Filters.of(request)
    rows, matching, page, counts = _load(state.runtime, filters)
    pages = max(1, -(-matching // PAGE_SIZE))
    done = request.query_params.get("done") or ""
    return state.pages.render(
        request,
        "admin/suppressions.html",
        {
            "user": user,
            "csrf_token": user.csrf_token,
            "confirm": None,
            "rows": [_row_view(tr, row) for row in rows],
            "matching": matching,
            "total": sum(counts.values()),
            "counts": [
                {
                    "status": status,
                    "name": label(tr, SYNC_STATE, status),
                    "count": counts[status],
                    "href": Filters(email=filters.email, status=status).href(),
                    "current": status == filters.status,
                }
                for status in SYNC_STATUSES
            ],
            "all_href": Filters(email=filters.email).href(),
            "clear_href": Filters(status=filters.status).href(),
            "filters": filters,
            "page": page,
            "pages": pages,
            "previous": filters.href(page=page - 1) if page > 1 else None,
            "next": filters.href(page=page + 1) if page < pages else None,
            "failed": counts["failed"],
            "mailchimp": mailchimp_systems(state.runtime),
            "done": tr.gettext(DONE[done]) if done in DONE else None,
            "error": error,
            "address": address,
            "sync_result": sync_result,
        },
        status_code=status_code,
    )


def suppressions_page(
    request: Request,
    user: Annotated[SignedIn, Depends(require_user)],
    state: Annotated[WebState, Depends(web_state)],
) -> Response:
    """``GET /admin/suppressions``: the list, its counts, and (admins) the forms."""
    return _page(request, state, user)


async def add_suppression(
    request: Request,
    user: Annotated[SignedIn, Depends(require_admin)],
    state: Annotated[WebState, Depends(web_state)],
) -> Response:
    """``POST /admin/suppressions``: put ``address`` on the list; back to the list."""
    form = await request.form()
    address = form.get("address")
    address = address.strip()[:320] if isinstance(address, str) else ""
    try:
        added = suppress(state.runtime, address, source="admin", actor=user.actor)
    except ValueError:
        tr = request_translator(request)
        return _page(
            request, state, user, address=address, error=tr.gettext(BAD_ADDRESS), status_code=400
        )
    return RedirectResponse(
        f"{PATH}?done={'added' if added.created else 'already'}", status_code=303
    )


def _entry(state: WebState, entry_id: int) -> Suppression:
    with state.runtime.sessions() as session:
        row = session.get(Suppression, entry_id)
        if row is None:
            raise HTTPException(404, detail=NOT_FOUND)
        session.expunge(row)
        return row


def _confirm(
    request: Request,
    state: WebState,
    user: SignedIn,
    row: Suppression,
    *,
    error: str | None = None,
    reason: str = "",
    status_code: int = 200,
) -> Response:
    tr = request_translator(request)
    return state.pages.render(
        request,
        "admin/suppressions.html",
        {
            "user": user,
            "csrf_token": user.csrf_token,
            "confirm": _row_view(tr, row),
            "error": error,
            "reason": reason,
            "reason_max": REASON_MAX,
        },
        status_code=status_code,
    )


def confirm_removal(
    request: Request,
    entry_id: int,
    user: Annotated[SignedIn, Depends(require_admin)],
    state: Annotated[WebState, Depends(web_state)],
) -> Response:
    """``GET /admin/suppressions/{entry_id}/remove``: what removing means; asks why."""
    return _confirm(request, state, user, _entry(state, entry_id))


async def remove_suppression(
    request: Request,
    entry_id: int,
    user: Annotated[SignedIn, Depends(require_admin)],
    state: Annotated[WebState, Depends(web_state)],
) -> Response:
    """``POST /admin/suppressions/{entry_id}/remove``: off the list, with ``reason``."""
    form = await request.form()
    reason = form.get("reason")
    reason = reason.strip()[:REASON_MAX] if isinstance(reason, str) else ""
    if not reason:
        row = _entry(state, entry_id)
        tr = request_translator(request)
        return _confirm(request, state, user, row, error=tr.gettext(NO_REASON), status_code=400)
    # The reason is free text for the audit log, which names people only by keyed hash.
    removed = unsuppress_entry(state.runtime, entry_id, actor=user.actor, reason=scrub(reason))
    return RedirectResponse(f"{PATH}?done={'removed' if removed else 'gone'}", status_code=303)


def _sync_once(runtime: Runtime, retry: bool) -> tuple[int, SyncReport]:
    # A thread of its own with its own event loop: building the connectors and the pushes
    # then never hold up the server's loop, however slow Mailchimp is.
    retried = retry_failed(runtime) if retry else 0
    return retried, asyncio.run(sync_due(runtime, limit=SYNC_LIMIT))


def _report_lines(tr: Translator, retried: int, report: SyncReport) -> list[str]:
    lines = []
    if retried:
        lines.append(
            tr.ngettext(
                "%(num)d failed address was made pending again.",
                "%(num)d failed addresses were made pending again.",
                retried,
            )
            % {"num": retried}
        )
    if not (report.synced or report.failed or report.retrying or report.pending):
        lines.append(tr.gettext("Nothing was waiting to be pushed to Mailchimp."))
    else:
        lines.append(
            tr.gettext(
                "Pushed to Mailchimp: %(synced)d. Failed: %(failed)d. To be tried again "
                "later: %(retrying)d. Still pending: %(pending)d."
            )
            % {
                "synced": report.synced,
                "failed": report.failed,
                "retrying": report.retrying,
                "pending": report.pending,
            }
        )
    if report.problem:
        # The connector's own words (English, for the admin), never with an address.
        lines.append(tr.gettext("Stopped: %(problem)s") % {"problem": scrub(report.problem)})
    return lines


async def sync_now(
    request: Request,
    user: Annotated[SignedIn, Depends(require_admin)],
    state: Annotated[WebState, Depends(web_state)],
) -> Response:
    """``POST /admin/suppressions/sync``: push now (``retry_failed=yes``: failed ones too)."""
    tr = request_translator(request)
    runtime = state.runtime
    if not mailchimp_systems(runtime):
        return _page(request, state, user, error=tr.gettext(NO_MAILCHIMP), status_code=409)
    retry = (await request.form()).get("retry_failed") == "yes"
    retried, report = await asyncio.to_thread(_sync_once, runtime, retry)
    runtime.audit.record(
        actor=user.actor,
        action="suppression.sync_requested",
        object_type="suppression_list",
        details={
            "retried": retried,
            "synced": report.synced,
            "failed": report.failed,
            "retrying": report.retrying,
        },
    )
    return _page(request, state, user, sync_result=_report_lines(tr, retried, report))


def suppression_pages() -> list[tuple[str, str, Callable[..., Any]]]:
    """The admin router's entries for this page (the router adds the CSRF guard)."""
    return [
        ("GET", "/suppressions", suppressions_page),
        ("POST", "/suppressions", add_suppression),
        ("POST", "/suppressions/sync", sync_now),
        ("GET", "/suppressions/{entry_id}/remove", confirm_removal),
        ("POST", "/suppressions/{entry_id}/remove", remove_suppression),
    ]
