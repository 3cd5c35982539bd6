"""Every skill against a real HTTP server on 127.0.0.1 playing its API: the documented
answers, then errors, garbage, wrong shapes and refusals, each still answered kindly."""

from __future__ import annotations

import random

import pytest
import yaml

from config import settings_from
from engine import ConversationState, Engine, Location, Message
from ruletools import engine_for, load
from skills.offline import DATA
from skills.services import Services
from tests.conftest import live_settings
from tests.helpers import closed_port

OFFLINE_QUOTES = {q["q"] for q in yaml.safe_load((DATA / "quotes.yml").read_text())}
OFFLINE_JOKES = {j["setup"] for j in yaml.safe_load((DATA / "jokes.yml").read_text())}
OFFLINE_PICTURES = yaml.safe_load((DATA / "pictures.yml").read_text())


def live_engine(base_url: str) -> Engine:
    settings = settings_from({}, live_settings(base_url, BOT_ALLOW_PRIVATE_URLS="true"))
    return engine_for(load(), rng=random.Random(7), services=Services.from_settings(settings))


@pytest.fixture
def engine(upstream):
    return live_engine(upstream.url_for("").rstrip("/"))


def ask(engine: Engine, text: str = "", location: Location | None = None):
    message = Message("test", "whatsapp:+15550001", body=text, location=location)
    [reply] = engine.respond(ConversationState(), message).replies
    return reply


def failing(upstream, path: str, mode: str, shape: object = None) -> None:
    """Make `path` fail in one of the ways an upstream fails."""
    request = upstream.expect_request(path)
    if mode == "500":
        request.respond_with_data("Internal error", status=500)
    elif mode == "garbage":
        request.respond_with_data("<html>nginx</html>", content_type="text/html")
    elif mode == "wrong shape":
        request.respond_with_json(shape or {"unexpected": ["shape"]})
    elif mode == "empty":
        request.respond_with_json([])


MODES = ["500", "garbage", "wrong shape", "empty", "refused"]


def engine_failing(upstream, path: str, mode: str, shape: object = None) -> Engine:
    if mode == "refused":
        return live_engine(f"http://127.0.0.1:{closed_port()}")
    failing(upstream, path, mode, shape)
    return live_engine(upstream.url_for("").rstrip("/"))


# -- weather --------------------------------------------------------------------------------

LISBON = {
    "results": [{"name": "Lisbon", "country": "Portugal", "latitude": 38.72, "longitude": -9.13}]
}
CURRENT = {"current": {"temperature_2m": 21.4, "weather_code": 2, "wind_speed_10m": 12.3}}


def test_weather_in_a_city_the_gazetteer_knows_needs_no_geocoding(upstream, engine):
    place = engine.understand(Message("t", "t", body="weather in Lisbon")).slots["city"]
    forecast = {
        "latitude": f"{place['latitude']:.4f}",
        "longitude": f"{place['longitude']:.4f}",
        "current": "temperature_2m,weather_code,wind_speed_10m",
    }
    upstream.expect_request("/v1/forecast", query_string=forecast).respond_with_json(CURRENT)
    assert ask(engine, "weather in Lisbon").text == (
        "⛅ Lisbon, Portugal: 21°C, partly cloudy, wind 12 km/h."
    )
    assert [r.path for r, _ in upstream.log] == ["/v1/forecast"]


def test_weather_in_a_place_the_gazetteer_does_not_know_is_geocoded(upstream, engine):
    upstream.expect_request(
        "/v1/search", query_string={"name": "Horseshoe Lake", "count": "1"}
    ).respond_with_json(LISBON)
    forecast = {
        "latitude": "38.7200",
        "longitude": "-9.1300",
        "current": "temperature_2m,weather_code,wind_speed_10m",
    }
    upstream.expect_request("/v1/forecast", query_string=forecast).respond_with_json(CURRENT)
    assert ask(engine, "weather in Horseshoe Lake").text == (
        "⛅ Lisbon, Portugal: 21°C, partly cloudy, wind 12 km/h."
    )
    ask(engine, "weather in horseshoe lake")  # the place comes from the cache now
    assert [r.path for r, _ in upstream.log].count("/v1/search") == 1


def test_weather_at_a_shared_location_needs_no_geocoding(upstream, engine):
    forecast = {
        "latitude": "51.5072",
        "longitude": "-0.1276",
        "current": "temperature_2m,weather_code,wind_speed_10m",
    }
    upstream.expect_request("/v1/forecast", query_string=forecast).respond_with_json(
        {"current": {"temperature_2m": -3, "weather_code": 73, "wind_speed_10m": 30}}
    )
    location = Location(51.5072, -0.1276, label="Trafalgar Square")
    assert ask(engine, location=location).text == "❄️ Trafalgar Square: -3°C, snow, wind 30 km/h."
    assert [r.path for r, _ in upstream.log] == ["/v1/forecast"]


