"""Date phrases in weather questions: where `find_dates` sees them, and the days `resolve`
makes of them on a fixed clock (Tuesday 1 December 2026, 15:00 in Lisbon)."""

from __future__ import annotations

from datetime import date, datetime
from itertools import product
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nlp.dates import DateMention, DateRange, find_dates, resolve

LISBON = ZoneInfo("Europe/Lisbon")
NOW = datetime(2026, 12, 1, 15, 0, tzinfo=LISBON)  # a Tuesday
YEAR_END = datetime(2026, 12, 30, 10, 0, tzinfo=LISBON)  # a Wednesday


def days(phrase: str, now: datetime = NOW) -> tuple[str, str, str] | None:
    found = resolve(phrase, now)
    return None if found is None else (found.start.isoformat(), found.end.isoformat(), found.part)


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("today", ("2026-12-01", "2026-12-01", "")),
        ("tonight", ("2026-12-01", "2026-12-01", "night")),
        ("tonite", ("2026-12-01", "2026-12-01", "night")),
        ("this morning", ("2026-12-01", "2026-12-01", "morning")),
        ("this afternoon", ("2026-12-01", "2026-12-01", "afternoon")),
        ("this evening", ("2026-12-01", "2026-12-01", "evening")),
        ("tomorrow", ("2026-12-02", "2026-12-02", "")),
        ("Tomorrow", ("2026-12-02", "2026-12-02", "")),
        ("for tomorrow", ("2026-12-02", "2026-12-02", "")),
        ("tmrw", ("2026-12-02", "2026-12-02", "")),
        ("tmr", ("2026-12-02", "2026-12-02", "")),
        ("tomorow", ("2026-12-02", "2026-12-02", "")),
        ("tommorow", ("2026-12-02", "2026-12-02", "")),
        ("2moro", ("2026-12-02", "2026-12-02", "")),
        ("tomorrow morning", ("2026-12-02", "2026-12-02", "morning")),
        ("tomorrow night", ("2026-12-02", "2026-12-02", "night")),
        ("tmrw nite", ("2026-12-02", "2026-12-02", "night")),
        ("the day after tomorrow", ("2026-12-03", "2026-12-03", "")),
        ("day after tmrw", ("2026-12-03", "2026-12-03", "")),
        ("yesterday", ("2026-11-30", "2026-11-30", "")),
        ("the day before yesterday", ("2026-11-29", "2026-11-29", "")),
        ("this weekend", ("2026-12-05", "2026-12-06", "")),
        ("the weekend", ("2026-12-05", "2026-12-06", "")),
        ("weekend", ("2026-12-05", "2026-12-06", "")),
        ("this wknd", ("2026-12-05", "2026-12-06", "")),
        ("next weekend", ("2026-12-12", "2026-12-13", "")),
        ("Friday", ("2026-12-04", "2026-12-04", "")),
        ("on Friday", ("2026-12-04", "2026-12-04", "")),
        ("this Friday", ("2026-12-04", "2026-12-04", "")),
        ("fri", ("2026-12-04", "2026-12-04", "")),
        ("next Friday", ("2026-12-11", "2026-12-11", "")),
        ("Friday evening", ("2026-12-04", "2026-12-04", "evening")),
        ("Tuesday", ("2026-12-01", "2026-12-01", "")),
        ("next Tuesday", ("2026-12-08", "2026-12-08", "")),
        ("Monday", ("2026-12-07", "2026-12-07", "")),
        ("this week", ("2026-12-01", "2026-12-06", "")),
        ("next week", ("2026-12-07", "2026-12-13", "")),
        ("in 3 days", ("2026-12-04", "2026-12-04", "")),
        ("in three days", ("2026-12-04", "2026-12-04", "")),
        ("3 days from now", ("2026-12-04", "2026-12-04", "")),
        ("in a week", ("2026-12-08", "2026-12-08", "")),
        ("on the 5th", ("2026-12-05", "2026-12-05", "")),
        ("the 5th", ("2026-12-05", "2026-12-05", "")),
        ("the 1st", ("2026-12-01", "2026-12-01", "")),
        ("the 31st", ("2026-12-31", "2026-12-31", "")),
        ("December 24", ("2026-12-24", "2026-12-24", "")),
        ("24 December", ("2026-12-24", "2026-12-24", "")),
        ("Dec 24th", ("2026-12-24", "2026-12-24", "")),
        ("dec. 24", ("2026-12-24", "2026-12-24", "")),
        ("24th of December", ("2026-12-24", "2026-12-24", "")),
        ("the 24th of December", ("2026-12-24", "2026-12-24", "")),
        ("2026-12-24", ("2026-12-24", "2026-12-24", "")),
        ("Dec 24, 2027", ("2027-12-24", "2027-12-24", "")),
        ("Dec 1", ("2026-12-01", "2026-12-01", "")),  # today, not next year
        ("January 3", ("2027-01-03", "2027-01-03", "")),
        # A date without a year is the next one: yesterday's date is next year's.
        ("November 30", ("2027-11-30", "2027-11-30", "")),
    ],
)
def test_phrases_resolve_to_days(phrase, expected):
    assert days(phrase) == expected


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("tomorrow", ("2026-12-31", "2026-12-31", "")),
        ("the day after tomorrow", ("2027-01-01", "2027-01-01", "")),
        ("in 3 days", ("2027-01-02", "2027-01-02", "")),
        ("Friday", ("2027-01-01", "2027-01-01", "")),
        ("next Friday", ("2027-01-08", "2027-01-08", "")),
        ("this weekend", ("2027-01-02", "2027-01-03", "")),
        ("this week", ("2026-12-30", "2027-01-03", "")),
        ("next week", ("2027-01-04", "2027-01-10", "")),
        ("the 5th", ("2027-01-05", "2027-01-05", "")),
        ("the 30th", ("2026-12-30", "2026-12-30", "")),
        ("the 29th", ("2027-01-29", "2027-01-29", "")),
        ("Jan 3", ("2027-01-03", "2027-01-03", "")),
        ("December 24", ("2027-12-24", "2027-12-24", "")),
        ("2026-12-24", ("2026-12-24", "2026-12-24", "")),  # a year said is kept, even past
    ],
)
def test_across_the_end_of_a_month_and_a_year(phrase, expected):
    assert days(phrase, YEAR_END) == expected


