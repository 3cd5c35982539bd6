"""Turn what people type on a phone into comparable tokens.

Folding is for matching only: case and accents are dropped ("Café" and "cafe" match), while
the original text stays in the `Message` for anything shown back to the user.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# A word (letters/digits, inner apostrophes dropped later) or a single pictographic symbol, so
# that "👋" and "❤" count as tokens while punctuation does not.
_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*|[^\w\s]", re.UNICODE)
_APOSTROPHES = re.compile(r"['’]")


@lru_cache(maxsize=4096)
def fold(text: str) -> str:
    """Lower-case, compatibility-normalise and strip accents: `"Ｃafé"` -> `"cafe"`."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _is_token(token: str) -> bool:
    return token[0].isalnum() or unicodedata.category(token[0]) == "So"


@lru_cache(maxsize=4096)
def tokenize(text: str) -> tuple[str, ...]:
    """The folded word and emoji tokens of `text`, punctuation dropped.

    `"What's the WEATHER in Zürich?? 🌧"` -> `("whats", "the", "weather", "in", "zurich", "🌧")`
    """
    tokens = (_APOSTROPHES.sub("", t) for t in _TOKEN.findall(fold(text)))
    return tuple(t for t in tokens if t and _is_token(t))
