"""Consent rates for the admin: per day and method, per category, as an SVG chart and CSV.

The rates show whether the banner works as the law wants it to: if "accept all" wins by a
mile while "reject all" is as easy (EDPB Cookie Banner Taskforce, January 2023), fine; a
sudden change after a policy version is worth a look. Days are counted in Norwegian time.
The chart is plain SVG made here (no script, no inline style, so the admin's
Content-Security-Policy holds), with a table of the same numbers beside it for those who
do not see it.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from html import escape

from sqlalchemy import select

from personvern.consent.chain import timestamp
from personvern.consent.choice import METHODS
from personvern.consent.receipts import split
from personvern.i18n.catalogs import DISPLAY_TIMEZONE
from personvern.runtime import Runtime
from personvern.store.consents import ConsentEntry, ConsentReceipt

CATEGORY_KEYS: tuple[str, ...] = ("preferences", "analytics", "marketing")
# Colour-blind safe (Okabe–Ito), each with at least 3:1 against white (WCAG 1.4.11).
COLOURS = {
    "accept_all": "#0072B2",
    "reject_all": "#D55E00",
    "custom": "#009E73",
    "gpc": "#CC79A7",
    "withdraw": "#555555",
}


@dataclass
class Day:
    day: date
    methods: Counter[str] = field(default_factory=Counter)
    granted: Counter[str] = field(default_factory=Counter)
    asked: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.methods.values())

    def rate(self, method: str) -> float:
        return self.methods[method] / self.total if self.total else 0.0


@dataclass(frozen=True)
class Rates:
    days: Sequence[Day]
    categories: dict[str, tuple[int, int]]  # key: (granted, asked)

    @property
    def total(self) -> int:
        return sum(day.total for day in self.days)


def rates(runtime: Runtime, *, days: int = 30, today: date | None = None) -> Rates:
    """Choices per day and method, and grant rates per category, over the last ``days``."""
    last = today or datetime.now(DISPLAY_TIMEZONE).date()
    first = last - timedelta(days=days - 1)
    since = datetime.combine(first, datetime.min.time(), DISPLAY_TIMEZONE)
    by_day = {first + timedelta(days=n): Day(first + timedelta(days=n)) for n in range(days)}
    with runtime.sessions() as db:
        rows = db.execute(
            select(ConsentEntry.at, ConsentEntry.method, ConsentEntry.granted, ConsentEntry.denied)
            .where(ConsentEntry.at >= since)
            .execution_options(yield_per=1000)
        )
        for at, method, granted, denied in rows:
            day = by_day.get(at.astimezone(DISPLAY_TIMEZONE).date())
            if day is None:
                continue
            day.methods[method] += 1
            for key in split(granted):
                day.granted[key] += 1
                day.asked[key] += 1
            for key in split(denied):
                day.asked[key] += 1
    totals: dict[str, tuple[int, int]] = {}
    for key in CATEGORY_KEYS:
        asked = sum(d.asked[key] for d in by_day.values())
        if asked:
            totals[key] = (sum(d.granted[key] for d in by_day.values()), asked)
    return Rates(days=list(by_day.values()), categories=totals)


def svg_chart(data: Rates, *, title: str, method_names: dict[str, str], width: int = 720) -> str:
    """A 100 % stacked bar per day, one colour per method, with a legend."""
    height, top, bottom, left = 240, 16, 40, 40
    plot_h = height - top - bottom
    n = max(1, len(data.days))
    step = (width - left - 8) / n
    bar = max(2.0, step * 0.7)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height + 28}" '
        f'role="img" aria-labelledby="consent-chart-title" class="chart">',
        f'<title id="consent-chart-title">{escape(title)}</title>',
    ]
    for pct in (0, 50, 100):
        y = top + plot_h * (1 - pct / 100)
        parts.append(
            f'<line x1="{left}" x2="{width - 4}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ccc"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="#333">{pct} %</text>'
        )
    for index, day in enumerate(data.days):
        x = left + index * step + (step - bar) / 2
        y = float(top + plot_h)
        for method in METHODS:
            share = day.rate(method)
            if not share:
                continue
            h = plot_h * share
            y -= h
            label = f"{day.day.isoformat()}: {method_names[method]} {share:.0%}"
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{COLOURS[method]}"><title>{escape(label)}</title></rect>'
            )
        if index % max(1, n // 6) == 0 or index == n - 1:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{height - bottom + 16}" text-anchor="middle" '
                f'font-size="11" fill="#333">{day.day.strftime("%d.%m")}</text>'
            )
    x = float(left)
    for method in METHODS:
        parts.append(
            f'<rect x="{x:.0f}" y="{height + 6}" width="12" height="12" '
            f'fill="{COLOURS[method]}"/><text x="{x + 16:.0f}" y="{height + 16}" '
            f'font-size="12" fill="#1a1a1a">{escape(method_names[method])}</text>'
        )
        x += 24 + 7.5 * len(method_names[method])
    parts.append("</svg>")
    return "".join(parts)


CSV_COLUMNS = (
    "consent_id",
    "receipt_id",
    "entry",
    "recorded_at",
    "site",
    "policy_version",
    "texts_sha256",
    "method",
    "granted",
    "denied",
    "gpc",
    "language",
    "page",
    "ip_network",
    "user_agent_family",
    "entry_hash",
)


def csv_rows(runtime: Runtime) -> Iterator[str]:
    """Every entry of the log as CSV lines (header first), oldest first, streamed."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(CSV_COLUMNS)
    yield flush()
    with runtime.sessions() as db:
        rows = db.execute(
            select(ConsentEntry, ConsentReceipt.receipt_id)
            .join(ConsentReceipt, ConsentReceipt.consent_id == ConsentEntry.consent_id)
            .order_by(ConsentEntry.id)
            .execution_options(yield_per=1000)
        )
        for entry, receipt_id in rows:
            writer.writerow(
                (
                    entry.consent_id,
                    receipt_id,
                    entry.seq,
                    timestamp(entry.at),
                    entry.site,
                    entry.policy_version,
                    entry.texts_hash,
                    entry.method,
                    " ".join(split(entry.granted)),
                    " ".join(split(entry.denied)),
                    "true" if entry.gpc else "false",
                    entry.language,
                    entry.page,
                    entry.ip_prefix,
                    entry.ua_family,
                    entry.entry_hash,
                )
            )
            yield flush()
