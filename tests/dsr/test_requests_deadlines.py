"""The Art. 12(3) deadline: one calendar month from receipt, clamped to a shorter month's end,
counted in Norwegian days; extensions of up to two more months, only within the first."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from personvern.dsr.deadlines import (
    DeadlineError,
    add_months,
    check_extension,
    countdown,
    due_at,
    due_day,
    end_of_day,
    extended_due_at,
)


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 1, 15), 1, date(2026, 2, 15)),
        (date(2026, 1, 31), 1, date(2026, 2, 28)),  # no 31 February: the month's last day
        (date(2028, 1, 31), 1, date(2028, 2, 29)),  # leap year
        (date(2026, 1, 29), 1, date(2026, 2, 28)),
        (date(2026, 3, 31), 1, date(2026, 4, 30)),
        (date(2026, 11, 30), 1, date(2026, 12, 30)),
        (date(2026, 12, 31), 1, date(2027, 1, 31)),  # over the year's end
        (date(2026, 12, 15), 3, date(2027, 3, 15)),
        (date(2026, 11, 30), 3, date(2027, 2, 28)),
        (date(2026, 1, 31), 3, date(2026, 4, 30)),
        (date(2026, 2, 28), 1, date(2026, 3, 28)),  # not "the last day" again
    ],
)
def test_calendar_months(day: date, months: int, expected: date) -> None:
    assert add_months(day, months) == expected


@pytest.mark.parametrize(
    ("received", "expected"),
    [
        (datetime(2026, 1, 31, 12, 0, tzinfo=UTC), date(2026, 2, 28)),
        # 23:30 UTC on 31 January is 00:30 on 1 February in Oslo: the Norwegian day counts.
        (datetime(2026, 1, 31, 23, 30, tzinfo=UTC), date(2026, 3, 1)),
        # Summer time: 22:30 UTC on 30 June is 00:30 on 1 July in Oslo.
        (datetime(2026, 6, 30, 22, 30, tzinfo=UTC), date(2026, 8, 1)),
        (datetime(2026, 6, 30, 21, 30, tzinfo=UTC), date(2026, 7, 30)),
    ],
)
def test_due_day_counts_norwegian_days(received: datetime, expected: date) -> None:
    assert due_day(received) == expected


def test_due_at_is_the_end_of_the_norwegian_day() -> None:
    received = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)
    deadline = due_at(received)
    assert deadline == end_of_day(date(2026, 2, 28))
    # 23:59:59 in Oslo in winter is 22:59:59 UTC.
    assert deadline == datetime(2026, 2, 28, 22, 59, 59, tzinfo=UTC)
    assert deadline.tzinfo is not None


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        due_day(datetime(2026, 1, 1, 12, 0))


@pytest.mark.parametrize(
    ("extra", "expected"),
    [(1, date(2026, 3, 31)), (2, date(2026, 4, 30))],
)
def test_extension_is_one_or_two_more_months(extra: int, expected: date) -> None:
    received = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)
    assert extended_due_at(received, extra) == end_of_day(expected)


@pytest.mark.parametrize("extra", [0, 3, -1])
def test_extension_beyond_two_months_is_refused(extra: int) -> None:
    with pytest.raises(DeadlineError, match="one or two further months"):
        extended_due_at(datetime(2026, 1, 31, tzinfo=UTC), extra)


def test_extension_must_come_within_the_first_month() -> None:
    received = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    first = due_at(received)
    new = check_extension(
        received_at=received,
        first_due_at=first,
        current_extended_at=None,
        extra_months=2,
        now=first - timedelta(hours=1),
    )
    assert new == end_of_day(date(2026, 6, 10))
    with pytest.raises(DeadlineError, match="within one month of receipt"):
        check_extension(
            received_at=received,
            first_due_at=first,
            current_extended_at=None,
            extra_months=2,
            now=first + timedelta(seconds=1),
        )


def test_an_extension_only_lengthens() -> None:
    received = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    first = due_at(received)
    once = extended_due_at(received, 1)
    assert check_extension(
        received_at=received,
        first_due_at=first,
        current_extended_at=once,
        extra_months=2,
        now=received,
    ) == extended_due_at(received, 2)
    with pytest.raises(DeadlineError, match="already extended"):
        check_extension(
            received_at=received,
            first_due_at=first,
            current_extended_at=once,
            extra_months=1,
            now=received,
        )


@pytest.mark.parametrize(
    ("days_before", "is_open", "state"),
    [
        (20, True, "ok"),
        (8, True, "ok"),
        (7, True, "soon"),
        (1, True, "soon"),
        (-1, True, "overdue"),
        (-1, False, "closed"),
    ],
)
def test_countdown_warns_seven_days_ahead(days_before: int, is_open: bool, state: str) -> None:
    deadline = end_of_day(date(2026, 5, 20))
    now = deadline - timedelta(days=days_before)
    result = countdown(deadline, now, warn_days=7, is_open=is_open)
    assert result.state == state
    assert result.days_left == days_before
