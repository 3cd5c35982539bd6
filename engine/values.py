"""What a free value is, whoever finds it (a pattern, a lead-in, a reply to a question):
its original words without articles, fillers or punctuation, no longer than a value can
be, and free of words its slot refuses."""

from __future__ import annotations

from collections.abc import Sequence

from nlp.analysis import Term
from nlp.text import fold
from rules.model import Slot

_LEADING_ARTICLES = {"the", "a", "an"}
# Words people add at the end that are not part of the value ("Paris pls", "Rome today").
_TRAILING_FILLERS = {"please", "thanks", "thank", "you", "today", "now", "asap", "again"}
MAX_TEXT_WORDS = 8  # a free-text value longer than this is a sentence, not a value
MAX_UNKNOWN_PLACE_WORDS = 5


def free_text(terms: Sequence[Term], text: str) -> str:
    """The original words of `terms` (capitals and accents kept), without leading articles,
    trailing fillers or punctuation: `"the Eiffel Tower pls?"` -> `"Eiffel Tower"`."""
    while terms and terms[0].word in _LEADING_ARTICLES:
        terms = terms[1:]
    while len(terms) > 1 and (
        terms[-1].word in _TRAILING_FILLERS or terms[-1].stop or not terms[-1].word[0].isalnum()
    ):
        terms = terms[:-1]
    if not terms:
        return ""
    return text[terms[0].start : terms[-1].end].strip()


def refused(slot: Slot, value: str, stopwords: frozenset[str] = frozenset()) -> bool:
    """Whether a text value holds a word the slot refuses (a topic about "my" parcel), or
    starts with a stop word, as no name or topic does ("on tv tonight", "not sure"), unless
    that word is written as a name is ("Will", "Can")."""
    words = fold(value).replace("'", " ").replace("’", " ").split()
    if not words:
        return True
    first = value.split()[0]
    named = first[:1].isupper() and not first.isupper()
    if words[0] in stopwords and not named:
        return True
    return bool(slot.refuse) and any(word in slot.refuse for word in words)
