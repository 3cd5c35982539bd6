"""Dates with a month name ("24th of December", "Dec 24, 2026"), read by dateparser, which
is imported only when the first one comes."""

from __future__ import annotations

import re
import threading
from datetime import date, datetime, time

from nlp.dates.days import Days, single

_DATEPARSER_LOCK = threading.Lock()


def month_name(match: re.Match[str], today: date) -> Days | None:
    """The day of "24th of December" or "Dec 24, 2026", or None where dateparser finds none."""
    day = _with_month_name(match[0], today, has_year=match.lastindex == 3)
    return None if day is None else single(day)


def _with_month_name(text: str, today: date, has_year: bool) -> date | None:
    """dateparser's reading of "24th of December", in the future when no year is said.

    Imported here, on the first month-name date, not with the module: measured here it costs
    ~50 ms and 5 MB to import and ~0.2 s and 5 MB more for its English data at first use,
    and only weather questions with a month name need it. The lock: dateparser has a history
    of shared state going wrong under threads (scrapinghub/dateparser#441, #813, #834), and a
    parse takes under a millisecond."""
    import dateparser

    settings = {
        "PREFER_DATES_FROM": "future",
        "RELATIVE_BASE": datetime.combine(today, time()),
        "REQUIRE_PARTS": ["day", "month"],
    }
    try:
        with _DATEPARSER_LOCK:
            parsed = dateparser.parse(text, languages=["en"], settings=settings)
    except (ValueError, OverflowError):
        return None
    if parsed is None:
        return None
    day = parsed.date()
    # dateparser's "future" is strictly after the base, so today's own date goes to next year.
    if not has_year and day == _same_day_next_year(today):
        return today
    return day


def _same_day_next_year(today: date) -> date | None:
    try:
        return today.replace(year=today.year + 1)
    except ValueError:  # 29 February
        return None
