"""What a date phrase looks like and finding it in a message: one regular expression per kind
of phrase ("tomorrow", "this weekend", "Dec 24th", "at 5pm"), joined into one compiled at
import that needs no clock, the words in them with their values, and the checks that tell dates
from words that look like them ("sun" the star, "the 45th", "February 30", "13pm")."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from functools import cache

from nlp.text import MAX_TEXT

_TOMORROW = r"(?:tomorrow|tomorow|tommorow|tommorrow|tomorrrow|tmrw|tmrow|tmr|tmw|2moro|2morrow)"
_PART = r"(morning|afternoon|evening|night|nite)"
_WEEKDAY = (
    r"(monday|mon|tuesday|tues|tue|wednesday|wensday|weds|wed|thursday|thurs|thur|thu"
    r"|friday|fri|saturday|sat|sunday|sun)"
)
_MONTH = (
    r"(january|jan|february|feb|march|mar|april|apr|may|june|jun|july|jul|august|aug"
    r"|september|sept|sep|october|oct|november|nov|december|dec)\.?"
)
_YEAR = r"(?:,?\s+(20[0-9][0-9]))?"
_COUNT = (
    r"([0-9]{1,3}|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen"
    r"|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty)"
)
# One pattern per kind of phrase. Where two kinds can start at the same word the longer one
# comes first ("the 24th of December" before "the 24th"). Digits are ASCII ones: `\d` would
# also take other scripts' digits, which dateparser does not read.
KINDS = {
    "day_after_tomorrow": rf"(?:the\s+)?day\s+after\s+{_TOMORROW}",
    "day_before_yesterday": r"(?:the\s+)?day\s+before\s+yesterday",
    "tomorrow": rf"{_TOMORROW}(?:\s+(?:in\s+the\s+|at\s+)?{_PART})?",
    "tonight": r"tonight|tonite|2nite",
    "today_part": rf"this\s+{_PART}",
    "today": r"today|2day",
    "yesterday": r"yesterday|yday",
    "weekend": r"(?:(this|the|next)\s+)?(?:weekend|wknd|wkend)",
    "week": r"(this|next)\s+week",
    "month_day": rf"{_MONTH}\s+([0-9]{{1,2}})(?:st|nd|rd|th)?{_YEAR}",
    "day_month": rf"(?:the\s+)?([0-9]{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}{_YEAR}",
    "day_of_month": r"(?:the\s+)?([0-9]{1,2})(?:st|nd|rd|th)",
    "weekday": rf"(?:(this\s+coming|this|next|coming)\s+)?{_WEEKDAY}(?:\s+{_PART})?",
    "in_days": rf"in\s+{_COUNT}\s+(days?|weeks?|months?|years?)",
    "days_from_now": rf"{_COUNT}\s+(days?|weeks?|months?|years?)\s+from\s+(?:now|today)",
    # Later today: the daily forecast answers for the day.
    "in_hours": rf"(?:in\s+{_COUNT}\s+(?:hours?|hrs?|minutes?|mins?)"
    rf"|{_COUNT}\s+(?:hours?|hrs?|minutes?|mins?)\s+from\s+now)",
    "clock": r"(?:at\s+)?(?:([0-9]{1,2})(?::[0-9]{2}){0,2}\s*([ap]\.?m\.?)|([0-9]{1,2})\s*o'?clock"
    r"|[0-9]{1,2}:[0-9]{2}|(noon|midday|midnight))",
    "period": r"(this|next)\s+(month|year|summer|spring|autumn|fall|winter)",
    "iso": r"[0-9]{4}-[0-9]{2}-[0-9]{2}",
}
ANY = re.compile(
    r"(?<!\w)(?:" + "|".join(f"(?P<{k}>{p})" for k, p in KINDS.items()) + r")(?!\w)",
    re.IGNORECASE,
)
# Every phrase above holds one of these (a month name always comes with a digit). Checking
# for them in the lower-cased text first costs ~1.7 µs on a short message, where the full
# pattern, case-insensitive, costs ~11 µs: most messages have no date.
HINT = re.compile(
    r"\d|day|tom|ton|tm|2m|2n|wee|wk|morn|aft|even|nig|nite|mon|tue|wed|thu|fri|sat|sun"
    r"|noon|midnight|hour|hr|min|year|summer|spring|autumn|fall|winter"
)
WEEKDAYS = {"mo": 0, "tu": 1, "we": 2, "th": 3, "fr": 4, "sa": 5, "su": 6}
MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9,
    "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30,
}  # fmt: skip


@cache
def pattern(kind: str) -> re.Pattern[str]:
    """One kind's pattern alone, whose groups are numbered from 1 (compiled when first
    needed: compiling them all at import would add ~4 ms to every worker's start)."""
    return re.compile(KINDS[kind], re.IGNORECASE)


# Short weekday names that are also words ("sun", "sat"): a date only after "on" or "for".
_AMBIGUOUS = frozenset({"mon", "wed", "sat", "sun"})
_ON_BEFORE = re.compile(r"(?:^|\W)(?:on|for)\s{1,3}$", re.IGNORECASE)


@dataclass(frozen=True)
class DateMention:
    start: int  # character offsets in the original text
    end: int
    text: str  # as written, without a leading "on" or "for"


def find_dates(text: str) -> list[DateMention]:
    """Every date phrase in `text`, in order; [] when there is none."""
    text = text[:MAX_TEXT]
    if not HINT.search(text.lower()):
        return []
    found = []
    for match in ANY.finditer(text):
        if _plausible(match, text):
            found.append(DateMention(match.start(), match.end(), match[0]))
    return found


def _plausible(match: re.Match[str], text: str) -> bool:
    """Whether what the pattern found is a date, not a word ("sun") or a day that no month
    has ("the 45th", "February 30")."""
    kind, phrase = match.lastgroup, match[0].casefold()
    if kind == "weekday":
        bare = phrase in _AMBIGUOUS
    else:
        bare = kind == "day_of_month" and phrase[0].isdigit()  # "5th" without "the"
    if bare and not _ON_BEFORE.search(text[max(0, match.start() - 8) : match.start()]):
        return False
    if kind == "iso":
        return iso(phrase) is not None
    if kind == "clock":
        return real_time(phrase)
    if kind in ("day_of_month", "month_day", "day_month"):
        groups = pattern(kind).fullmatch(phrase).groups()
        if kind == "day_of_month":
            return 1 <= int(groups[0]) <= 31
        month, day = groups[:2] if kind == "month_day" else groups[1::-1]
        year = int(groups[2]) if groups[2] else 2028  # a leap year: "February 29" is a day
        return 1 <= int(day) <= calendar.monthrange(year, MONTHS[month[:3]])[1]
    return True


_CLOCK_NUMBERS = re.compile(r"([0-9]{1,2})(?::([0-9]{2}))?(?::([0-9]{2}))?\s*([ap])?")


def real_time(phrase: str) -> bool:
    """Whether a clock time is one: "13pm", "99:99" and "0 am" are not."""
    found = _CLOCK_NUMBERS.search(phrase)
    if found is None:
        return True  # noon, midday, midnight
    hour, minute, second, ampm = found.groups()
    if any(int(part) > 59 for part in (minute, second) if part):
        return False
    return 1 <= int(hour) <= 12 if ampm else int(hour) <= 23


def iso(text: str) -> date | None:
    """The day of "2025-12-24", or None for one that no calendar has."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None
