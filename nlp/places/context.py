"""Whether a place name that is also an everyday word ("nice", "reading", "may") is meant as a
place where it stands in a message."""

from __future__ import annotations

from functools import lru_cache

from nlp.analysis import load_stopwords
from nlp.places.model import Mention
from nlp.text import fold, tokens

_CONTEXT = frozenset({"in", "at", "near", "for"})
_MONTHS = frozenset(
    [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ]
)


def in_context(text: str, mention: Mention) -> bool:
    """Whether to take `mention` as a place: its name is no everyday word, or it is
    capitalised ("Nice", not "NICE") after the first word, or it follows "in", "at", "near" or
    "for" and is neither a stop word ("log in to") nor a month ("in may")."""
    if not mention.common:
        return True
    before = tokens(text[: mention.start])
    written = text[mention.start : mention.end]
    if before and written[:1].isupper() and not written.isupper():
        return True
    name = fold(written)
    grammar = name in _MONTHS or name in _stopwords()
    return bool(before) and before[-1].norm in _CONTEXT and not grammar


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    """The project's stop words (nlp/data/stopwords.txt), read once."""
    return load_stopwords()
