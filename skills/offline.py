"""Answers that need no network, from small lists shipped in `skills/data/`.

`skills.live` answers with these when an API fails, or when the engine has no services
(tests, `python -m ruletools`). `time` and `forget_me` need nothing else and are registered here.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml

from conversation import ActionContext, Outcome
from skills.registry import action
from skills.weather_slots import days_asked, is_now, out_of_reach, place_name

DATA = Path(__file__).with_name("data")


@cache
def _data(name: str) -> Any:
    return yaml.safe_load((DATA / name).read_text(encoding="utf-8"))


def offline_quote(context: ActionContext) -> Outcome:
    entry = context.rng.choice(_data("quotes.yml"))
    return Outcome({"quote": entry["q"], "author": entry["a"]})


def offline_joke(context: ActionContext) -> Outcome:
    entry = context.rng.choice(_data("jokes.yml"))
    return Outcome({"setup": entry["setup"], "punchline": entry["punchline"]})


def offline_dog(context: ActionContext) -> Outcome:
    return Outcome(media=(context.rng.choice(_data("pictures.yml")["dog"]),))


def offline_cat(context: ActionContext) -> Outcome:
    return Outcome(media=(context.rng.choice(_data("pictures.yml")["cat"]),))


def offline_weather(context: ActionContext) -> Outcome:
    """No forecast without the service, but a day it could never answer for is said as
    such, and a day asked about is named."""
    today = context.now.date()
    days = days_asked(context.slots.get("date"), context.now)
    refusal = None if days is None else out_of_reach(days, today)
    if refusal is not None:
        return Outcome({"report": refusal})
    city = place_name(context.slots.get("city", ""))
    where = f"in {city}" if city else "there"
    when = "" if is_now(days, today) else f" for {days.label}"
    return Outcome(
        {
            "report": f"I can't reach the weather service right now, so I can't tell you the weather {where}{when} yet. 🌦"
        }
    )


def offline_wiki(context: ActionContext) -> Outcome:
    topic = str(context.slots.get("topic", ""))
    title = quote(topic.strip().replace(" ", "_"))
    return Outcome(
        {
            "summary": "I can't reach Wikipedia right now, but this is where to read about it:",
            "link": f"https://en.wikipedia.org/wiki/{title}",
        }
    )


def format_amount(value: float) -> str:
    """`1234.5` -> `"1,234.50"`; whole numbers without decimals: `20` -> `"20"`."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}"


def offline_currency(context: ActionContext) -> Outcome:
    table = _data("rates.yml")
    rates = table["rates"]
    source, target = context.slots["from"], context.slots["to"]
    amount = float(context.slots.get("amount", 1))
    if source not in rates or target not in rates:
        missing = source if source not in rates else target
        return Outcome(
            {"result": "?", "rate": "?", "note": f"I have no rate for {missing} offline."}
        )
    rate = rates[target] / rates[source]
    return Outcome(
        {
            "result": format_amount(round(amount * rate, 2)),
            "rate": f"{rate:.4g}",
            "note": f"(approximate offline rate from {table['date']})",
        }
    )


@action("time", outputs=("time", "date", "timezone"), quick=True)
def current_time(context: ActionContext) -> Outcome:
    now = context.now
    return Outcome(
        {
            "time": now.strftime("%H:%M"),
            "date": f"{now:%A} {now.day} {now:%B %Y}",
            "timezone": now.tzname() or "UTC",
        }
    )


@action("forget_me", quick=True)
def forget_me(context: ActionContext) -> Outcome:
    return Outcome(forget=True)
