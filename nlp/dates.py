"""Dates in weather questions: find the phrase ("tomorrow", "this weekend", "Dec 24th") in a
message, then resolve it to days against the bot's clock.

`find_dates` is one regex compiled at import and needs no clock, so it can run on every
message. `resolve` turns a phrase into a `DateRange`. Month-name dates ("24th of December",
"Dec 24") go to dateparser; what it gets wrong or does not know is written here: "this
weekend", "tonight", parts of the day, "the 5th" (it reads a bare "5th" as May), "next
Friday" (it treats it as "this Friday") and the texting spellings ("tmrw", "wknd").
"""

from __future__ import annotations

import calendar
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
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
_KINDS = {
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
_ANY = re.compile(
    r"(?<!\w)(?:" + "|".join(f"(?P<{k}>{p})" for k, p in _KINDS.items()) + r")(?!\w)",
    re.IGNORECASE,
)
# Every phrase above holds one of these (a month name always comes with a digit). Checking
# for them in the lower-cased text first costs ~1.7 µs on a short message, where the full
# pattern, case-insensitive, costs ~11 µs: most messages have no date.
_HINT = re.compile(
    r"\d|day|tom|ton|tm|2m|2n|wee|wk|morn|aft|even|nig|nite|mon|tue|wed|thu|fri|sat|sun"
    r"|noon|midnight|hour|hr|min|year|summer|spring|autumn|fall|winter"
)
# Short weekday names that are also words ("sun", "sat"): a date only after "on" or "for".
_AMBIGUOUS = frozenset({"mon", "wed", "sat", "sun"})
_ON_BEFORE = re.compile(r"(?:^|\W)(?:on|for)\s{1,3}$", re.IGNORECASE)
_LEADING = re.compile(r"^(?:on|for)\s+", re.IGNORECASE)
_WEEKDAYS = {"mo": 0, "tu": 1, "we": 2, "th": 3, "fr": 4, "sa": 5, "su": 6}
_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9,
    "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30,
}  # fmt: skip
_TODAY_PARTS = {
    "morning": "this morning", "afternoon": "this afternoon", "evening": "this evening",
    "night": "tonight",
}  # fmt: skip


@dataclass(frozen=True)
class DateMention:
    start: int  # character offsets in the original text
    end: int
    text: str  # as written, without a leading "on" or "for"


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


def find_dates(text: str) -> list[DateMention]:
    """Every date phrase in `text`, in order; [] when there is none."""
    text = text[:MAX_TEXT]
    if not _HINT.search(text.lower()):
        return []
    found = []
    for match in _ANY.finditer(text):
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
        return _iso(phrase) is not None
    if kind == "clock":
        return _real_time(phrase)
    if kind in ("day_of_month", "month_day", "day_month"):
        groups = _pattern(kind).fullmatch(phrase).groups()
        if kind == "day_of_month":
            return 1 <= int(groups[0]) <= 31
        month, day = groups[:2] if kind == "month_day" else groups[1::-1]
        year = int(groups[2]) if groups[2] else 2028  # a leap year: "February 29" is a day
        return 1 <= int(day) <= calendar.monthrange(year, _MONTHS[month[:3]])[1]
    return True


_CLOCK_NUMBERS = re.compile(r"([0-9]{1,2})(?::([0-9]{2}))?(?::([0-9]{2}))?\s*([ap])?")


def _real_time(phrase: str) -> bool:
    """Whether a clock time is one: "13pm", "99:99" and "0 am" are not."""
    found = _CLOCK_NUMBERS.search(phrase)
    if found is None:
        return True  # noon, midday, midnight
    hour, minute, second, ampm = found.groups()
    if any(int(part) > 59 for part in (minute, second) if part):
        return False
    return 1 <= int(hour) <= 12 if ampm else int(hour) <= 23


def resolve(phrase: str, now: datetime) -> DateRange | None:
    """The days `phrase` means when said at `now` (aware, in the bot's time zone), or None."""
    if not isinstance(phrase, str) or len(phrase) > 60:
        return None
    cleaned = _LEADING.sub("", " ".join(phrase.split()))
    found = _ANY.fullmatch(cleaned)
    if found is None:
        return None
    today = now.date()
    days = _RESOLVERS[found.lastgroup](_pattern(found.lastgroup).fullmatch(cleaned), today)
    return None if days is None else DateRange(*days, asked_on=today)


@cache
def _pattern(kind: str) -> re.Pattern[str]:
    """One kind's pattern alone, whose groups are numbered from 1 (compiled when first
    needed: compiling them all at import would add ~4 ms to every worker's start)."""
    return re.compile(_KINDS[kind], re.IGNORECASE)


