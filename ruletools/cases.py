"""Labelled messages to measure a rule set on, read from JSON lines.

Each case is a JSON line `{"text", "intent", "slots"}` (intent `fallback` for a message the
bot should not answer; optionally `"after": "joke"`, the previous intent, for contextual
intents). An expected slot value may be a list of acceptable values.

`fmt="snips"` reads the shared development data instead (`text` plus `entities`): a place is
any of `city`, `state`, `country`, `geographic_poi`, a date is `timeRange`, and every message
is a weather request.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SNIPS_PLACES = ("city", "geographic_poi", "state", "country")


@dataclass(frozen=True)
class Case:
    """One labelled message."""

    text: str
    intent: str
    slots: dict[str, Any] = field(default_factory=dict)
    after: str | None = None
    line: int = 0


def load_cases(path: str | Path, fmt: str = "labelled") -> list[Case]:
    """Cases from a JSON-lines file; a line that is not a case raises `ValueError`
    naming the file and line."""
    cases = []
    lines = Path(path).read_text(encoding="utf-8").split("\n")  # not splitlines: U+0085 is text
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            cases.append(_snips(data, number) if fmt == "snips" else _labelled(data, number))
        except (ValueError, TypeError, KeyError) as error:
            raise ValueError(f"{path}:{number}: not a labelled message ({error})") from None
    return cases


def _labelled(data: dict, line: int) -> Case:
    if not isinstance(data["text"], str) or not isinstance(data["intent"], str):
        raise TypeError("text and intent must be strings")
    slots = data.get("slots") or {}
    if not isinstance(slots, dict):
        raise TypeError("slots must be an object")
    return Case(data["text"], data["intent"], slots, data.get("after"), line)


def _snips(data: dict, line: int) -> Case:
    """The most specific place named (a city before its state or country), or the place
    with its qualifier as written ("Portland, Maine"); the time range as the date."""
    entities = data.get("entities") or {}
    slots: dict[str, Any] = {}
    places = [entities[k] for k in SNIPS_PLACES if k in entities]
    if places:
        slots["city"] = [places[0]] + [f"{places[0]}, {other}" for other in places[1:]]
    if "timeRange" in entities:
        slots["date"] = entities["timeRange"]
    return Case(data["text"], "weather", slots, None, line)