def test_the_30th_skips_a_month_too_short_for_it():
    assert days("the 30th", datetime(2027, 2, 1, tzinfo=LISBON)) == (
        "2027-03-30",
        "2027-03-30",
        "",
    )


def test_a_weekday_said_on_that_weekday_is_today_and_next_is_next_week():
    friday = datetime(2026, 12, 4, 9, 0, tzinfo=LISBON)
    assert days("on Friday", friday) == ("2026-12-04", "2026-12-04", "")
    assert days("this Friday", friday) == ("2026-12-04", "2026-12-04", "")
    assert days("next Friday", friday) == ("2026-12-11", "2026-12-11", "")
    assert days("Thursday", friday) == ("2026-12-10", "2026-12-10", "")


def test_this_weekend_on_the_weekend_is_what_is_left_of_it():
    saturday = datetime(2026, 12, 5, 9, 0, tzinfo=LISBON)
    sunday = datetime(2026, 12, 6, 9, 0, tzinfo=LISBON)
    assert days("this weekend", saturday) == ("2026-12-05", "2026-12-06", "")
    assert days("this weekend", sunday) == ("2026-12-06", "2026-12-06", "")
    assert days("next weekend", sunday) == ("2026-12-12", "2026-12-13", "")
    assert days("this week", sunday) == ("2026-12-06", "2026-12-06", "")


@pytest.mark.parametrize(
    ("phrase", "now", "label"),
    [
        ("today", NOW, "today"),
        ("tonight", NOW, "tonight"),
        ("this evening", NOW, "this evening"),
        ("tomorrow", NOW, "tomorrow"),
        ("tomorrow morning", NOW, "tomorrow morning"),
        ("yesterday", NOW, "yesterday"),
        ("the 5th", NOW, "Saturday 5 December"),
        ("Friday evening", NOW, "Friday 4 December, evening"),
        ("this weekend", NOW, "Saturday 5 – Sunday 6 December"),
        ("this week", YEAR_END, "Wednesday 30 December – Sunday 3 January"),
    ],
)
def test_labels(phrase, now, label):
    assert resolve(phrase, now).label == label


def test_a_range_made_by_hand_has_no_today_to_be_relative_to():
    assert DateRange(date(2026, 12, 1), date(2026, 12, 1)).label == "Tuesday 1 December"
    assert DateRange(date(2026, 12, 1), date(2026, 12, 1)) == resolve("today", NOW)


