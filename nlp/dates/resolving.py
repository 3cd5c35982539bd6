"""Resolving a date phrase to the days it means when said at a given moment (`resolve`), and
the `DateRange` it gives, which also says how a reply names those days."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from nlp.dates.days import (
    Days,
    clock,
    day_of_month,
    days_ahead,
    period,
    single,
    week,
    weekday,
    weekend,
)
from nlp.dates.month_names import month_name
from nlp.dates.phrases import ANY, iso, pattern

_LEADING = re.compile(r"^(?:on|for)\s+", re.IGNORECASE)
_TODAY_PARTS = {
    "morning": "this morning", "afternoon": "this afternoon", "evening": "this evening",
    "night": "tonight",
}  # fmt: skip


@dataclass(frozen=True)
class DateRange:
    """Days asked about, inclusive (a single day has start == end), and the part of the day
    when one was said. `asked_on` is the day it was asked, for labels like "tomorrow"."""

    start: date
    end: date
    part: str = ""  # "morning", "afternoon", "evening" or "night"
    asked_on: date | None = field(default=None, compare=False)

    @property
    def label(self) -> str:
        """How a reply names the days: "today", "tonight", "tomorrow morning", "Saturday 5
        December", "Saturday 5 – Sunday 6 December"."""
        if self.start != self.end:
            first = f"{self.start:%A} {self.start.day}"
            if (self.start.year, self.start.month) != (self.end.year, self.end.month):
                first += f" {self.start:%B}"
            return f"{first} – {day_label(self.end)}"
        offset = None if self.asked_on is None else (self.start - self.asked_on).days
        if offset == 0:
            return _TODAY_PARTS.get(self.part, "today")
        if offset == 1:
            return f"tomorrow {self.part}".strip()
        if offset == -1:
            return "yesterday"
        return f"{day_label(self.start)}, {self.part}" if self.part else day_label(self.start)


def day_label(day: date) -> str:
    """`"Saturday 5 December"`."""
    return f"{day:%A} {day.day} {day:%B}"


def resolve(phrase: str, now: datetime) -> DateRange | None:
    """The days `phrase` means when said at `now` (aware, in the bot's time zone), or None."""
    if not isinstance(phrase, str) or len(phrase) > 60:
        return None
    cleaned = _LEADING.sub("", " ".join(phrase.split()))
    found = ANY.fullmatch(cleaned)
    if found is None:
        return None
    today = now.date()
    days = _RESOLVERS[found.lastgroup](pattern(found.lastgroup).fullmatch(cleaned), today)
    return None if days is None else DateRange(*days, asked_on=today)


_RESOLVERS: dict[str, Callable[[re.Match[str], date], Days | None]] = {
    "day_after_tomorrow": lambda m, today: single(today + timedelta(days=2)),
    "day_before_yesterday": lambda m, today: single(today - timedelta(days=2)),
    "tomorrow": lambda m, today: single(today + timedelta(days=1), m.group(1)),
    "tonight": lambda m, today: single(today, "night"),
    "today_part": lambda m, today: single(today, m.group(1)),
    "today": lambda m, today: single(today),
    "yesterday": lambda m, today: single(today - timedelta(days=1)),
    "weekend": weekend,
    "week": week,
    "month_day": month_name,
    "day_month": month_name,
    "day_of_month": day_of_month,
    "weekday": weekday,
    "in_days": days_ahead,
    "days_from_now": days_ahead,
    "in_hours": lambda m, today: single(today),
    "clock": clock,
    "period": period,
    "iso": lambda m, today: None if (day := iso(m[0])) is None else single(day),
}
