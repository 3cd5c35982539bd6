r"""Split a message into tokens that know where they came from.

One pattern, compiled at import, keeps URLs, e-mail addresses, numbers, words and emoji
whole (NLTK's TweetTokenizer does too, but costs ten times as much per message). Each token
keeps its span in the original text, so slot values keep the user's capitals and accents
while matching uses the folded form.

The spans come from `re` itself, not from NLTK's `RegexpTokenizer`, because that class
compiles its pattern with the `regex` engine (through `nltk.redos`), and to `regex` a `\w`
is any Unicode word character, combining marks and joiners included, from a newer Unicode
than Python's: the same pattern makes one token of "x\u200dy", "w\ufe0f" or a decomposed
"Zu\u0308rich", where `re` makes two or three. It also times every match against a clock,
at three times the cost (24 µs against 7 µs for a short message). Our patterns run in
linear time on at most `MAX_TEXT` characters, so `re.finditer` is all this needs.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple

_COMMON = r"""
    \d+(?:[.,]\d+)*                             # number: 20, 20.5, 1,000
  | [^\W_]+(?:['’][^\W_]+)*                     # word (r2d2 too), inner apostrophes kept
  | [^\w\s](?:[\u200d\ufe0f][^\w\s]?)*          # emoji, symbol or punctuation; ZWJ sequences
"""
_LINKS = r"""
    https?://[^\s<>"']+[^\s<>"'.,;:!?)\]]        # URL
  | www\.[^\s<>"']+[^\s<>"'.,;:!?)\]]
  | [\w.+-]+@[\w-]+(?:\.[\w-]+)+                # e-mail
  |"""
# Understanding looks at this much of a message at most (Twilio bodies are ≤ 1600).
MAX_TEXT = 2000

# URLs and e-mails are rare and their patterns backtrack over every word, so the full
# pattern runs only when the text could hold one.
_PLAIN = re.compile(_COMMON, re.UNICODE | re.VERBOSE)
_FULL = re.compile(_LINKS + _COMMON, re.UNICODE | re.VERBOSE)
_APOSTROPHES = re.compile(r"['’]")
_REPEATS = re.compile(r"(.)\1{2,}")


class Token(NamedTuple):
    """One token: its folded form for matching and its span in the original text."""

    norm: str
    start: int
    end: int


@lru_cache(maxsize=8192)
def fold(text: str) -> str:
    """Lower-case, compatibility-normalise and strip accents: `"Ｃafé"` -> `"cafe"`."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def squeeze(word: str) -> str:
    """Shorten letters repeated three or more times to two: `"heyyyy"` -> `"heyy"`."""
    return _REPEATS.sub(r"\1\1", word)


def _starts_token(char: str) -> bool:
    return char.isalnum() or char in "$€£¥₹" or unicodedata.category(char) == "So"


def has_words(text: str) -> bool:
    """Whether `tokens(text)` would find anything, without building the tokens."""
    return any(_starts_token(char) for char in text[:MAX_TEXT])


@lru_cache(maxsize=65536)
def _normalise(piece: str) -> str:
    """The folded form of one token, or "" for punctuation (which is dropped)."""
    if not _starts_token(piece[0]):
        return ""
    norm = fold(piece)
    word = _APOSTROPHES.sub("", norm)
    if word.isalpha():
        return squeeze(word)
    return norm.replace("\ufe0f", "")


@lru_cache(maxsize=8192)
def tokens(text: str) -> tuple[Token, ...]:
    """The word, number, URL, e-mail and emoji tokens of `text`; punctuation is dropped."""
    text = text[:MAX_TEXT]
    pattern = _FULL if ("@" in text or "://" in text or "www." in text) else _PLAIN
    found = ((_normalise(match[0]), *match.span()) for match in pattern.finditer(text))
    return tuple(Token(norm, start, end) for norm, start, end in found if norm)


def tokenize(text: str) -> tuple[str, ...]:
    """Just the folded forms: `"What's the WEATHER in Zürich?? 🌧"` -> `("whats", …, "🌧")`."""
    return tuple(t.norm for t in tokens(text))
