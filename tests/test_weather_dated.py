"""The weather skill asked about a day, against a real HTTP server on 127.0.0.1 playing
Open-Meteo: a gazetteer place needs no geocoding, each day gets its own line, the past and
the far future are answered without a call, and a wrong answer falls back like any other.
The clock is fixed: Tuesday 1 December 2026, 15:00 in Lisbon."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from config import settings_from
from conversation import ActionContext
from engine import Location, Message
from skills.live import weather
from skills.offline import offline_weather
from skills.services import Services
from tests.conftest import live_settings

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=ZoneInfo("Europe/Lisbon"))
PORTO = {
    "name": "Porto",
    "kind": "city",
    "country": "Portugal",
    "country_code": "PT",
    "admin": "Porto",
    "latitude": 41.15,
    "longitude": -8.61,
    "text": "porto",
}
PORTLAND = {
    "name": "Portland",
    "kind": "city",
    "country": "United States",
    "country_code": "US",
    "admin": "Maine",
    "latitude": 43.66,
    "longitude": -70.25,
    "text": "portland",
}
DAILY = (
    "weather_code,temperature_2m_max,temperature_2m_min,precipitation_probability_max,"
    "wind_speed_10m_max"
)
RAIN = (63, 16.2, 10.8, 80, 25.4)  # (code, max °C, min °C, rain %, wind km/h)
CLEAR = (0, 14, 9, 5, 10)


def daily(first: str, *rows: tuple) -> dict:
    """Open-Meteo's daily answer: one row a day from `first`."""
    start = date.fromisoformat(first)
    codes, highs, lows, rain, wind = (list(column) for column in zip(*rows, strict=True))
    return {
        "latitude": 41.15,
        "longitude": -8.61,
        "timezone": "Europe/Lisbon",
        "daily": {
            "time": [(start + timedelta(days=n)).isoformat() for n in range(len(rows))],
            "weather_code": codes,
            "temperature_2m_max": highs,
            "temperature_2m_min": lows,
            "precipitation_probability_max": rain,
            "wind_speed_10m_max": wind,
        },
    }


def daily_query(first: str, last: str, latitude="41.1500", longitude="-8.6100", zone=None):
    return {
        "latitude": latitude,
        "longitude": longitude,
        "daily": DAILY,
        "timezone": zone or "Europe/Lisbon",
        "start_date": first,
        "end_date": last,
    }


@pytest.fixture
def services(upstream):
    base = upstream.url_for("").rstrip("/")
    return Services.from_settings(settings_from({}, live_settings(base)))


def ask(services, city, when=None, now=NOW, location=None) -> str:
    slots = {"city": city} if city is not None else {}
    if when is not None:
        slots["date"] = {"text": when}
    message = Message("test", "whatsapp:+15550001", location=location)
    context = ActionContext(message, slots, {}, now, random.Random(7), services)
    return weather(context).variables["report"]


def requests_seen(upstream) -> list[tuple[str, dict]]:
    return [(request.path, request.args.to_dict()) for request, _ in upstream.log]


# -- a day ----------------------------------------------------------------------------------


def test_a_gazetteer_place_is_asked_about_by_its_coordinates_alone(upstream, services):
    query = daily_query("2026-12-05", "2026-12-05")
    upstream.expect_request("/v1/forecast", query_string=query).respond_with_json(
        daily("2026-12-05", RAIN)
    )
    assert ask(services, PORTO, "the 5th") == (
        "🌧 Porto, Portugal, Saturday 5 December: 11–16°C, rain, 80% chance of rain, "
        "wind up to 25 km/h."
    )
    assert requests_seen(upstream) == [("/v1/forecast", query)]


def test_a_city_by_name_is_still_geocoded(upstream, services):
    upstream.expect_request(
        "/v1/search", query_string={"name": "Lisbon", "count": "1"}
    ).respond_with_json(
        {
            "results": [
                {"name": "Lisbon", "country": "Portugal", "latitude": 38.72, "longitude": -9.13}
            ]
        }
    )
    query = daily_query("2026-12-02", "2026-12-02", latitude="38.7200", longitude="-9.1300")
    upstream.expect_request("/v1/forecast", query_string=query).respond_with_json(
        daily("2026-12-02", (2, 18, 12, 10, 12))
    )
    assert ask(services, "Lisbon", "tmrw") == (
        "⛅ Lisbon, Portugal, tomorrow: 12–18°C, partly cloudy, 10% chance of rain, "
        "wind up to 12 km/h."
    )
    assert [path for path, _ in requests_seen(upstream)] == ["/v1/search", "/v1/forecast"]


