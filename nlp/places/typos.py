"""Typo tolerance for place names: the name of a big place that a misspelt word is nearest to
("lisbn" -> Lisbon), looked for only among names of the same first letter and about the same
length, with cheap tests that rule most of them out before an edit distance is computed."""

from __future__ import annotations

from collections import defaultdict

from nltk.metrics import edit_distance

from nlp.analysis import within_one_edit
from nlp.places.index import Index
from nlp.places.model import TYPO_TARGET

_Target = tuple[str, int, int, int, int]  # key, its number, edits allowed, people, letters


class TypoTargets:
    """Big places' names by `_typo_bucket` and length, and the search among them."""

    def __init__(self, index: Index) -> None:
        targets: dict[str, dict[int, list[_Target]]] = defaultdict(dict)
        for k, flags in enumerate(index.key_flags):
            if flags & TYPO_TARGET:
                key = index.key(k)
                limit = 2 if len(key.replace(" ", "")) >= 9 else 1
                population = index.population[index.candidates(k)[0] >> 3]
                target = (key, k, limit, population, _letters(key))
                targets[_typo_bucket(key)].setdefault(len(key), []).append(target)
        self._targets = dict(targets)

    def nearest(self, window: str) -> int:
        """The key within one edit of `window` (two from nine letters) whose place is big,
        with the same first letter (first word, for names of several words): the nearest,
        then the most populous; or -1."""
        if len(window.replace(" ", "")) < 5:
            return -1
        best, best_rank = -1, (3, 0)
        by_length = self._targets.get(_typo_bucket(window), {})
        letters = _letters(window)
        for length in range(len(window) - 2, len(window) + 3):
            for key, k, limit, population, key_letters in by_length.get(length, ()):
                if abs(length - len(window)) > limit:
                    continue
                if (letters ^ key_letters).bit_count() > 2 * limit:  # cheap and sure: no
                    continue
                edits = _edits(window, key, limit)
                if edits is not None and (edits, -population) < best_rank:
                    best, best_rank = k, (edits, -population)
        return best


def _typo_bucket(key: str) -> str:
    """Typos are looked for past the first letter, and past the first word of a longer name."""
    space = key.find(" ")
    return key[0] if space < 0 else key[: space + 1]


def _letters(key: str) -> int:
    """The set of letters in `key` as bits; one edit changes at most two of them."""
    bits = 0
    for char in key:
        bits |= 1 << min(ord(char) - 97, 26) if char >= "a" else 0
    return bits


def _edits(a: str, b: str, limit: int) -> int | None:
    """The edit distance of `a` and `b` (a swap of neighbours is one edit), if at most
    `limit` (1 or 2) and not 0."""
    if limit == 1:
        return 1 if a != b and within_one_edit(a, b) else None
    start = 0
    while start < min(len(a), len(b)) and a[start] == b[start]:
        start += 1
    a, b = a[start:], b[start:]
    while a and b and a[-1] == b[-1]:
        a, b = a[:-1], b[:-1]
    if abs(len(a) - len(b)) > limit or a == b:
        return None
    edits = edit_distance(a, b, transpositions=True)
    return edits if edits <= limit else None