# -- finding phrases in messages ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("weather in Porto tomorrow", [DateMention(17, 25, "tomorrow")]),
        ("Weather on Friday in Lisbon?", [DateMention(11, 17, "Friday")]),
        ("forecast for this weekend pls", [DateMention(13, 25, "this weekend")]),
        ("rain in 3 days?", [DateMention(5, 14, "in 3 days")]),
        ("and on the 5th", [DateMention(7, 14, "the 5th")]),
        ("and on 5th", [DateMention(7, 10, "5th")]),
        ("Porto, Dec 24th!", [DateMention(7, 15, "Dec 24th")]),
        ("24th of December in Faro", [DateMention(0, 16, "24th of December")]),
        ("December 24 in Faro", [DateMention(0, 11, "December 24")]),
        ("on 2026-12-24", [DateMention(3, 13, "2026-12-24")]),
        ("TMRW in São Paulo 🌧", [DateMention(0, 4, "TMRW")]),
        ("São Paulo 🌧 tmrw", [DateMention(12, 16, "tmrw")]),
        ("today and tomorrow", [DateMention(0, 5, "today"), DateMention(10, 18, "tomorrow")]),
        ("will it rain on sun", [DateMention(16, 19, "sun")]),
        ("the day after tomorrow", [DateMention(0, 22, "the day after tomorrow")]),
    ],
)
def test_find_dates_gives_offsets_and_the_phrase_as_written(text, expected):
    assert find_dates(text) == expected
    assert all(text[m.start : m.end] == m.text for m in expected)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hi",
        "what's the weather in Lisbon",
        "is it sunny in Porto",
        "is there sun in Porto",  # "sun" is a date only after "on"
        "I sat down, then the mon came",
        "convert 10 usd to eur",
        "my 5th question",  # an ordinal is a day only after "the" or "on"
        "the 45th",
        "February 30",
        "31 April",
        "on 2026-02-30",
        "Saturday5",
        "midweek weekender",
        "on the ٥th",  # digits of another script
    ],
)
def test_messages_without_a_date(text):
    assert find_dates(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "x" * 5000,
        "🌧" * 5000,
        "1234567890" * 500,
        "tomorrow " * 700,
        "\x00\x01\u202e\ufeff",
        "on " * 2000,
        "the 99999999999999999999th",
    ],
)
def test_garbage_never_crashes(text):
    for mention in find_dates(text):
        assert text[mention.start : mention.end] == mention.text
    assert resolve(text, NOW) is None or len(text) <= 60


@pytest.mark.parametrize(
    "phrase",
    [
        "",
        "   ",
        "the 45th",
        "the 0th",
        "February 30",
        "feb 29, 2027",
        "Dec 0",
        "2026-13-01",
        "next blursday",
        "tomorrow-ish",
        "12345",
        "x" * 5000,
        "🌧",
    ],
)
def test_phrases_that_are_no_date_resolve_to_none(phrase):
    assert resolve(phrase, NOW) is None


MONTHS = ["January", "jan", "Feb", "february", "mar", "May", "sept", "Sep", "dec.", "December"]


def test_every_month_name_date_found_resolves():
    """What `find_dates` accepts, dateparser reads (no day that no month has gets through)."""
    forms = ["{m} {d}", "{d} {m}", "{d}th of {m}", "the {d}th of {m}", "{m} {d}, 2027"]
    for form, month, day in product(forms, MONTHS, [1, 9, 28, 29, 30, 31]):
        text = form.format(m=month, d=day)
        for mention in find_dates(text):
            assert resolve(mention.text, NOW) is not None, text


WORDS = ["weather", "in", "on", "the", "rain", "Porto", "tmrw", "sat", "5th", "Dec", "24",
         "this", "next", "weekend", "fri", "of", "days", "3", "from", "now", "tonight", "🌧"]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(WORDS) | st.text(max_size=4), max_size=12))
def test_whatever_is_found_resolves_and_sits_where_it_says(words):
    text = " ".join(words)
    for mention in find_dates(text):
        assert text[mention.start : mention.end] == mention.text
        assert resolve(mention.text, NOW) is not None


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("at 6 AM", ("2026-12-01", "2026-12-01", "morning")),
        ("at 10:30 pm", ("2026-12-01", "2026-12-01", "night")),
        ("3pm", ("2026-12-01", "2026-12-01", "afternoon")),
        ("at 7 o'clock", ("2026-12-01", "2026-12-01", "morning")),
        ("at noon", ("2026-12-01", "2026-12-01", "afternoon")),
        ("midnight", ("2026-12-01", "2026-12-01", "night")),
        ("in 3 hours", ("2026-12-01", "2026-12-01", "")),
        ("twenty minutes from now", ("2026-12-01", "2026-12-01", "")),
        ("in 2 months", ("2027-01-30", "2027-01-30", "")),
        ("in a year", ("2027-12-01", "2027-12-01", "")),
        ("this month", ("2026-12-01", "2026-12-31", "")),
        ("next month", ("2027-01-01", "2027-01-31", "")),
        ("next year", ("2027-01-01", "2027-12-31", "")),
        ("this winter", ("2026-12-01", "2027-02-28", "")),
        ("next summer", ("2027-06-01", "2027-08-31", "")),
        ("this spring", ("2027-03-01", "2027-05-31", "")),
    ],
)
def test_times_of_day_durations_and_seasons(phrase, expected):
    # A time of day is today with its part; months, years and seasons are ranges that the
    # weather skill answers for as far as it can see, or says it cannot.
    assert days(phrase) == expected


def test_winter_said_in_january_is_the_winter_under_way():
    january = datetime(2027, 1, 10, 9, 0, tzinfo=LISBON)
    assert days("this winter", january) == ("2027-01-10", "2027-02-28", "")


def test_a_time_is_found_with_its_at_and_i_am_is_no_time():
    assert [m.text for m in find_dates("will it rain at 6 AM in Oslo")] == ["at 6 AM"]
    assert find_dates("i am here and it is cold") == []
