"""The terms retrieval compares, for passages and for questions.

A passage's terms are its words' Snowball stems (of the base form, for the irregular verbs
the stemmer leaves alone: "sent" is "send"), without stop words (NLTK's English list and
chat fillers, with the project's own list; a stop word in another form, "getting", too) or
anything that is not a word or a number (emoji, symbols); a hyphenated word also counts
joined ("pre-order" is "preorder" too), as people type it either way.

A question is matched against the words the passages use. A word no passage has is first
corrected, if it has six letters or more and is one typo away from a passage's word
(`nlp.analysis.Analyzer`, the correction the rules get; shorter words too often become
another word: "sing" is not "sign"); else, if it has four letters or more, it stands for the
passage words it is a shortening of, three letters or more short ("info" for "information"),
when there are at most three of them. What is left unknown still counts in the question's
weight: a question about something the documents never mention should not look answered.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from nlp.analysis import Analyzer, load_stopwords, stem
from nlp.text import MAX_TEXT, tokens

DATA = Path(__file__).with_name("data")
STOPWORDS = load_stopwords() | load_stopwords(DATA / "stopwords.txt")


def _irregular_forms() -> dict[str, str]:
    lines = (DATA / "irregular.txt").read_text(encoding="utf-8").splitlines()
    pairs = (line.split() for line in lines if line.strip() and not line.startswith("#"))
    return {form: base for form, base in pairs}


IRREGULAR = _irregular_forms()


def term(word: str) -> str:
    """What a folded word is matched as: the Snowball stem of its base form ("sent": "send")."""
    return stem(IRREGULAR.get(word, word))


STOP_STEMS = frozenset(term(word) for word in STOPWORDS)
CORRECTION_MIN = 6
PREFIX_MIN = 4
PREFIX_REST = 3
PREFIX_MAX_MATCHES = 3
_HYPHENATED = re.compile(r"\b([^\W\d_]+)-([^\W\d_]+)\b")
# `tokens` keeps the last 8,192 messages it split, for the engine; a document's text would
# fill that cache with megabytes it never reads again, so documents use the function itself
# (`__wrapped__` is how functools.lru_cache gives it).
_split = tokens.__wrapped__


def _chunks(text: str) -> Iterator[str]:
    """`text` in pieces the tokenizer takes whole (it reads MAX_TEXT characters at most),
    cut at white space."""
    while len(text) > MAX_TEXT:
        cut = text.rfind(" ", 0, MAX_TEXT)
        cut = cut if cut > 0 else MAX_TEXT
        yield text[:cut]
        text = text[cut:]
    yield text


def is_stop(word: str) -> bool:
    """Whether a folded word carries no topic."""
    return word in STOPWORDS or term(word) in STOP_STEMS


def words(text: str) -> list[str]:
    """The folded words and numbers of `text` that are not stop words, and its hyphenated
    words joined."""
    found = [
        token.norm
        for chunk in _chunks(text)
        for token in _split(chunk)
        if token.norm.isalnum() and not is_stop(token.norm)
    ]
    if "-" in text:
        found += [f"{a}{b}".casefold() for a, b in _HYPHENATED.findall(text)]
    return found


def terms(text: str) -> list[str]:
    """The stems of `text`'s words."""
    return [term(word) for word in words(text)]


class QueryReader:
    """Turns a question into groups of stems: one group for each of its words, holding the
    stems of the passage words it stands for (none when it stands for none)."""

    def __init__(self, vocabulary: Iterable[str]) -> None:
        known = {word for word in vocabulary if word.isalpha()}
        self.words = sorted(known)
        self.stems = frozenset(term(word) for word in known)
        self.analyzer = Analyzer(known, stopwords=STOPWORDS)

    def _shortened(self, word: str) -> tuple[str, ...]:
        """The stems of the passage words `word` is a shortening of ("info": "information")."""
        if len(word) < PREFIX_MIN or not word.isalpha():
            return ()
        found: set[str] = set()
        for candidate in self.words[bisect.bisect_left(self.words, word) :]:
            if not candidate.startswith(word) or len(found) > PREFIX_MAX_MATCHES:
                break
            if len(candidate) >= len(word) + PREFIX_REST:
                found.add(term(candidate))
        return tuple(sorted(found)) if len(found) <= PREFIX_MAX_MATCHES else ()

    def read(self, question: str) -> list[tuple[str, ...]]:
        """The question's word groups, in order, each word once."""
        groups: dict[str, tuple[str, ...]] = {}
        for analysed in self.analyzer.analyze(question):
            word = analysed.word
            if analysed.corrected and analysed.end - analysed.start < CORRECTION_MIN:
                word = _split(question[analysed.start : analysed.end])[0].norm
            found = term(word)
            if analysed.stop or not word.isalnum() or is_stop(word) or found in groups:
                continue
            groups[found] = (found,) if found in self.stems else self._shortened(word)
        return list(groups.values())
