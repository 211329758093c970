"""What the Mailchimp sandbox accepts in a member: merge fields, statuses, new members.

From Mailchimp's reference for list members
(https://mailchimp.com/developer/marketing/api/list-members/): the default audience merge
fields FNAME, LNAME, PHONE and ADDRESS (an object of ``addr1``, ``addr2``, ``city``,
``state``, ``zip``, ``country``); statuses ``subscribed``, ``unsubscribed``, ``cleaned``
(set by Mailchimp only, after a bounce), ``pending`` and ``transactional``; an address that
was deleted permanently cannot be added again (400 "Forgotten Email Not Subscribed").
Every rule raises :class:`Problem` with Mailchimp's title and wording.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from personvern.sandbox.mailchimp_guard import Problem
from personvern.sandbox.mailchimp_state import (
    ADDRESS_KEYS,
    MERGE_TAGS,
    STATUSES,
    Audience,
    Member,
    stamp,
    subscriber_hash,
)

EMAIL: Final = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def forgotten(email: str) -> Problem:
    return Problem(
        400,
        "Forgotten Email Not Subscribed",
        f"{email} was permanently deleted and cannot be re-imported. The contact must "
        "re-subscribe to get back on the list.",
    )


def merged(member: Member, fields: Any) -> dict[str, Any]:
    """The member's merge fields with ``fields`` applied, checked as Mailchimp checks them."""
    if not isinstance(fields, dict):
        raise Problem(400, detail="merge_fields must be an object.")
    out = dict(member.merge_fields)
    for tag, value in fields.items():
        if tag not in MERGE_TAGS:
            raise Problem(
                400,
                detail=f"Your merge fields were invalid: this audience has no merge field {tag}.",
            )
        if tag == "ADDRESS" and value != "":
            if not isinstance(value, dict) or set(value) - set(ADDRESS_KEYS):
                raise Problem(400, detail="ADDRESS must be an object of addr1, city, state, zip.")
            if not all(isinstance(value.get(k, ""), str) for k in ADDRESS_KEYS):
                raise Problem(400, detail="Every part of ADDRESS must be text.")
            if not value.get("addr1") or not value.get("city") or not value.get("zip"):
                raise Problem(
                    400,
                    detail="Your merge fields were invalid. ADDRESS needs addr1, city and zip.",
                )
            value = {k: value.get(k, "") for k in ADDRESS_KEYS}
        elif tag != "ADDRESS" and not isinstance(value, str):
            raise Problem(400, detail=f"Your merge fields were invalid: {tag} must be text.")
        out[tag] = value
    return out


def check_status(member: Member, status: Any) -> None:
    if status not in STATUSES - {"archived"}:
        raise Problem(400, detail=f"status must be one of {', '.join(sorted(STATUSES))}.")
    if status == "cleaned" and member.status != "cleaned":
        raise Problem(400, detail="Only Mailchimp cleans an address, after it bounces.")


def set_status(member: Member, status: Any, now: datetime) -> bool:
    check_status(member, status)
    if status == member.status:
        return False
    if status == "unsubscribed":
        member.unsubscribe_reason = "N/A (Unsubscribed by admin)"
        member.activity.append({"activity_type": "unsub", "created_at_timestamp": stamp(now)})
    elif status == "subscribed":
        member.unsubscribe_reason = ""
        member.timestamp_opt = now
    member.status = status
    return True


def new_member(audience: Audience, body: Mapping[str, Any], status: Any, now: datetime) -> Member:
    email = body.get("email_address")
    if not isinstance(email, str) or not EMAIL.match(email):
        raise Problem(400, "Invalid Resource", "Please provide a valid email address.")
    if subscriber_hash(email) in audience.forgotten:
        raise forgotten(email)
    if status not in STATUSES - {"archived", "cleaned"}:
        raise Problem(
            400, detail="status must be subscribed, unsubscribed, pending or transactional."
        )
    member = Member(
        email_address=email,
        status=status,
        merge_fields={"FNAME": "", "LNAME": "", "PHONE": "", "ADDRESS": ""},
        timestamp_signup=now,
        ip_signup=str(body.get("ip_signup") or ""),
        timestamp_opt=now if status == "subscribed" else None,
        ip_opt=str(body.get("ip_opt") or ""),
        last_changed=now,
        unsubscribe_reason="N/A (Added as unsubscribed)" if status == "unsubscribed" else "",
    )
    if "merge_fields" in body:
        member.merge_fields = merged(member, body["merge_fields"])
    for name in body.get("tags") or ():
        if isinstance(name, str):
            member.tags.append(audience.tag(name, now))
    return member
