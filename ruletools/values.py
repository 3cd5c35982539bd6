"""Whether a slot value the engine found is the one a labelled case expects.

Labels are written by hand ("on Friday", "Portland, Maine", 1500) and the engine's values are
structured (a place with its canonical name and state, a date with its phrase, a float), so
both sides are brought to a comparable written form first.
"""

from __future__ import annotations

import re
from typing import Any

from nlp import fold

_PUNCTUATION = re.compile(r"[^\w\s]+")
# A leading article or preposition, and a URL's scheme ("www.x.org" is "https://www.x.org").
_LEADING = re.compile(r"^(?:the|on|for|at|this coming|https?) ")


def normalise(value: Any) -> str:
    """The comparable form of a written value: folded, punctuation and a leading
    article or preposition dropped (`"on Friday"` and `"friday"` are the same)."""
    text = " ".join(_PUNCTUATION.sub(" ", fold(str(value))).split())
    return _LEADING.sub("", text)


def _forms(value: Any) -> set[str]:
    """Every written form a predicted value answers to: a place by what the user wrote
    and by its canonical name, a date by its phrase, a number by its value."""
    if isinstance(value, dict):
        return {normalise(value[k]) for k in ("text", "name") if value.get(k)}
    if isinstance(value, int | float) and not isinstance(value, bool):
        return {normalise(f"{value:g}")}
    return {normalise(value)}


def slot_matches(expected: Any, predicted: Any) -> bool:
    """Whether a predicted slot value is the expected one (or one of the expected ones).

    A qualified place ("Portland, Maine") matches what was written, or a place of that name
    whose state or country is the qualifier: Portland, Oregon does not match."""
    options = expected if isinstance(expected, list) else [expected]
    forms = _forms(predicted)
    for option in options:
        if isinstance(option, int | float) and not isinstance(option, bool):
            option = f"{option:g}"
        if normalise(option) in forms:
            return True
        head, _, qualifier = str(option).partition(",")
        if qualifier and isinstance(predicted, dict) and normalise(head) in forms:
            where = {
                normalise(predicted.get(k) or "") for k in ("admin", "country", "country_code")
            }
            if normalise(qualifier) in where:
                return True
    return False
