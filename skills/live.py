"""The demo's skills over HTTP. Each asks its API client for domain values and turns them
into template variables; when the API fails it logs why and answers from `skills.offline`
or with a kind sentence, so the user always gets a reply."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from metrics import UPSTREAM_ERRORS
from skills import ActionContext, Outcome, action, offline
from skills.http import UpstreamError
from skills.links import first_sentences
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
    """The weather at a shared location, or in the city slot."""
    if context.services is None:
        return offline.offline_weather(context)
    client = context.services.weather
    location = context.message.location
    try:
        if location is not None:
            label = location.label or location.address or "your location"
            latitude, longitude = location.latitude, location.longitude
        else:
            city = str(context.slots.get("city", "")).strip()
            place = client.find(city)
            if place is None:
                report = f"I couldn't find a place called {city}. 🤔 Try another spelling or add the country."
                return Outcome({"report": report})
            label, latitude, longitude = place.label, place.latitude, place.longitude
        now = client.current(latitude, longitude)
    except UpstreamError as error:
        _failed(error)
        return offline.offline_weather(context)
    report = (
        f"{now.emoji} {label}: {now.temperature:.0f}°C, {now.description}, "
        f"wind {now.wind:.0f} km/h."
    )
    return Outcome({"report": report})


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
    host = urlsplit(url).hostname or "that link"
    if context.services is None:
        return Outcome({"title": host, "summary": "I can't open links right now."})
    try:
        page = context.services.links.preview(url)
    except UpstreamError as error:
        _failed(error)
        if error.problem.startswith("refused"):
            summary = "I don't open links to private or local addresses. 🔒"
        elif error.problem.startswith("not a web page"):
            summary = "That link isn't a web page I can read."
        else:
            summary = "I couldn't open that page right now."
        return Outcome({"title": host, "summary": summary})
    return Outcome({"title": page.title, "summary": page.summary or "(no summary on that page)"})
