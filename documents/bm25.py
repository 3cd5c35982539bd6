"""Okapi BM25 over passages, with an inverted index: `Index(passages).search(query, k)`.

Written here (about sixty lines) rather than taken from `rank-bm25`, which scores every
passage for every query (no inverted index: linear in the corpus), has had no release since
2022, and would still need the project's tokenizer and stemmer (`documents.terms`).

BM25 (Robertson et al.): a passage's score is the sum over the query's terms of
idf(t) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / average length)), with
idf(t) = ln(1 + (N - n + 0.5) / (n + 0.5)) (Lucene's form, never negative), k1 = 1.2 and
b = 0.75. A passage is indexed under its text, its section heading (twice: a heading says
what the section is about) and its document's title. Each posting's weight is computed once,
so a search only adds up the postings of the question's few terms.

A raw BM25 score grows with the query's length and rarity, so it cannot be compared with a
fixed threshold. Each hit also carries its `coverage`: the share of the question's idf
weight that the passage matches, where a question word no passage has counts with
UNSEEN_WEIGHT times the highest idf there is. "When do you open on Sundays?" against a
passage with "open" and "Sunday" covers 1.0; "Do you sell bicycles?" against a shop that
never says "bicycle" covers little, however well "sell" matches.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from documents.model import Passage
from documents.terms import QueryReader, term, words

K1 = 1.2
B = 0.75
HEADING_WEIGHT = 2
UNSEEN_WEIGHT = 1.0


class Hit(NamedTuple):
    """A passage found for a query: its BM25 score and the share of the query it covers."""

    passage: Passage
    score: float
    coverage: float


def passage_words(passage: Passage) -> list[str]:
    """What a passage is indexed under: the words of its heading (twice), title and text."""
    heading = words(passage.heading) * HEADING_WEIGHT if passage.heading else []
    return heading + words(passage.title) + words(passage.text)


class Index:
    """An inverted index of passages with each posting's BM25 weight precomputed."""

    def __init__(
        self,
        passages: Sequence[Passage],
        k1: float = K1,
        b: float = B,
        synonyms: Mapping[str, frozenset[str]] | None = None,
    ) -> None:
        self.passages = tuple(passages)
        vocabulary: set[str] = set()
        counts = []
        for passage in self.passages:
            found = passage_words(passage)
            vocabulary.update(found)
            counts.append(Counter(term(word) for word in found))
        lengths = [sum(count.values()) for count in counts]
        average = (sum(lengths) / len(lengths) if lengths else 0.0) or 1.0
        documents = Counter(found for count in counts for found in count)
        total = len(self.passages)
        self.idf = {
            found: math.log(1 + (total - n + 0.5) / (n + 0.5)) for found, n in documents.items()
        }
        # The idf of a term no passage has: the most a query term can weigh.
        self.unseen_idf = math.log(1 + (total + 0.5) / 0.5)
        postings: dict[str, list[tuple[int, float, int]]] = defaultdict(list)
        self.norms = []
        for number, (count, length) in enumerate(zip(counts, lengths, strict=True)):
            norm = k1 * (1 - b + b * length / average)
            self.norms.append(norm)
            for found, tf in count.items():
                weight = self.idf[found] * tf * (k1 + 1) / (tf + norm)
                postings[found].append((number, weight, tf))
        self.k1 = k1
        self.total = total
        self.postings = dict(postings)  # read by many threads at once: no default entries
        self.reader = QueryReader(vocabulary, synonyms)

    def _idf(self, n: int) -> float:
        return math.log(1 + (self.total - n + 0.5) / (n + 0.5))

    def _group(self, group: tuple[str, ...]) -> tuple[float, dict[int, float]]:
        """The idf of a question word and each passage's score for it. A word that stands
        for several terms (a synonym set, a place, a shortening) counts as one term that
        any of them is: its frequencies added, its idf that of the passages with any."""
        if len(group) == 1:
            found = self.postings.get(group[0], ())
            return self.idf.get(group[0], 0.0), {n: weight for n, weight, _ in found}
        frequencies: dict[int, int] = defaultdict(int)
        for found in group:
            for number, _, tf in self.postings.get(found, ()):
                frequencies[number] += tf
        idf = self._idf(len(frequencies))
        k1 = self.k1
        return idf, {n: idf * tf * (k1 + 1) / (tf + self.norms[n]) for n, tf in frequencies.items()}

    def search(self, query: str, k: int = 3) -> list[Hit]:
        """The `k` best passages for `query`, best first; [] when nothing matches."""
        groups = self.reader.read(query)
        if not groups or not self.passages:
            return []
        scores: dict[int, float] = defaultdict(float)
        matched: dict[int, float] = defaultdict(float)
        weight = 0.0
        for group in groups:
            if not group:
                weight += UNSEEN_WEIGHT * self.unseen_idf
                continue
            idf, found = self._group(group)
            weight += idf
            for number, score in found.items():
                scores[number] += score
                matched[number] += idf
        top = heapq.nlargest(k, scores.items(), key=lambda item: (item[1], -item[0]))
        return [Hit(self.passages[n], score, matched[n] / weight) for n, score in top]