def test_weather_for_a_place_nobody_knows(upstream, engine):
    upstream.expect_request("/v1/search").respond_with_json({"generationtime_ms": 0.5})
    assert ask(engine, "weather in Xanadu Springs").text.startswith(
        "I couldn't find a place called Xanadu Springs."
    )


@pytest.mark.parametrize("mode", MODES)
def test_weather_failures_are_explained(upstream, mode):
    # An object without "results" is how Open-Meteo says "no such place", so a wrong shape
    # here is results of the wrong type.
    engine = engine_failing(upstream, "/v1/search", mode, shape={"results": "Lisbon"})
    text = ask(engine, "weather in Horseshoe Lake").text
    assert text.startswith("I can't reach the weather service right now")


# -- wikipedia ------------------------------------------------------------------------------


def summary(title: str, kind: str = "standard", extract: str = "") -> dict:
    return {
        "type": kind,
        "title": title,
        "extract": extract,
        "content_urls": {"mobile": {"page": f"https://en.m.wikipedia.org/wiki/{title}"}},
    }


def test_wiki_summary(upstream, engine):
    text = "Ada Lovelace was an English mathematician. She wrote the first program. " * 3
    upstream.expect_request("/api/rest_v1/page/summary/Ada_Lovelace").respond_with_json(
        summary("Ada Lovelace", extract=text)
    )
    reply = ask(engine, "who is Ada Lovelace").text
    assert reply.startswith("📚 *Ada Lovelace*: Ada Lovelace was an English mathematician.")
    assert reply.endswith("https://en.m.wikipedia.org/wiki/Ada Lovelace")


def test_wiki_disambiguation_offers_the_meanings(upstream, engine):
    upstream.expect_request("/api/rest_v1/page/summary/Mercury").respond_with_json(
        summary("Mercury", kind="disambiguation")
    )
    upstream.expect_request("/w/api.php").respond_with_json(
        ["Mercury", ["Mercury", "Mercury (planet)", "Mercury (element)"], [], []]
    )
    assert (
        "can mean several things: *Mercury (planet)*, *Mercury (element)*. Which one?"
        in ask(engine, "what is Mercury").text
    )


def test_wiki_not_found_offers_the_closest_titles(upstream, engine):
    upstream.expect_request("/api/rest_v1/page/summary/Pyhton").respond_with_json(
        {"title": "Not found."}, status=404
    )
    upstream.expect_request(
        "/w/api.php",
        query_string={"action": "opensearch", "search": "Pyhton", "limit": "5", "format": "json"},
    ).respond_with_json(["Pyhton", ["Python", "Python (language)"], [], []])
    assert (
        "The closest I know: *Python*, *Python (language)*." in ask(engine, "what is Pyhton").text
    )


@pytest.mark.parametrize("mode", MODES)
def test_wiki_failures_still_give_a_link(upstream, mode):
    engine = engine_failing(upstream, "/api/rest_v1/page/summary/Ada_Lovelace", mode)
    text = ask(engine, "who is Ada Lovelace").text
    assert "I can't reach Wikipedia right now" in text
    assert text.endswith("https://en.wikipedia.org/wiki/Ada_Lovelace")


# -- quotes, jokes, pictures ----------------------------------------------------------------


def test_quote(upstream, engine):
    upstream.expect_request("/api/random").respond_with_json(
        [{"q": "Stay hungry.", "a": "S. Brand"}]
    )
    assert ask(engine, "inspire me").text == "✨ “Stay hungry.” — S. Brand"


def test_zenquotes_rate_limit_notice_is_not_a_quote(upstream, engine):
    notice = [
        {"q": "Too many requests. Obtain an auth key for unlimited access.", "a": "zenquotes.io"}
    ]
    upstream.expect_request("/api/random").respond_with_json(notice)
    text = ask(engine, "inspire me").text
    assert "Too many requests" not in text
    assert any(q in text for q in OFFLINE_QUOTES)


@pytest.mark.parametrize("mode", MODES)
def test_quote_failures_fall_back_to_the_bundled_quotes(upstream, mode):
    engine = engine_failing(upstream, "/api/random", mode)
    text = ask(engine, "inspire me").text
    assert any(q in text for q in OFFLINE_QUOTES)


