"""Example and keyword evidence: every intent's examples and keywords indexed by stem at
load, so a message is compared only with the intents that share a stem with it, and scored
against them.

An example covers the message's stems it uses (a word many intents use counts less, one
typo-corrected counts a little less), softened by how much of the message it explains
(extra stop words cost little); a value of a slot the example marks covers its place.
Keywords add evidence of their own.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from engine.view import Span
from engine.weights import (
    COMMON_STEM_MIN,
    COMMON_STEM_SHARE,
    CORRECTED_WEIGHT,
    EXAMPLE_STOP_WEIGHT,
    EXPLAINED_POWER,
    KEYWORD_BASE,
    KEYWORD_SPAN,
    MARK_WEIGHT,
    OWN_WORDS,
    SPECIFICITY,
    STOP_WEIGHT,
    WEAK_CONFIDENCE,
)
from nlp.analysis import Analyzer, Term
from nlp.text import Token
from rules import Intent, RuleSet


class _Example(NamedTuple):  # a NamedTuple: thousands are built at load, and cheaply
    weights: dict[str, float]  # stem -> weight
    total: float
    marks: tuple[str, ...] = ()  # the slots whose values it marks
    marked: frozenset[str] = frozenset()
    weak: bool = False  # nothing but stop words besides its marked values


def _example(
    terms: Sequence[Term], marks: tuple[str, ...], specificity: Mapping[str, float]
) -> _Example:
    weights: dict[str, float] = {}
    for term in terms:
        weight = EXAMPLE_STOP_WEIGHT if term.stop else specificity.get(term.stem, 1.0)
        if weight > weights.get(term.stem, 0):
            weights[term.stem] = weight
    total = sum(weights.values())
    if not marks:
        return _Example(weights, total)
    weak = all(t.stop for t in terms)
    return _Example(weights, total + MARK_WEIGHT * len(marks), marks, frozenset(marks), weak)


def _weigh(terms: Sequence[Term], covered: set[int]) -> tuple[dict[str, float], dict[str, float]]:
    """Each stem of the message outside `covered`: how much it counts when an example uses
    it (a corrected word less), and how much it costs when none does (a stop word little)."""
    stems: dict[str, float] = {}
    noise: dict[str, float] = {}
    for k, term in enumerate(terms):
        if k in covered:
            continue
        weight = CORRECTED_WEIGHT if term.corrected else 1.0
        stems[term.stem] = max(stems.get(term.stem, 0), weight)
        weight = STOP_WEIGHT if term.stop and term.word not in OWN_WORDS else 1.0
        noise[term.stem] = max(noise.get(term.stem, 0), weight)
    return stems, noise


class ExampleIndex:
    """The examples and keywords of a `RuleSet`, indexed by stem; `tokenized` holds the
    examples already tokenised, so none is tokenised twice."""

    def __init__(
        self, rules: RuleSet, analyzer: Analyzer, tokenized: Mapping[str, tuple[Token, ...]]
    ) -> None:
        self.analyzer = analyzer
        self._examples: dict[str, list[_Example]] = defaultdict(list)
        # Per intent, the examples that use each content stem, or mark a slot ("{city}"):
        # only those can score well.
        self._by_stem: dict[str, dict[str, list[int]]] = defaultdict(dict)
        self._always: dict[str, list[int]] = defaultdict(list)
        self._keywords: dict[str, frozenset[str]] = {}
        self._index: dict[str, set[str]] = defaultdict(set)
        examples: list[tuple[str, list[Term], tuple[str, ...]]] = []
        for intent in rules.intents:
            examples += self._add(intent, tokenized)
        # A word many intents use ("see", "want") tells them apart less than one only this
        # intent uses ("cat", "puppy"): it weighs 1 / (1 + SPECIFICITY ln n) for n intents.
        specificity = {
            stem: 1 / (1 + SPECIFICITY * math.log(len(names)))
            for stem, names in self._index.items()
        }
        for name, terms, marks in examples:
            example = _example(terms, marks, specificity)
            number = len(self._examples[name])
            self._examples[name].append(example)
            content = {t.stem for t in terms if not t.stop}
            if not content and not marks:  # looked at for every message that finds the intent
                self._always[name].append(number)
            for key in content | {f"{{{slot}}}" for slot in marks}:
                self._by_stem[name].setdefault(key, []).append(number)
        limit = max(COMMON_STEM_MIN, COMMON_STEM_SHARE * len(rules.intents))
        self._common = {stem for stem, names in self._index.items() if len(names) > limit}

    def _add(
        self, intent: Intent, tokenized: Mapping[str, tuple[Token, ...]]
    ) -> list[tuple[str, list[Term], tuple[str, ...]]]:
        """Index the intent's words; its examples' terms, to be weighed once all are known."""
        examples = []
        marks = intent.marks or ((),) * len(intent.examples)
        for text, marked in zip(intent.examples, marks, strict=True):
            # A marked value is a place for any value, not words to match.
            terms = [
                t
                for t in self.analyzer.analyze(text, tokenized.get(text))
                if not any(m.start <= t.start < m.end for m in marked)
            ]
            examples.append((intent.name, terms, tuple(m.slot for m in marked)))
            content = [t.stem for t in terms if not t.stop] or [t.stem for t in terms]
            for stem in content:
                self._index[stem].add(intent.name)
        keywords = frozenset(
            t.stem for text in intent.keywords for t in self.analyzer.analyze(text)
        )
        self._keywords[intent.name] = keywords
        for stem in keywords:
            self._index[stem].add(intent.name)
        return examples

    def candidates(self, terms: Sequence[Term]) -> set[str]:
        """The intents that share a stem with the message, found through its rarer stems."""
        stems = {t.stem for t in terms}
        rare = [s for s in stems if s not in self._common]
        candidates = set().union(*(self._index.get(s, ()) for s in rare))
        if not candidates:  # only common words: they are all there is to go on
            candidates = set().union(*(self._index.get(s, ()) for s in stems))
        return candidates

    def evidence(self, name: str, terms: Sequence[Term], spans: Mapping[str, Span]) -> float:
        """Example and keyword evidence for one intent, combined as independent signals. The
        words of the intent's slot values found in the message count as explained."""
        covered = {k for span in spans.values() for k in range(span.first, span.end)}
        stems, noise = _weigh(terms, covered)
        noise_total = sum(noise.values())
        best_example = 0.0
        examples = self._examples.get(name, [])
        by_stem = self._by_stem.get(name, {})
        numbers = set(self._always.get(name, ()))
        for key in [*stems, *(f"{{{slot}}}" for slot in spans)]:
            numbers.update(by_stem.get(key, ()))
        for number in numbers:
            example = examples[number]
            weights = example.weights
            common = weights.keys() & stems.keys()
            marked = len(example.marked & spans.keys()) if example.marks else 0
            if not common and not marked:
                continue
            covered_weight = explained_noise = 0.0
            for stem in common:
                covered_weight += weights[stem] * stems[stem]
                explained_noise += noise[stem]
            recall = (covered_weight + MARK_WEIGHT * marked) / example.total
            explained = len(common) + marked
            unexplained = noise_total - explained_noise
            score = recall * (explained / (explained + unexplained)) ** EXPLAINED_POWER
            if example.weak and score > WEAK_CONFIDENCE:
                score = WEAK_CONFIDENCE
            if score > best_example:
                best_example = score
        keyword = 0.0
        hits = self._keywords.get(name, frozenset()) & stems.keys()
        if hits:
            found = sum(stems[s] for s in hits)
            rest = noise_total - sum(noise[s] for s in hits)
            keyword = KEYWORD_BASE + KEYWORD_SPAN * (found / (found + rest)) ** EXPLAINED_POWER
        return 1 - (1 - best_example) * (1 - keyword)
