"""Lifetimes and retention periods written as ISO 8601 durations, or ``session``.

Only whole calendar units are allowed (``P2Y``, ``P13M``, ``P30D``, ``PT30M``, ``P1Y6M``):
they are what a cookie declaration or a retention rule says, and they add to a date without
rounding. ``session`` means until the browser closes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

_ISO = re.compile(
    r"^P(?!$)(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$"
)


@dataclass(frozen=True)
class Period:
    """A calendar period, or the browser session when ``session`` is true."""

    years: int = 0
    months: int = 0
    days: int = 0
    seconds: int = 0
    session: bool = False

    @classmethod
    def parse(cls, text: str) -> Period:
        text = text.strip()
        if text.lower() == "session":
            return cls(session=True)
        match = _ISO.match(text)
        if not match:
            raise ValueError(
                f"{text!r} is not a duration; write ISO 8601 such as P2Y, P13M, P30D or "
                "PT30M, or 'session' for a cookie that ends with the browser session"
            )
        part = {k: int(v) if v else 0 for k, v in match.groupdict().items()}
        return cls(
            years=part["years"],
            months=part["months"],
            days=part["days"] + 7 * part["weeks"],
            seconds=part["hours"] * 3600 + part["minutes"] * 60 + part["seconds"],
        )

    def iso(self) -> str:
        if self.session:
            return "session"
        out = "P"
        out += f"{self.years}Y" if self.years else ""
        out += f"{self.months}M" if self.months else ""
        out += f"{self.days}D" if self.days else ""
        if self.seconds:
            h, rest = divmod(self.seconds, 3600)
            m, s = divmod(rest, 60)
            out += "T" + (f"{h}H" if h else "") + (f"{m}M" if m else "") + (f"{s}S" if s else "")
        return out if out != "P" else "PT0S"

    def approx_days(self) -> float:
        """For comparing lifetimes (a declared one against a measured one); 0 for session."""
        if self.session:
            return 0.0
        return self.years * 365.25 + self.months * 30.44 + self.days + self.seconds / 86400

    def after(self, start: datetime) -> datetime:
        """``start`` plus this period, in calendar terms (31 Jan + P1M is 28/29 Feb)."""
        if self.session:
            raise ValueError("a session lifetime has no end date")
        import calendar
        from datetime import timedelta

        month_index = start.month - 1 + self.months + 12 * self.years
        year = start.year + month_index // 12
        month = month_index % 12 + 1
        day = min(start.day, calendar.monthrange(year, month)[1])
        return start.replace(year=year, month=month, day=day) + timedelta(
            days=self.days, seconds=self.seconds
        )

    def __str__(self) -> str:
        return self.iso()


def _parse(value: Any) -> Period:
    if isinstance(value, Period):
        return value
    if not isinstance(value, str):
        raise ValueError("a duration is text; write it as e.g. P2Y, P30D or session")
    return Period.parse(value)


Duration = Annotated[Period, BeforeValidator(_parse), PlainSerializer(lambda p: p.iso())]