def test_joke(upstream, engine):
    upstream.expect_request("/random_joke").respond_with_json(
        {"type": "general", "setup": "Why?", "punchline": "Because.", "id": 1}
    )
    assert ask(engine, "tell me a joke").text == "Why?\n\nBecause. 😄"


@pytest.mark.parametrize("mode", MODES)
def test_joke_failures_fall_back_to_the_bundled_jokes(upstream, mode):
    engine = engine_failing(upstream, "/random_joke", mode)
    text = ask(engine, "tell me a joke").text
    assert any(j in text for j in OFFLINE_JOKES)


def test_dog_picture(upstream, engine):
    url = "https://images.dog.ceo/breeds/hound-afghan/n02088094_1003.jpg"
    upstream.expect_request("/api/breeds/image/random").respond_with_json(
        {"message": url, "status": "success"}
    )
    assert ask(engine, "show me a dog").media == (url,)


def test_cat_picture(upstream, engine):
    url = "https://cdn2.thecatapi.com/images/abc.jpg"
    upstream.expect_request("/v1/images/search").respond_with_json([{"id": "abc", "url": url}])
    assert ask(engine, "show me a cat").media == (url,)


@pytest.mark.parametrize("bad", ["javascript:alert(1)", "ftp://x/y.jpg", 42, None, "x" * 3000])
def test_a_picture_url_that_is_not_http_is_never_sent(upstream, engine, bad):
    upstream.expect_request("/api/breeds/image/random").respond_with_json({"message": bad})
    assert ask(engine, "show me a dog").media[0] in OFFLINE_PICTURES["dog"]


@pytest.mark.parametrize("mode", MODES)
def test_picture_failures_fall_back_to_bundled_pictures(upstream, mode):
    engine = engine_failing(upstream, "/v1/images/search", mode)
    assert ask(engine, "show me a cat").media[0] in OFFLINE_PICTURES["cat"]


# -- currency -------------------------------------------------------------------------------


def test_currency_uses_the_live_rate_and_caches_it(upstream, engine):
    query = {"amount": "1", "from": "USD", "to": "EUR"}
    upstream.expect_request("/latest", query_string=query).respond_with_json(
        {"amount": 1.0, "base": "USD", "date": "2026-11-20", "rates": {"EUR": 0.92}}
    )
    assert ask(engine, "convert 10 usd to eur").text == (
        "💱 10 USD = 9.20 EUR (European Central Bank rate of 2026-11-20)"
    )
    ask(engine, "convert 20 usd to eur")
    assert len(upstream.log) == 1


@pytest.mark.parametrize("mode", MODES)
def test_currency_failures_use_the_approximate_offline_rate(upstream, mode):
    engine = engine_failing(upstream, "/latest", mode)
    assert "(approximate offline rate from 2026-11)" in ask(engine, "convert 10 usd to eur").text


# -- links ----------------------------------------------------------------------------------


def test_a_link_in_a_message_gets_its_title_and_summary(upstream, engine):
    upstream.expect_request("/post").respond_with_data(
        '<title>Release notes</title><meta name="description" content="Version 2 is out. '
        'It is faster.">',
        content_type="text/html",
    )
    reply = ask(engine, f"have you seen {upstream.url_for('/post')}? 🙂").text
    assert reply == "🔗 *Release notes*\nVersion 2 is out. It is faster."


def test_a_page_title_is_echoed_without_bidi_or_control_characters(upstream, engine):
    # U+202E would show "Bank gnp.exe" as "Bank exe.png" on the reader's screen.
    upstream.expect_request("/bank").respond_with_data(
        '<title>Bank \u202egnp.exe\x85</title><meta name="description" '
        'content="Statement \u2066ready\u2069.">',
        content_type="text/html",
    )
    reply = ask(engine, upstream.url_for("/bank")).text
    assert reply == "🔗 *Bank gnp.exe*\nStatement ready."


@pytest.mark.parametrize(
    ("url", "answer"),
    [
        ("http://10.1.2.3/admin", "I don't open links to private or local addresses. 🔒"),
        ("http://169.254.169.254/latest/meta-data/", "I don't open links to private"),
    ],
)
def test_a_private_link_is_declined_politely(engine, url, answer):
    assert answer in ask(engine, f"read {url}").text


def test_a_link_that_is_not_a_page(upstream, engine):
    upstream.expect_request("/cat.png").respond_with_data(b"\x89PNG", content_type="image/png")
    reply = ask(engine, upstream.url_for("/cat.png")).text
    assert reply == (
        "🔗 *127.0.0.1*\nI can read PDF, Word (.docx), text, Markdown and web pages, "
        "but not this kind of file."
    )
