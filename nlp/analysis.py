"""From tokens to terms: substitutions, synonyms, typo correction and Snowball stems.

An `Analyzer` is built once from the rules' vocabulary. Per message it does dictionary
look-ups only: words the rules know are kept, unknown words are corrected to the nearest
rule word by edit distance (found through an index of one-letter deletions, then checked
with NLTK's `edit_distance`), and every step is cached.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from nltk.metrics import edit_distance
from nltk.stem.snowball import EnglishStemmer

from nlp.text import Token, tokens

_DOUBLES = re.compile(r"(.)\1")
# In a shorter word one wrong letter more often makes another word than a typo.
SUBSTITUTION_MIN = 6
STOPWORDS_FILE = Path(__file__).with_name("data") / "stopwords.txt"
_STEMMER = EnglishStemmer()


class Term(NamedTuple):
    """A message word as the matcher sees it, with where it came from in the text."""

    word: str  # folded, after substitution, synonym and correction
    stem: str
    start: int
    end: int
    corrected: bool
    stop: bool


def load_stopwords(path: Path = STOPWORDS_FILE) -> frozenset[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


@lru_cache(maxsize=32768)
def stem(word: str) -> str:
    """Snowball stem of a folded word; numbers, emoji and links stay as they are."""
    return _STEMMER.stem(word) if word.isalpha() else word


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def within_one_edit(a: str, b: str) -> bool:
    """Whether `a` becomes `b` by one substitution, insertion, deletion or swap of
    neighbours, in linear time (NLTK's `edit_distance` is quadratic and pure Python)."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    i = 0
    while i < min(len(a), len(b)) and a[i] == b[i]:
        i += 1
    if len(a) == len(b):
        return a[i + 1 :] == b[i + 1 :] or (
            a[i + 2 :] == b[i + 2 :] and a[i : i + 2] == b[i : i + 2][::-1]
        )
    longer, shorter = (a, b) if len(a) > len(b) else (b, a)
    return longer[i + 1 :] == shorter[i:]


def _substitution(a: str, b: str) -> bool:
    """Whether `a` and `b` differ in exactly one letter at one place (not a swap)."""
    return len(a) == len(b) and sum(x != y for x, y in zip(a, b, strict=True)) == 1


def max_typos(word: str) -> int:
    """How many edits a word of this length may carry and still be recognised."""
    return 0 if len(word) < 4 else 1 if len(word) < 7 else 2


class Analyzer:
    """Turns text into `Term`s against a fixed vocabulary, substitutions and synonyms."""

    def __init__(
        self,
        vocabulary: Iterable[str],
        substitutions: Mapping[str, str] | None = None,
        synonyms: Mapping[str, str] | None = None,
        stopwords: frozenset[str] | None = None,
    ) -> None:
        self.stopwords = load_stopwords() if stopwords is None else stopwords
        self.substitutions = {k: tuple(v.split()) for k, v in (substitutions or {}).items()}
        self.synonyms = dict(synonyms or {})
        counts = Counter(w for w in vocabulary if w.isalpha())
        self.frequency = counts
        self.words = frozenset(counts)
        self.stems = frozenset(stem(w) for w in counts)
        self._by_deletion: dict[str, set[str]] = {}
        for word in self.words:
            if max_typos(word):
                for key in _deletions(word) | {word}:
                    self._by_deletion.setdefault(key, set()).add(word)
        self.correct = lru_cache(maxsize=16384)(self._correct)

    def knows(self, word: str) -> bool:
        return word in self.words or stem(word) in self.stems

    def _correct(self, word: str) -> str | None:
        """The rule word closest to an unknown `word`, or None when none is close enough."""
        limit = max_typos(word)
        if not limit or not word.isalpha():
            return None
        candidates: set[str] = set()
        for key in _deletions(word) | {word}:
            candidates |= self._by_deletion.get(key, set())
        scored = []
        for candidate in candidates:
            allowed = min(limit, max_typos(candidate))
            if candidate[0] != word[0]:
                continue  # typists rarely miss the first letter: "train" is no "rain"
            if len(word) < SUBSTITUTION_MIN and _substitution(word, candidate):
                continue  # "wifi" is not a typo of "wiki", nor "cape" of "care"
            if within_one_edit(word, candidate):
                distance = 1
            elif allowed >= 2:
                distance = edit_distance(word, candidate, transpositions=True)
            else:
                continue
            if distance <= allowed:
                scored.append((distance, -self.frequency[candidate], candidate))
        return min(scored)[2] if scored else None

    def _expand(self, word: str) -> Iterable[tuple[str, bool]]:
        """The words one token stands for after substitution, synonyms and typo correction."""
        for part in self.substitutions.get(word, (word,)):
            part = self.synonyms.get(part, part)
            if part in self.stopwords or self.knows(part):
                yield part, False
                continue
            single = _DOUBLES.sub(r"\1", part)
            if single != part and self.knows(single):
                yield single, True
                continue
            fixed = self.correct(part)
            if fixed is None:
                yield part, False
            else:
                yield self.synonyms.get(fixed, fixed), True

    def analyze(self, text: str, found: Sequence[Token] | None = None) -> tuple[Term, ...]:
        """The terms of `text`; `found` is its tokens when the caller has them already."""
        return tuple(
            Term(word, stem(word), token.start, token.end, corrected, word in self.stopwords)
            for token in (tokens(text) if found is None else found)
            for word, corrected in self._expand(token.norm)
        )