def test_tonight_is_todays_forecast(upstream, services):
    query = daily_query("2026-12-01", "2026-12-01")
    upstream.expect_request("/v1/forecast", query_string=query).respond_with_json(
        daily("2026-12-01", CLEAR)
    )
    assert ask(services, PORTO, "tonight") == (
        "☀️ Porto, Portugal, tonight: 9–14°C, clear sky, 5% chance of rain, wind up to 10 km/h."
    )


def test_missing_values_are_left_out(upstream, services):
    upstream.expect_request("/v1/forecast").respond_with_json(
        daily("2026-12-04", (73, -0.4, -3.6, None, None))
    )
    assert ask(services, PORTO, "Friday") == ("❄️ Porto, Portugal, Friday 4 December: -4–0°C, snow.")


def test_without_a_zone_name_open_meteo_uses_the_places_own(upstream, services):
    now = NOW.astimezone(UTC)  # a fixed offset, not a ZoneInfo
    query = daily_query("2026-12-02", "2026-12-02", zone="auto")
    upstream.expect_request("/v1/forecast", query_string=query).respond_with_json(
        daily("2026-12-02", RAIN)
    )
    assert ask(services, PORTO, "tomorrow", now=now).startswith("🌧 Porto, Portugal, tomorrow:")


def test_a_us_city_is_labelled_with_its_state(upstream, services):
    current = {
        "latitude": "43.6600",
        "longitude": "-70.2500",
        "current": "temperature_2m,weather_code,wind_speed_10m",
    }
    upstream.expect_request("/v1/forecast", query_string=current).respond_with_json(
        {"current": {"temperature_2m": -2, "weather_code": 71, "wind_speed_10m": 20}}
    )
    assert ask(services, PORTLAND) == (
        "🌨 Portland, Maine, United States: -2°C, light snow, wind 20 km/h."
    )
    assert [path for path, _ in requests_seen(upstream)] == ["/v1/forecast"]


# -- several days ---------------------------------------------------------------------------


def test_the_weekend_is_a_line_a_day(upstream, services):
    query = daily_query("2026-12-05", "2026-12-06")
    upstream.expect_request("/v1/forecast", query_string=query).respond_with_json(
        daily("2026-12-05", RAIN, (73, 2, -1, 60, 30))
    )
    assert ask(services, PORTO, "this weekend") == (
        "Porto, Portugal, Saturday 5 – Sunday 6 December:\n"
        "🌧 Saturday 5: 11–16°C, rain, 80% chance of rain, wind up to 25 km/h.\n"
        "❄️ Sunday 6: -1–2°C, snow, 60% chance of snow, wind up to 30 km/h."
    )


def test_next_week_is_seven_lines(upstream, services):
    query = daily_query("2026-12-07", "2026-12-13")
    upstream.expect_request("/v1/forecast", query_string=query).respond_with_json(
        daily("2026-12-07", *[CLEAR] * 7)
    )
    lines = ask(services, PORTO, "next week").split("\n")
    assert lines[0] == "Porto, Portugal, Monday 7 – Sunday 13 December:"
    assert lines[1:] == [
        f"☀️ {day} {n}: 9–14°C, clear sky, 5% chance of rain, wind up to 10 km/h."
        for n, day in enumerate(
            ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"], 7
        )
    ]


# -- no forecast needed ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "answer"),
    [
        ("yesterday", "Yesterday's weather is behind me; I can only look ahead."),
        (
            "the day before yesterday",
            "The weather on Sunday 29 November is behind me; I can only look ahead.",
        ),
        ("2026-11-20", "The weather on Friday 20 November is behind me; I can only look ahead."),
        ("December 24", "I can only see 16 days ahead; 24 December is 23 days away."),
        ("in 16 days", "I can only see 16 days ahead; 17 December is 16 days away."),
        ("Jan 3", "I can only see 16 days ahead; 3 January 2027 is 33 days away."),
    ],
)
def test_the_past_and_the_far_future_are_answered_without_a_call(upstream, services, when, answer):
    assert ask(services, PORTO, when) == answer
    assert ask(services, "Lisbon", when) == answer
    assert upstream.log == []


def test_the_last_day_the_forecast_reaches(upstream, services):
    query = daily_query("2026-12-16", "2026-12-16")
    upstream.expect_request("/v1/forecast", query_string=query).respond_with_json(
        daily("2026-12-16", CLEAR)
    )
    assert ask(services, PORTO, "in 15 days").startswith(
        "☀️ Porto, Portugal, Wednesday 16 December:"
    )


