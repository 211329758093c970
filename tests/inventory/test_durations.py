"""ISO 8601 durations for lifetimes and retention periods."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from personvern.inventory.durations import Period


@pytest.mark.parametrize(
    ("text", "period", "iso"),
    [
        ("P2Y", Period(years=2), "P2Y"),
        ("P13M", Period(months=13), "P13M"),
        ("P30D", Period(days=30), "P30D"),
        ("P2W", Period(days=14), "P14D"),
        ("P1Y6M", Period(years=1, months=6), "P1Y6M"),
        ("PT30M", Period(seconds=1800), "PT30M"),
        ("PT90M", Period(seconds=5400), "PT1H30M"),
        ("P1DT1H1M1S", Period(days=1, seconds=3661), "P1DT1H1M1S"),
        ("PT0S", Period(), "PT0S"),
        (" P5Y ", Period(years=5), "P5Y"),
        ("session", Period(session=True), "session"),
        ("Session", Period(session=True), "session"),
    ],
)
def test_parse_and_iso(text: str, period: Period, iso: str) -> None:
    assert Period.parse(text) == period
    assert period.iso() == iso
    assert str(period) == iso
    assert Period.parse(period.iso()) == period


@pytest.mark.parametrize("text", ["", "P", "PT", "2Y", "P1.5Y", "P-1D", "p2y", "P2Y3", "forever"])
def test_not_durations(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration; write ISO 8601"):
        Period.parse(text)


def at(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


@pytest.mark.parametrize(
    ("period", "start", "end"),
    [
        ("P1M", at(2025, 1, 31), at(2025, 2, 28)),  # to the last day of a short month
        ("P1M", at(2024, 1, 31), at(2024, 2, 29)),  # a leap year
        ("P1M", at(2025, 3, 31), at(2025, 4, 30)),
        ("P1M", at(2025, 12, 15), at(2026, 1, 15)),  # across a year end
        ("P13M", at(2024, 12, 31), at(2026, 1, 31)),
        ("P1Y", at(2024, 2, 29), at(2025, 2, 28)),  # 29 February has no twin next year
        ("P4Y", at(2024, 2, 29), at(2028, 2, 29)),
        ("P5Y", at(2025, 12, 31), at(2030, 12, 31)),
        ("P1M1D", at(2025, 1, 31), at(2025, 3, 1)),  # months first, then days
        ("P30D", at(2025, 2, 1), at(2025, 3, 3)),
        ("P2W", at(2024, 2, 20), at(2024, 3, 5)),
        ("PT36H", at(2025, 2, 28, 12), at(2025, 3, 2)),
    ],
)
def test_after(period: str, start: datetime, end: datetime) -> None:
    assert Period.parse(period).after(start) == end


def test_a_session_has_no_end() -> None:
    with pytest.raises(ValueError, match="no end date"):
        Period(session=True).after(at(2025, 1, 1))


def test_approx_days() -> None:
    assert Period.parse("session").approx_days() == 0.0
    assert Period.parse("P1Y").approx_days() == pytest.approx(365.25)
    assert Period.parse("P1DT12H").approx_days() == pytest.approx(1.5)
