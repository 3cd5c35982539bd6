"""Finding place names in a message over the index: the longest name wins, a qualifier after it
("Portland, Maine") picks among the places of that name, and typos are forgiven where a place
is expected.

Matching works on the folded tokens of `nlp.text.tokens` (`nlp.text.fold`: case and accents
gone), so "ZÜRICH", "zurich" and "Zürich" are one name, and a name never matches inside a
word. The longest name wins. Among places sharing a name, countries come first, then a city
named like its own state ("New York"), then states, then other cities, the biggest first
("Georgia" is the country, "Washington" the state, "Portland" the one in Oregon). A
qualifier after the name picks among them: "Portland, Maine", "Portland ME", "Paris Texas",
"Perth, AU". Right after "in", "at", "for", "to"... a typo of one letter, two in names of nine
or more, still finds a place of 100,000 people or more ("in Lisbn"); such mentions are not
`exact`. Names that are everyday words ("nice", "reading", "of") come back `common`:
`in_context` says whether the words around them make them places.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import NamedTuple

from nlp.places.index import Index
from nlp.places.model import CITY, MAX_WORDS, PREFIX, Mention, Place
from nlp.places.scan import (
    ANY,
    ANYWHERE,
    NAME_GAP,
    QUALIFIER_GAP,
    TYPO_CONTEXT,
    Scan,
    allowed,
    counts,
    gap,
    stays_common,
    windows,
)
from nlp.places.typos import TypoTargets
from nlp.text import MAX_TEXT, tokens

MAX_GUESSES = 3  # typo searches per message


class _Found(NamedTuple):
    end: int  # the token after the name
    key: int
    span_end: int  # in characters


class Gazetteer:
    """Finds places in text; see the module docstring. Safe to share between threads."""

    def __init__(self, index: Index) -> None:
        self._index = index
        # Chat repeats its words: these caches hold about 1.5 MB when full.
        self._probe = lru_cache(maxsize=8192)(index.probe)
        self._place = lru_cache(maxsize=1024)(index.place)
        self._nearest = lru_cache(maxsize=1024)(TypoTargets(index).nearest)

    def find(self, text: str) -> list[Mention]:
        """Every place named in `text` (its first `MAX_TEXT` characters), left to right."""
        return list(self._scan(text, whole=False))

    def lookup(self, name: str) -> Place | None:
        """The place that the whole of `name` names ("Portland, Maine", "nyc"), or None."""
        found = list(self._scan(name, whole=True))
        toks = tokens(name)
        if len(found) != 1 or found[0].start > toks[0].start or found[0].end < toks[-1].end:
            return None
        return found[0].place

    def _scan(self, text: str, *, whole: bool) -> Iterator[Mention]:
        toks = tokens(text)
        words = [t.norm for t in toks]
        shouting = text[:MAX_TEXT].isupper() and any(len(word) > 3 for word in words)
        scan = Scan(text, toks, words, shouting, whole)
        guesses = MAX_GUESSES
        i = 0
        while i < len(toks):
            word = words[i]  # most words are no name, nor a possessive: skip them quickly
            fast_miss = self._probe(word) < 0 and word[-1:] != "s"
            found, exact = (None if fast_miss else self._exact(scan, i)), True
            if guesses and (whole or (i and words[i - 1] in TYPO_CONTEXT)):
                guesses -= 1
                guessed = self._guess(scan, i, found)
                if guessed:
                    found, exact = guessed, False
            if found is None:
                i += 1
                continue
            mention, i = self._mention(scan, i, found, exact)
            yield mention

    def _exact(self, scan: Scan, i: int) -> _Found | None:
        """The longest name starting at token `i` (the hot loop: one look-up for most words)."""
        key = scan.words[i]
        if not key[:1].isalpha():
            return None
        best, j, last = None, i, min(i + MAX_WORDS, len(scan.toks)) - 1
        while True:
            k = self._probe(key)
            if k < 0:
                return (key[-1] == "s" and self._possessive(scan, i, j, key)) or best
            if counts(self._index, scan, k, i, j + 1):
                best = _Found(j + 1, k, scan.toks[j].end)
            if j == last or not self._index.key_flags[k] & PREFIX:
                return best
            j += 1
            if not NAME_GAP.fullmatch(gap(scan, j)):
                return best
            key = f"{key} {scan.words[j]}"

    def _possessive(self, scan: Scan, i: int, j: int, key: str) -> _Found | None:
        """ "London's" names London, unless "londons" is a name itself."""
        token = scan.toks[j]
        if token.end - token.start < 4 or scan.text[token.end - 2] not in "'’":
            return None
        k = self._probe(key[:-1])
        if k < 0 or not counts(self._index, scan, k, i, j + 1):
            return None
        return _Found(j + 1, k, token.end - 2)

    def _guess(self, scan: Scan, i: int, found: _Found | None) -> _Found | None:
        """The longest name of up to three words from `i`, longer than what was `found`, that
        is a typo of a big place's name. Only where a place is expected (after "in", "to"...),
        and past an exact match only if a longer name starts with it ("rio de janiero")."""
        if found and (found.end - i >= 3 or not self._index.key_flags[found.key] & PREFIX):
            return None
        shorter = found.end - i if found else 0
        if not scan.words[i].isalpha():
            return None
        for j, window in reversed(list(windows(scan, i, 3))):
            if j + 1 - i <= shorter:
                break
            k = self._nearest(window)
            if k >= 0 and counts(self._index, scan, k, i, j + 1):
                return _Found(j + 1, k, scan.toks[j].end)
        return None

    def _mention(self, scan: Scan, i: int, found: _Found, exact: bool) -> tuple[Mention, int]:
        counted = allowed(self._index, scan, found.key, i, found.end)
        qualified = self._qualify(scan, [c >> 3 for c in counted], found.end)
        if qualified:
            pid, end, span_end = qualified
            common = False
        else:
            pid, end, span_end = counted[0] >> 3, found.end, found.span_end
            common = stays_common(self._index, scan, found.key, i, found.end, counted[0] & 7)
        return Mention(scan.toks[i].start, span_end, self._place(pid), exact, common), end

    def _qualify(self, scan: Scan, candidates: list[int], at: int) -> tuple[int, int, int] | None:
        """The candidate that a state or country right after it picks ("Portland, Maine"):
        (place, token after the qualifier, its end in characters)."""
        if at >= len(scan.toks) or not QUALIFIER_GAP.fullmatch(gap(scan, at)):
            return None
        comma = "," in gap(scan, at)
        best = None
        for j, key in windows(scan, at):
            k = self._probe(key)
            if k < 0:
                break
            written = scan.text[scan.toks[at].start : scan.toks[j].end]
            mask = ANY if comma or written.isupper() or scan.whole else ANYWHERE
            containers = [
                c >> 3
                for c in self._index.candidates(k)
                if mask >> (c & 7) & 1 and self._index.kind[c >> 3] != CITY
            ]
            pid = next(
                (p for p in candidates if any(self._index.inside(p, c) for c in containers)),
                None,
            )
            if pid is not None:
                best = (pid, j + 1, scan.toks[j].end)
            if not self._index.key_flags[k] & PREFIX:
                break
        return best
