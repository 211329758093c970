"""Retention sweeps in Mailchimp (issue 7): unsubscribed and cleaned members past their time.

The newsletter preset keeps a member's data "until unsubscribe, keeping the suppression
entry". In Mailchimp a rule names the collection ``members``, the date ``last_changed``
(when the member last changed, e.g. unsubscribed or bounced) and the statuses it covers::

    SweepRule(rule="newsletter", collection="members", date_field="last_changed",
              cutoff=..., action="delete", where={"status": ("unsubscribed", "cleaned")})

Every audience is searched with ``GET /lists/{list_id}/members?status=…&before_last_changed=…``
(Mailchimp's reference, "List members info":
https://mailchimp.com/developer/marketing/api/list-members/list-members-info/), and each
member found is deleted with ``POST …/{subscriber_hash}/actions/delete-permanent``. That is
also what keeps the suppression: Mailchimp puts a permanently deleted address on a block
list and refuses to import it again ("Forgotten Email Not Subscribed"); only the person
signing up again through a form brings it back. Mailchimp cannot anonymize a member, so
``delete`` is the only action.

A dry run reads the same members and changes nothing. People under a legal hold
(``exclude``) are counted as held and never touched. A run that stops half-way is resumed by
running it again: what was deleted is no longer found.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from personvern.connectors.base import Fatal, SweepResult, SweepRule

if TYPE_CHECKING:
    from personvern.connectors.mailchimp.connector import MailchimpConnector

STATUSES: Final = ("subscribed", "unsubscribed", "cleaned", "pending", "transactional", "archived")
SAMPLES: Final = 5
BATCH: Final = 200  # permanent deletes started at once (each still within the connection limit)
_PAGE: Final = 1000


def redacted(email: str) -> str:
    """``k***@e***.no``: enough to recognise a sample, not enough to identify anyone."""
    local, _, domain = email.partition("@")
    host, _, tld = domain.rpartition(".")
    return f"{local[:1]}***@{host[:1]}***.{tld}" if host else f"{local[:1]}***"


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _when(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    return _utc(datetime.fromisoformat(text.replace("Z", "+00:00")))


def _statuses(rule: SweepRule) -> tuple[str, ...]:
    if rule.collection != "members":
        raise Fatal(
            f"rule {rule.rule}: Mailchimp has one collection a rule can name, 'members' (the "
            f"contacts of every audience), not {rule.collection!r}"
        )
    if rule.date_field != "last_changed":
        raise Fatal(
            f"rule {rule.rule}: Mailchimp filters members by 'last_changed' only; set "
            f"date_field to last_changed instead of {rule.date_field!r}"
        )
    if rule.action != "delete":
        raise Fatal(
            f"rule {rule.rule}: Mailchimp cannot anonymize a member; use action 'delete' "
            "(a permanent delete, which keeps the address from being imported again)"
        )
    other = set(rule.where) - {"status"}
    if other:
        raise Fatal(
            f"rule {rule.rule}: Mailchimp members can be narrowed by status only, not by "
            f"{', '.join(sorted(other))}"
        )
    wanted = tuple(rule.where.get("status", ())) or STATUSES
    unknown = set(wanted) - set(STATUSES)
    if unknown:
        raise Fatal(
            f"rule {rule.rule}: {', '.join(sorted(unknown))} is not a Mailchimp status; "
            f"use {', '.join(STATUSES)}"
        )
    return wanted


async def _members(
    connector: MailchimpConnector, list_id: str, params: dict[str, Any]
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while True:
        page = await connector.call(
            "GET",
            f"/lists/{list_id}/members",
            params={**params, "count": _PAGE, "offset": len(out)},
        )
        chunk = list(page.get("members") or [])
        out.extend(chunk)
        if not chunk or len(out) >= int(page.get("total_items", 0)):
            return out


async def sweep(
    connector: MailchimpConnector, rule: SweepRule, *, dry_run: bool = False
) -> SweepResult:
    """Apply ``rule`` to every audience; see the module's docstring."""
    statuses = _statuses(rule)
    cutoff = _utc(rule.cutoff).isoformat(timespec="seconds")
    excluded = {i.email.strip().lower() for i in rule.exclude if i.email}
    audiences = await connector.audiences()
    matched: list[tuple[str, str, dict[str, Any]]] = []  # (list id, audience name, member)
    total = 0
    kept_dates: list[datetime] = []
    for audience in audiences:
        list_id, name = str(audience["id"]), str(audience.get("name", ""))
        everyone = await connector.call("GET", f"/lists/{list_id}/members", params={"count": 1})
        total += int(everyone.get("total_items", 0))
        for status in statuses:
            old = await _members(
                connector, list_id, {"status": status, "before_last_changed": cutoff}
            )
            matched.extend((list_id, name, m) for m in old)
            # The oldest member of these statuses still within its time (kept as it was).
            newest = await connector.call(
                "GET",
                f"/lists/{list_id}/members",
                params={
                    "status": status,
                    "since_last_changed": cutoff,
                    "sort_field": "last_changed",
                    "sort_dir": "ASC",
                    "count": 1,
                },
            )
            first = (newest.get("members") or [None])[0]
            when = _when(first.get("last_changed")) if first else None
            if when is not None:
                kept_dates.append(when)
    held = [m for m in matched if str(m[2].get("email_address", "")).lower() in excluded]
    kept_dates += [d for _, _, m in held if (d := _when(m.get("last_changed"))) is not None]
    due = [m for m in matched if str(m[2].get("email_address", "")).lower() not in excluded]
    samples = tuple(
        {
            "audience": name,
            "email_address": redacted(str(member.get("email_address", ""))),
            "status": str(member.get("status", "")),
            "last_changed": str(member.get("last_changed", "")),
        }
        for _, name, member in due[:SAMPLES]
    )
    deleted = 0
    if not dry_run and due:
        paths = [f"/lists/{list_id}/members/{member['id']}" for list_id, _, member in due]
        # In batches, so a run stopped half-way has finished whole batches (and the next
        # run carries on: what is deleted is no longer found).
        for start in range(0, len(paths), BATCH):
            batch = paths[start : start + BATCH]
            deleted += sum(await connector.fan_out(connector.forget(p) for p in batch))
    return SweepResult(
        rule=rule.rule,
        collection=rule.collection,
        matched=len(matched),
        deleted=deleted,
        held=len(held),
        total=total,
        oldest_kept=min(kept_dates) if kept_dates else None,
        samples=samples,
        notes=(
            "Permanently deleted addresses stay on Mailchimp's block list and cannot be "
            "imported again, so their unsubscribe stays in force",
        ),
    )
