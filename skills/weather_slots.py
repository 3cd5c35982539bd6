"""How the weather skill reads its `city` and `date` slots, which the live answer and the
offline one share: the place's name, the days asked about, whether that is "now", and what
to say when the forecast cannot reach them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from nlp.dates import DateRange, resolve
from skills.weather import FORECAST_DAYS


def place_name(city: object) -> str:
    """The name in a `city` slot: the text as said, or a gazetteer entry's name."""
    if isinstance(city, Mapping):
        city = city.get("name") or city.get("text") or ""
    return city.strip() if isinstance(city, str) else ""


def days_asked(slot: object, now: datetime) -> DateRange | None:
    """The days a `date` slot ({"text": "tomorrow"}) asks about; None without one, or when
    the phrase means nothing we can read."""
    text = slot.get("text") if isinstance(slot, Mapping) else slot
    return resolve(text, now) if isinstance(text, str) else None


def is_now(days: DateRange | None, today: date) -> bool:
    """Whether the question is about the weather now: no date, or "today" without a part."""
    return days is None or (days.start == days.end == today and not days.part)


def out_of_reach(days: DateRange, today: date) -> str | None:
    """What to say when the forecast cannot cover `days`: past, or too far ahead."""
    if days.end < today:
        if days.start == days.end == today - timedelta(days=1):
            return "Yesterday's weather is behind me; I can only look ahead."
        return f"The weather on {days.label} is behind me; I can only look ahead."
    away = (days.start - today).days
    if away >= FORECAST_DAYS:
        when = f"{days.start.day} {days.start:%B}"
        if days.start.year != today.year:
            when += f" {days.start.year}"
        return f"I can only see {FORECAST_DAYS} days ahead; {when} is {away} days away."
    return None


def zone_name(now: datetime) -> str:
    """The IANA name of `now`'s zone for Open-Meteo's `timezone`, or "auto" (the place's)."""
    return now.tzinfo.key if isinstance(now.tzinfo, ZoneInfo) else "auto"
