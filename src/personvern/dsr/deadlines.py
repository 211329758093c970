"""Deadlines of data-subject requests: GDPR Art. 12(3) and 12(4).

Art. 12(3): the controller answers "without undue delay and in any event within one month
of receipt of the request". The period may be extended "by two further months where
necessary, taking into account the complexity and number of the requests", and the person
must be told of the extension, with the reasons, *within the first month*. Art. 12(4): a
refusal too must reach the person within one month, with the reasons and the right to
complain to the supervisory authority (Datatilsynet) and to a judicial remedy.

How a month is counted follows Regulation (EEC, Euratom) No 1182/71 Art. 3(2)(c), which
EDPB Guidelines 01/2022 (section 5.3, "Timing for the provision of access") points to: the
period ends at the end of the day in the following month with the same date as the day of
receipt, or — when that month has no such date — at the end of its last day (received 31
January → due 28 February, or 29 in a leap year). Days are Norwegian calendar days
(Europe/Oslo), since that is where the shop and Datatilsynet count them.

The one rule of 1182/71 not applied is Art. 3(4) (a period ending on a weekend or public
holiday runs to the next working day): it can only make the deadline later, and a shop is
on the safe side answering by the earlier date.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from personvern.i18n.catalogs import DISPLAY_TIMEZONE

# Art. 12(3): one month, plus at most two further months.
BASE_MONTHS = 1
MAX_EXTENSION_MONTHS = 2

DeadlineState = Literal["ok", "soon", "overdue", "closed"]


class DeadlineError(ValueError):
    """An extension the law does not allow; the message says why and what to do instead."""


def add_months(day: date, months: int) -> date:
    """``day`` moved ``months`` calendar months on, clamped to the end of a shorter month.

    >>> add_months(date(2026, 1, 31), 1)
    datetime.date(2026, 2, 28)
    """
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(day.day, last))


def local_day(moment: datetime) -> date:
    """The Norwegian calendar day of an aware timestamp."""
    if moment.tzinfo is None:
        raise ValueError("a naive datetime has no calendar day; give an aware one")
    return moment.astimezone(DISPLAY_TIMEZONE).date()


def end_of_day(day: date) -> datetime:
    """The last moment of ``day`` in Norwegian time, as an aware UTC timestamp."""
    last = datetime.combine(day, time(23, 59, 59), tzinfo=DISPLAY_TIMEZONE)
    return last.astimezone(UTC)


def due_day(received_at: datetime, months: int = BASE_MONTHS) -> date:
    """The day a request received at ``received_at`` must be answered by."""
    return add_months(local_day(received_at), months)


def due_at(received_at: datetime, months: int = BASE_MONTHS) -> datetime:
    """The end of :func:`due_day`: the moment the Art. 12(3) period runs out."""
    return end_of_day(due_day(received_at, months))


def extended_due_at(received_at: datetime, extra_months: int) -> datetime:
    """The deadline after an extension of ``extra_months`` (1 or 2) beyond the first month."""
    if not 1 <= extra_months <= MAX_EXTENSION_MONTHS:
        raise DeadlineError(
            f"an extension is one or two further months (GDPR Art. 12(3)), not {extra_months}"
        )
    return due_at(received_at, BASE_MONTHS + extra_months)


def check_extension(
    *,
    received_at: datetime,
    first_due_at: datetime,
    current_extended_at: datetime | None,
    extra_months: int,
    now: datetime,
) -> datetime:
    """The new deadline for an extension asked for at ``now``, or :class:`DeadlineError`.

    The person must be told within the first month, so an extension after the first
    deadline is too late; the total may not pass three months from receipt; and a second
    extension may only lengthen the first.
    """
    if now > first_due_at:
        raise DeadlineError(
            "the first deadline has passed: an extension must be sent to the person within "
            "one month of receipt (GDPR Art. 12(3)); answer the request now instead"
        )
    new_due = extended_due_at(received_at, extra_months)
    if current_extended_at is not None and new_due <= current_extended_at:
        raise DeadlineError(
            "the request is already extended to that date or later; an extension can only "
            "lengthen the deadline, up to three months from receipt"
        )
    return new_due


def effective_due_at(first_due_at: datetime, extended_at: datetime | None) -> datetime:
    """The deadline that applies now: the extended one, if the request was extended."""
    return extended_at if extended_at is not None else first_due_at


@dataclass(frozen=True)
class Countdown:
    """Where a request stands against its deadline, for the admin's list."""

    state: DeadlineState
    days_left: int  # whole Norwegian calendar days; negative when overdue


def countdown(deadline: datetime, now: datetime, *, warn_days: int, is_open: bool) -> Countdown:
    """``soon`` from ``warn_days`` days before the deadline, ``overdue`` after it."""
    days_left = (local_day(deadline) - local_day(now)).days
    if not is_open:
        return Countdown("closed", days_left)
    if now > deadline:
        return Countdown("overdue", days_left)
    if deadline - now <= timedelta(days=warn_days):
        return Countdown("soon", days_left)
    return Countdown("ok", days_left)
