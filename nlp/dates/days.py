"""What a date phrase means in days, counted from today: weekdays, weekends and weeks, "in 3
days", "the 5th", this or next month, year or season, and a clock time ("at 5pm"), which is
the part of today the daily forecast answers for. Each takes the phrase's match and today,
and returns the `Days` it means."""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta

from nlp.dates.phrases import NUMBERS, WEEKDAYS

Days = tuple[date, date] | tuple[date, date, str]


def single(day: date, part: str | None = None) -> Days:
    """One day, with the part of the day said ("nite" is "night")."""
    return day, day, _part(part)


def _part(word: str | None) -> str:
    return "night" if (word or "").casefold() == "nite" else (word or "").casefold()


def _next_monday(today: date) -> date:
    return today + timedelta(days=7 - today.weekday())


def weekday(match: re.Match[str], today: date) -> Days:
    """Plain "Friday" and "this Friday" are the coming one: today, when today is Friday.
    "Next Friday" is the Friday of next week (Monday to Sunday): from a Tuesday, 10 days on."""
    prefix, name, part = match.groups()
    target = WEEKDAYS[name[:2].casefold()]
    if prefix and prefix.casefold() == "next":
        return single(_next_monday(today) + timedelta(days=target), part)
    return single(today + timedelta(days=(target - today.weekday()) % 7), part)


def weekend(match: re.Match[str], today: date) -> Days:
    """This weekend is the coming Saturday and Sunday, or what is left of it on a Saturday or
    Sunday; next weekend is the one of next week."""
    if (match[1] or "").casefold() == "next":
        saturday = _next_monday(today) + timedelta(days=5)
        return saturday, saturday + timedelta(days=1)
    saturday = today + timedelta(days=max(0, 5 - today.weekday()))
    return saturday, today + timedelta(days=6 - today.weekday())


def week(match: re.Match[str], today: date) -> Days:
    """This week is today to Sunday; next week is Monday to Sunday of next week."""
    if match[1].casefold() == "next":
        monday = _next_monday(today)
        return monday, monday + timedelta(days=6)
    return today, today + timedelta(days=6 - today.weekday())


_UNIT_DAYS = {"d": 1, "w": 7, "m": 30, "y": 365}


def days_ahead(match: re.Match[str], today: date) -> Days:
    """One day "in 3 days" or "two weeks from now" (a month is 30 days, a year 365)."""
    count, unit = match[1].casefold(), match[2].casefold()
    days = int(count) if count.isdigit() else NUMBERS[count]
    return single(today + timedelta(days=days * _UNIT_DAYS[unit[0]]))


def period(match: re.Match[str], today: date) -> Days:
    """This month or year: from today to its end; next month or year: all of it. A season
    is the northern one (March to May is spring), from today if it has begun."""
    which, unit = match[1].casefold(), match[2].casefold()
    if unit == "month":
        start = (
            today if which == "this" else (today.replace(day=28) + timedelta(days=4)).replace(day=1)
        )
        return start, start.replace(day=calendar.monthrange(start.year, start.month)[1])
    if unit == "year":
        year = today.year + (which == "next")
        return max(today, date(year, 1, 1)), date(year, 12, 31)
    first_month = {"spring": 3, "summer": 6, "autumn": 9, "fall": 9, "winter": 12}[unit]
    year = today.year - (first_month == 12 and today.month <= 2)  # January is last winter's
    if which == "next" or _season_end(year, first_month) < today:
        year += 1
    return max(date(year, first_month, 1), today), _season_end(year, first_month)


def _season_end(year: int, first_month: int) -> date:
    """The last day of the three months from `first_month` of `year` (winter ends in the
    next year's February)."""
    month = first_month + 3
    return date(year + (month > 12), (month - 1) % 12 + 1, 1) - timedelta(days=1)


def day_of_month(match: re.Match[str], today: date) -> Days | None:
    """The next 5th from today on, skipping months too short for it ("the 31st")."""
    day = int(match[1])
    if not 1 <= day <= 31:
        return None
    year, month = today.year, today.month
    for _ in range(13):
        if day <= calendar.monthrange(year, month)[1] and date(year, month, day) >= today:
            return single(date(year, month, day))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None


def clock(match: re.Match[str], today: date) -> Days:
    """A time of day is today, with its part of the day: the daily forecast answers for it."""
    hour_ampm, ampm, hour_oclock, word = match.groups()
    if word:
        return single(today, "night" if word.casefold() == "midnight" else "afternoon")
    hour = int(hour_ampm or hour_oclock or match[0].split(":")[0].split()[-1])
    if ampm:  # 12 am is midnight, 12 pm noon
        hour = hour % 12 + (12 if ampm[0].casefold() == "p" else 0)
    part = (
        "night" if hour < 5 or hour >= 21
        else "morning" if hour < 12
        else "afternoon" if hour < 17
        else "evening"
    )  # fmt: skip
    return single(today, part)