@pytest.mark.parametrize("when", [None, "today", "blursday", "the 45th", "x" * 5000])
def test_now_when_no_day_or_today_or_nothing_readable_is_asked(upstream, services, when):
    current = {
        "latitude": "41.1500",
        "longitude": "-8.6100",
        "current": "temperature_2m,weather_code,wind_speed_10m",
    }
    upstream.expect_request("/v1/forecast", query_string=current).respond_with_json(
        {"current": {"temperature_2m": 21.4, "weather_code": 2, "wind_speed_10m": 12.3}}
    )
    assert ask(services, PORTO, when) == "⛅ Porto, Portugal: 21°C, partly cloudy, wind 12 km/h."


def test_a_shared_location_with_a_day(upstream, services):
    query = daily_query("2026-12-02", "2026-12-02", latitude="51.5072", longitude="-0.1276")
    upstream.expect_request("/v1/forecast", query_string=query).respond_with_json(
        daily("2026-12-02", RAIN)
    )
    location = Location(51.5072, -0.1276, label="Trafalgar Square")
    assert ask(services, None, "tomorrow", location=location).startswith(
        "🌧 Trafalgar Square, tomorrow: 11–16°C"
    )


# -- failures -------------------------------------------------------------------------------

OFFLINE_SATURDAY = (
    "I can't reach the weather service right now, so I can't tell you the weather in Porto "
    "for Saturday 5 December yet. 🌦"
)


def shaped(**daily_fields) -> dict:
    answer = daily("2026-12-05", RAIN)
    answer["daily"].update(daily_fields)
    return answer


@pytest.mark.parametrize(
    "answer",
    [
        {"current": {}},
        {"daily": ["2026-12-05"]},
        shaped(time=["2026-12-06"]),
        shaped(time="2026-12-05"),
        shaped(weather_code=[63, 63]),
        shaped(temperature_2m_max="16"),
        shaped(temperature_2m_min=["10"]),
        shaped(precipitation_probability_max=[True]),
        shaped(wind_speed_10m_max=[{"value": 25}]),
        {k: v for k, v in shaped().items() if k != "daily"},
        [1, 2, 3],
    ],
)
def test_a_daily_answer_of_the_wrong_shape_falls_back(upstream, services, answer):
    upstream.expect_request("/v1/forecast").respond_with_json(answer)
    assert ask(services, PORTO, "the 5th") == OFFLINE_SATURDAY


def test_a_daily_answer_with_nan_falls_back(upstream, services):
    body = '{"daily": {"time": ["2026-12-05"], "weather_code": [NaN], "temperature_2m_max": [1],'
    body += ' "temperature_2m_min": [1], "precipitation_probability_max": [1],'
    body += ' "wind_speed_10m_max": [1]}}'
    upstream.expect_request("/v1/forecast").respond_with_data(body, content_type="application/json")
    assert ask(services, PORTO, "the 5th") == OFFLINE_SATURDAY


def test_a_server_error_falls_back(upstream, services):
    upstream.expect_request("/v1/forecast").respond_with_data("Internal error", status=500)
    assert ask(services, PORTO, "the 5th") == OFFLINE_SATURDAY


# -- offline --------------------------------------------------------------------------------


def offline(city, when=None) -> str:
    slots = {"city": city} if city is not None else {}
    if when is not None:
        slots["date"] = {"text": when}
    context = ActionContext(Message("test", "whatsapp:+15550001"), slots, {}, NOW, random.Random(7))
    return offline_weather(context).variables["report"]


@pytest.mark.parametrize(
    ("city", "when", "answer"),
    [
        (PORTO, None, "the weather in Porto yet. 🌦"),
        ("Porto", "today", "the weather in Porto yet. 🌦"),
        (PORTO, "tomorrow", "the weather in Porto for tomorrow yet. 🌦"),
        (PORTO, "tonight", "the weather in Porto for tonight yet. 🌦"),
        ("Porto", "this weekend", "the weather in Porto for Saturday 5 – Sunday 6 December yet. 🌦"),
        (None, "on Friday", "the weather there for Friday 4 December yet. 🌦"),
    ],
)
def test_offline_names_the_place_and_the_day(city, when, answer):
    report = offline(city, when)
    assert report == f"I can't reach the weather service right now, so I can't tell you {answer}"


def test_offline_still_says_the_past_is_behind_it():
    assert offline(PORTO, "yesterday") == "Yesterday's weather is behind me; I can only look ahead."
    assert ask(None, PORTO, "yesterday") == offline(PORTO, "yesterday")