Days = tuple[date, date] | tuple[date, date, str]


def _single(day: date, part: str | None = None) -> Days:
    return day, day, _part(part)


def _part(word: str | None) -> str:
    return "night" if (word or "").casefold() == "nite" else (word or "").casefold()


def _next_monday(today: date) -> date:
    return today + timedelta(days=7 - today.weekday())


def _weekday(match: re.Match[str], today: date) -> Days:
    """Plain "Friday" and "this Friday" are the coming one: today, when today is Friday.
    "Next Friday" is the Friday of next week (Monday to Sunday): from a Tuesday, 10 days on."""
    prefix, name, part = match.groups()
    target = _WEEKDAYS[name[:2].casefold()]
    if prefix and prefix.casefold() == "next":
        return _single(_next_monday(today) + timedelta(days=target), part)
    return _single(today + timedelta(days=(target - today.weekday()) % 7), part)


def _weekend(match: re.Match[str], today: date) -> Days:
    """This weekend is the coming Saturday and Sunday, or what is left of it on a Saturday or
    Sunday; next weekend is the one of next week."""
    if (match[1] or "").casefold() == "next":
        saturday = _next_monday(today) + timedelta(days=5)
        return saturday, saturday + timedelta(days=1)
    saturday = today + timedelta(days=max(0, 5 - today.weekday()))
    return saturday, today + timedelta(days=6 - today.weekday())


def _week(match: re.Match[str], today: date) -> Days:
    """This week is today to Sunday; next week is Monday to Sunday of next week."""
    if match[1].casefold() == "next":
        monday = _next_monday(today)
        return monday, monday + timedelta(days=6)
    return today, today + timedelta(days=6 - today.weekday())


_UNIT_DAYS = {"d": 1, "w": 7, "m": 30, "y": 365}


def _days_ahead(match: re.Match[str], today: date) -> Days:
    count, unit = match[1].casefold(), match[2].casefold()
    days = int(count) if count.isdigit() else _NUMBERS[count]
    return _single(today + timedelta(days=days * _UNIT_DAYS[unit[0]]))


def _clock(match: re.Match[str], today: date) -> Days:
    """A time of day is today, with its part of the day: the daily forecast answers for it."""
    hour_ampm, ampm, hour_oclock, word = match.groups()
    if word:
        return _single(today, "night" if word.casefold() == "midnight" else "afternoon")
    hour = int(hour_ampm or hour_oclock or match[0].split(":")[0].split()[-1])
    if ampm:  # 12 am is midnight, 12 pm noon
        hour = hour % 12 + (12 if ampm[0].casefold() == "p" else 0)
    part = (
        "night" if hour < 5 or hour >= 21
        else "morning" if hour < 12
        else "afternoon" if hour < 17
        else "evening"
    )  # fmt: skip
    return _single(today, part)


def _period(match: re.Match[str], today: date) -> Days:
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


def _day_of_month(match: re.Match[str], today: date) -> Days | None:
    """The next 5th from today on, skipping months too short for it ("the 31st")."""
    day = int(match[1])
    if not 1 <= day <= 31:
        return None
    year, month = today.year, today.month
    for _ in range(13):
        if day <= calendar.monthrange(year, month)[1] and date(year, month, day) >= today:
            return _single(date(year, month, day))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None


def _iso(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _month_name(match: re.Match[str], today: date) -> Days | None:
    day = _with_month_name(match[0], today, has_year=match.lastindex == 3)
    return None if day is None else _single(day)


_DATEPARSER_LOCK = threading.Lock()


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


_RESOLVERS: dict[str, Callable[[re.Match[str], date], Days | None]] = {
    "day_after_tomorrow": lambda m, today: _single(today + timedelta(days=2)),
    "day_before_yesterday": lambda m, today: _single(today - timedelta(days=2)),
    "tomorrow": lambda m, today: _single(today + timedelta(days=1), m.group(1)),
    "tonight": lambda m, today: _single(today, "night"),
    "today_part": lambda m, today: _single(today, m.group(1)),
    "today": lambda m, today: _single(today),
    "yesterday": lambda m, today: _single(today - timedelta(days=1)),
    "weekend": _weekend,
    "week": _week,
    "month_day": _month_name,
    "day_month": _month_name,
    "day_of_month": _day_of_month,
    "weekday": _weekday,
    "in_days": _days_ahead,
    "days_from_now": _days_ahead,
    "in_hours": lambda m, today: _single(today),
    "clock": _clock,
    "period": _period,
    "iso": lambda m, today: None if (day := _iso(m[0])) is None else _single(day),
}
