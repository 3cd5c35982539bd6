"""The demo's skills over HTTP. Each asks its API client for domain values and turns them
into template variables; when the API fails it logs why and answers from `skills.offline`
or with a kind sentence, so the user always gets a reply."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from conversation import ActionContext, Outcome
from nlp.dates import DateRange
from skills import offline
from skills.http import UPSTREAM_ERRORS, UpstreamError
from skills.links import first_sentences, link_host
from skills.reading import link_id, read_from
from skills.registry import action
from skills.weather import FORECAST_DAYS, Place, WeatherClient
from skills.weather_slots import days_asked, is_now, out_of_reach, place_name, zone_name
from skills.wikipedia import Ambiguous, NotFound

if TYPE_CHECKING:
    from skills.services import Services

log = logging.getLogger("bot.skills")


def _failed(error: UpstreamError) -> None:
    UPSTREAM_ERRORS.labels(error.service).inc()
    log.warning("upstream %s failed: %s", error.service, error.problem)


def _live(
    context: ActionContext,
    ask: Callable[[Services], Outcome],
    bundled: Callable[[ActionContext], Outcome],
) -> Outcome:
    """The API's answer through `ask`, or the bundled one without services or on failure."""
    if context.services is None:
        return bundled(context)
    try:
        return ask(context.services)
    except UpstreamError as error:
        _failed(error)
        return bundled(context)


@action("quote", outputs=("quote", "author"))
def quote(context: ActionContext) -> Outcome:
    def ask(services: Services) -> Outcome:
        found = services.quotes.random()
        return Outcome({"quote": found.text, "author": found.author})

    return _live(context, ask, offline.offline_quote)


@action("joke", outputs=("setup", "punchline"))
def joke(context: ActionContext) -> Outcome:
    def ask(services: Services) -> Outcome:
        found = services.jokes.random()
        return Outcome({"setup": found.setup, "punchline": found.punchline})

    return _live(context, ask, offline.offline_joke)


@action("dog")
def dog(context: ActionContext) -> Outcome:
    return _live(context, lambda s: Outcome(media=(s.dogs.random(),)), offline.offline_dog)


@action("cat")
def cat(context: ActionContext) -> Outcome:
    return _live(context, lambda s: Outcome(media=(s.cats.random(),)), offline.offline_cat)


@action("weather", outputs=("report",))
def weather(context: ActionContext) -> Outcome:
    """The weather at a shared location, or in the city slot: now, or on the days the date
    slot asks about, from the daily forecast."""
    if context.services is None:
        return offline.offline_weather(context)
    today = context.now.date()
    days = days_asked(context.slots.get("date"), context.now)
    refusal = None if days is None else out_of_reach(days, today)
    if refusal is not None:
        return Outcome({"report": refusal})  # no place needed, so nothing to ask upstream
    client = context.services.weather
    try:
        place = _weather_place(context, client)
        if place is None:
            city = place_name(context.slots.get("city", ""))
            report = f"I couldn't find a place called {city}. 🤔 Try another spelling or add the country."
            return Outcome({"report": report})
        if is_now(days, today):
            return Outcome({"report": _weather_now(client, place)})
        return Outcome({"report": _weather_on(client, place, days, context.now)})
    except UpstreamError as error:
        _failed(error)
        return offline.offline_weather(context)


def _weather_place(context: ActionContext, client: WeatherClient) -> Place | None:
    """The shared location, the gazetteer's place (no geocoding needed), or the city named."""
    location = context.message.location
    if location is not None:
        label = location.label or location.address or "your location"
        return Place(label, "", location.latitude, location.longitude)
    city = context.slots.get("city", "")
    known = Place.from_gazetteer(city) if isinstance(city, Mapping) else None
    return known or client.find(place_name(city))


def _weather_now(client: WeatherClient, place: Place) -> str:
    now = client.current(place.latitude, place.longitude)
    return (
        f"{now.emoji} {place.label}: {now.temperature:.0f}°C, {now.description}, "
        f"wind {now.wind:.0f} km/h."
    )


def _weather_on(client: WeatherClient, place: Place, days: DateRange, now: datetime) -> str:
    """One line for a day, a heading and a line a day (at most 7) for several."""
    today = now.date()
    first = max(days.start, today)
    last = min(days.end, first + timedelta(days=6), today + timedelta(days=FORECAST_DAYS - 1))
    shown = DateRange(first, last, days.part, asked_on=today)
    found = client.daily(place.latitude, place.longitude, first, last, zone_name(now))
    if first == last:
        [day] = found
        return f"{day.emoji} {place.label}, {shown.label}: {day.summary}."
    lines = [f"{day.emoji} {day.day:%A} {day.day.day}: {day.summary}." for day in found]
    return "\n".join([f"{place.label}, {shown.label}:", *lines])


@action("wiki", outputs=("summary", "link"))
def wiki(context: ActionContext) -> Outcome:
    if context.services is None:
        return offline.offline_wiki(context)
    topic = str(context.slots.get("topic", "")).strip()
    try:
        found = context.services.wikipedia.lookup(topic)
    except UpstreamError as error:
        _failed(error)
        return offline.offline_wiki(context)
    if isinstance(found, NotFound):
        closest = ", ".join(f"*{t}*" for t in found.suggestions)
        summary = "I couldn't find a page with that name."
        if closest:
            summary += f" The closest I know: {closest}. Ask me about one of them."
        return Outcome({"summary": summary, "link": ""})
    if isinstance(found, Ambiguous):
        options = ", ".join(f"*{t}*" for t in found.options[:5])
        summary = f"“{found.title}” can mean several things"
        summary += f": {options}. Which one?" if options else "."
        return Outcome({"summary": summary, "link": found.url})
    return Outcome({"summary": first_sentences(found.extract), "link": found.url})


@action("currency", outputs=("result", "rate", "note"))
def currency(context: ActionContext) -> Outcome:
    if context.services is None:
        return offline.offline_currency(context)
    source, target = context.slots["from"], context.slots["to"]
    amount = float(context.slots.get("amount", 1))
    try:
        rate = context.services.rates.rate(source, target)
    except UpstreamError as error:
        _failed(error)
        return offline.offline_currency(context)
    note = f"(European Central Bank rate of {rate.date})" if rate.date else ""
    return Outcome(
        {
            "result": offline.format_amount(round(amount * rate.rate, 2)),
            "rate": f"{rate.rate:.4g}",
            "note": note,
        }
    )


@action("link", outputs=("title", "summary"))
def link(context: ActionContext) -> Outcome:
    """A shared link's title and first sentences."""
    url = str(context.slots.get("url", ""))
    host = link_host(url) or "that link"
    if context.services is None:
        return Outcome({"title": host, "summary": "I can't open links right now."})
    try:
        page = context.services.links.preview(url)
    except UpstreamError as error:
        if error.problem.startswith("not a web page"):
            # A PDF, a Word file or other document: read it as one, kept for questions.
            return read_from(context, url, link_id(url), credentials=False, name=host)
        _failed(error)
        if error.problem.startswith("refused"):
            summary = "I don't open links to private or local addresses. 🔒"
        elif error.problem.startswith("not a valid link"):
            summary = "That link doesn't look right to me. Could you check it?"
        else:
            summary = "I couldn't open that page right now."
        return Outcome({"title": host, "summary": summary})
    return Outcome({"title": page.title, "summary": page.summary or "(no summary on that page)"})
