"""Mailchimp's audience webhook: unsubscribes and cleaned addresses feed the suppression list.

Mailchimp "Sync audience data with webhooks"
(https://mailchimp.com/developer/marketing/guides/sync-audience-data-webhooks/, and the
List Webhooks reference https://mailchimp.com/developer/marketing/api/list-webhooks/):

- when a webhook is created, Mailchimp checks the URL with a ``GET`` and expects 200;
- each event is a ``POST`` with an ``application/x-www-form-urlencoded`` body: ``type``
  (``subscribe``, ``unsubscribe``, ``profile``, ``upemail``, ``cleaned``, ``campaign``),
  ``fired_at`` (``YYYY-MM-DD HH:MM:SS``, UTC) and ``data[...]`` fields — for us
  ``data[email]`` and ``data[list_id]``; ``unsubscribe`` also has ``data[action]``
  (``unsub``, or ``delete`` when the member was deleted) and ``data[reason]``; ``cleaned``
  has ``data[reason]`` (``hard`` bounce or ``abuse`` complaint);
- Mailchimp signs nothing: the URL itself is the secret (``PERSONVERN_MAILCHIMP_WEBHOOK_
  SECRET`` in its path), compared in constant time by the route.

What each event does here:

- ``unsubscribe`` with ``action=unsub``: the person left a Mailchimp audience — their
  objection to marketing e-mail, honoured everywhere: added with source ``webhook``, already
  synced (Mailchimp has it);
- ``cleaned``: the address bounced hard or the person reported the mail as spam; either way
  no more marketing goes to it: added the same way;
- ``unsubscribe`` with ``action=delete``: the member was *deleted*, e.g. by personvern's own
  erasure (``delete-permanent``); keeping the address then would undo the erasure, so it is
  not added;
- ``subscribe``, ``profile``, ``upemail``, ``campaign``: acknowledged, nothing changes. A
  new sign-up does not lift a suppression by itself; an admin does that
  (``personvern suppression remove``), once the person asked for the newsletter again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from personvern.runtime import Runtime
from personvern.store.suppressions import ALL_LISTS
from personvern.suppression.entries import suppress

ACTOR = "webhook:mailchimp"
EVENT_TYPES = ("subscribe", "unsubscribe", "profile", "upemail", "cleaned", "campaign")
_LIST_ID = re.compile(r"[a-z0-9]{1,50}")  # used with fullmatch

Outcome = Literal["suppressed", "already", "ignored"]


class BadEvent(ValueError):
    """A body that is not a Mailchimp event we can read; the message says what is missing."""


@dataclass(frozen=True)
class MailchimpEvent:
    type: str
    email: str | None = None
    list_id: str | None = None
    action: str | None = None
    reason: str | None = None
    fired_at: str | None = None

    @property
    def suppresses(self) -> bool:
        """Whether this event puts its address on the suppression list (see the module)."""
        if self.type == "cleaned":
            return True
        return self.type == "unsubscribe" and self.action != "delete"

    @property
    def list_key(self) -> str:
        """The audience as a list key (``mailchimp:<list id>``), or every list if unknown."""
        list_id = (self.list_id or "").strip().lower()
        return f"mailchimp:{list_id}" if _LIST_ID.fullmatch(list_id) else ALL_LISTS


def parse_event(form: Mapping[str, str]) -> MailchimpEvent:
    """The event in a webhook's form fields; :class:`BadEvent` if it is not one."""
    kind = form.get("type", "").strip()
    if kind not in EVENT_TYPES:
        raise BadEvent(f"type {kind!r} is not a Mailchimp webhook event ({', '.join(EVENT_TYPES)})")
    event = MailchimpEvent(
        type=kind,
        email=form.get("data[email]") or None,
        list_id=form.get("data[list_id]") or None,
        action=form.get("data[action]") or None,
        reason=form.get("data[reason]") or None,
        fired_at=form.get("fired_at") or None,
    )
    if event.suppresses and not event.email:
        raise BadEvent(f"a {kind} event needs data[email]")
    return event


def receive(runtime: Runtime, event: MailchimpEvent) -> Outcome:
    """Apply one event to the suppression list (audited when it changes anything)."""
    if not event.suppresses:
        return "ignored"
    assert event.email is not None  # parse_event checked
    try:
        added = suppress(
            runtime,
            event.email,
            source="webhook",
            actor=ACTOR,
            list_key=event.list_key,
            synced=True,
        )
    except ValueError as exc:
        raise BadEvent(f"data[email] is not usable: {exc}") from exc
    return "suppressed" if added.created else "already"
