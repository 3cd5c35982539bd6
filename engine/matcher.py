"""Find the intent a message expresses, with a confidence between 0 and 1, and its slots.

Everything is indexed once at load: example and keyword stems and pattern words point to
the intents that use them, so a message is compared only with the intents that share a
stem with it, however many intents there are. Evidence is combined per intent:

- a pattern hit (`weather in {city}`) is near-certain;
- examples are compared by stems: how much of the example the message covers, softened by
  how much of the message the example explains (extra stop words cost little);
- keywords add evidence of their own;
- typo-corrected words count a little less than words spelled as in the rules.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.slots import find_all, parse_at
from nlp.analysis import Analyzer, Term
from rules import Intent, Pattern, RuleSet
from rules.model import Literal, SlotRef

# A stem used by more intents than this is too common to find candidates with ("show", "want"
# in every intent); it still counts when the candidates found through rarer stems are scored.
COMMON_STEM_MIN = 20
COMMON_STEM_SHARE = 0.05
STOP_WEIGHT = 0.2  # an unexplained stop word in the message ("pls", "the") is mere noise
EXAMPLE_STOP_WEIGHT = 0.5  # an example's stop words were written on purpose
CORRECTED_WEIGHT = 0.8
# Just below an exact example: "whats up" is a greeting, not a question about "up".
PATTERN_CONFIDENCE = 0.95
_LEADING_ARTICLES = {"the", "a", "an"}
# Words people add at the end that are not part of the value ("Paris pls", "Rome today").
_TRAILING_FILLERS = {"please", "thanks", "thank", "you", "today", "now", "asap", "again"}


@dataclass(frozen=True)
class Candidate:
    intent: str
    confidence: float


@dataclass(frozen=True)
class Understanding:
    """What the engine made of a message: the intent (None for fallback) and how sure it is."""

    intent: str | None
    confidence: float
    slots: dict[str, Any] = field(default_factory=dict)
    alternatives: tuple[Candidate, ...] = ()
    matched: str = ""


NOTHING = Understanding(intent=None, confidence=0.0)


@dataclass(frozen=True)
class _Example:
    weights: dict[str, float]  # stem -> weight
    total: float


def _example(terms: Sequence[Term]) -> _Example:
    weights: dict[str, float] = {}
    for term in terms:
        weights[term.stem] = max(
            weights.get(term.stem, 0), EXAMPLE_STOP_WEIGHT if term.stop else 1.0
        )
    return _Example(weights, sum(weights.values()))


class Matcher:
    """Scores the intents of a `RuleSet` against analysed messages."""

    def __init__(self, rules: RuleSet, analyzer: Analyzer) -> None:
        self.rules = rules
        self.analyzer = analyzer
        self.intents = {i.name: i for i in rules.intents}
        self._examples: dict[str, list[_Example]] = defaultdict(list)
        self._keywords: dict[str, frozenset[str]] = {}
        self._index: dict[str, set[str]] = defaultdict(set)
        self._patterns: dict[str, list[tuple[Intent, Pattern, int]]] = defaultdict(list)
        for intent in rules.intents:
            self._add(intent)
        limit = max(COMMON_STEM_MIN, COMMON_STEM_SHARE * len(rules.intents))
        self._common = {stem for stem, names in self._index.items() if len(names) > limit}

    def _add(self, intent: Intent) -> None:
        for text in intent.examples:
            terms = self.analyzer.analyze(text)
            self._examples[intent.name].append(_example(terms))
            content = [t.stem for t in terms if not t.stop] or [t.stem for t in terms]
            for stem in content:
                self._index[stem].add(intent.name)
        keywords = frozenset(
            t.stem for text in intent.keywords for t in self.analyzer.analyze(text)
        )
        self._keywords[intent.name] = keywords
        for stem in keywords:
            self._index[stem].add(intent.name)
        for pattern in intent.patterns:
            # Indexed by its first word; the offset says where the pattern starts before it.
            offset = next(i for i, p in enumerate(pattern.parts) if isinstance(p, Literal))
            self._patterns[pattern.parts[offset].stem].append((intent, pattern, offset))

    # -- scoring ------------------------------------------------------------------------------

    def understand(self, text: str, after: str | None = None) -> Understanding:
        """The best intent for `text`; `after` is the previous intent, for contextual intents."""
        terms = self.analyzer.analyze(text)
        if not terms:
            return NOTHING
        scores: dict[str, float] = {}
        slots: dict[str, dict[str, Any]] = {}
        for intent, found, confidence in self._pattern_hits(terms, text):
            if confidence > scores.get(intent.name, 0):
                scores[intent.name], slots[intent.name] = confidence, found
        stems = {t.stem: (CORRECTED_WEIGHT if t.corrected else 1.0) for t in terms}
        noise = {t.stem: (STOP_WEIGHT if t.stop else 1.0) for t in terms}
        rare = [s for s in stems if s not in self._common]
        candidates = set().union(*(self._index.get(s, ()) for s in rare))
        if not candidates:  # only common words: they are all there is to go on
            candidates = set().union(*(self._index.get(s, ()) for s in stems))
        for name in candidates:
            evidence = self._evidence(name, stems, noise)
            scores[name] = max(scores.get(name, 0), evidence)
        ranked = sorted(
            (
                (round(score, 3), self.intents[name].priority, name)
                for name, score in scores.items()
                if self._in_context(self.intents[name], after)
            ),
            reverse=True,
        )
        if not ranked:
            return NOTHING
        confidence, _, best = ranked[0]
        intent = self.intents[best]
        found = slots.get(best) or self.extract_slots(intent, terms, text)
        alternatives = tuple(Candidate(name, score) for score, _, name in ranked[1:4])
        return Understanding(best, confidence, found, alternatives)

    @staticmethod
    def _in_context(intent: Intent, after: str | None) -> bool:
        return not intent.context or after in intent.context

    def _evidence(self, name: str, stems: Mapping[str, float], noise: Mapping[str, float]) -> float:
        """Example and keyword evidence for one intent, combined as independent signals."""
        noise_total = sum(noise.values())
        best_example = 0.0
        for example in self._examples.get(name, ()):
            common = example.weights.keys() & stems.keys()
            if not common:
                continue
            recall = sum(example.weights[s] * stems[s] for s in common) / example.total
            explained = len(common)
            unexplained = noise_total - sum(noise[s] for s in common)
            best_example = max(
                best_example, recall * (explained / (explained + unexplained)) ** 0.5
            )
        keyword = 0.0
        hits = self._keywords.get(name, frozenset()) & stems.keys()
        if hits:
            found = sum(stems[s] for s in hits)
            rest = noise_total - sum(noise[s] for s in hits)
            keyword = 0.6 + 0.3 * (found / (found + rest)) ** 0.5
        return 1 - (1 - best_example) * (1 - keyword)

    # -- patterns and slots -------------------------------------------------------------------

    def _pattern_hits(
        self, terms: Sequence[Term], text: str
    ) -> Iterable[tuple[Intent, dict, float]]:
        for start, term in enumerate(terms):
            for intent, pattern, offset in self._patterns.get(term.stem, ()):
                begin = start - offset
                if begin < 0:
                    continue
                found = self._match(pattern.parts, terms, begin, text)
                if found is not None:
                    values, corrected = found
                    yield intent, values, PATTERN_CONFIDENCE * CORRECTED_WEIGHT**corrected

    def _match(
        self, parts: Sequence[Literal | SlotRef], terms: Sequence[Term], i: int, text: str
    ) -> tuple[dict[str, Any], int] | None:
        """Match `parts` from term `i`: the slot values and how many words were corrected."""
        if not parts:
            return {}, 0
        part, rest = parts[0], parts[1:]
        if isinstance(part, Literal):
            if i >= len(terms) or terms[i].stem != part.stem:
                return None
            found = self._match(rest, terms, i + 1, text)
            return None if found is None else (found[0], found[1] + terms[i].corrected)
        if part.type != "text":
            if i >= len(terms):
                return None
            parsed = parse_at(part.type, terms, i, text, self.rules.entities)
            if parsed is None:
                return None
            found = self._match(rest, terms, i + parsed[1], text)
            return None if found is None else ({part.name: parsed[0], **found[0]}, found[1])
        # Free text: as few words as let the rest match; at the end, the rest of the message.
        ends = range(i + 1, len(terms) + 1) if rest else [len(terms)]
        for end in ends:
            found = self._match(rest, terms, end, text)
            if found is not None:
                value = free_text(terms[i:end], text)
                if value:
                    return {part.name: value, **found[0]}, found[1]
        return None

    def extract_slots(self, intent: Intent, terms: Sequence[Term], text: str) -> dict[str, Any]:
        """Typed slots found anywhere in the message, assigned in order of appearance."""
        values: dict[str, Any] = {}
        by_type: dict[str, list] = {}
        for slot in intent.slots:
            if slot.type == "text":
                continue
            if slot.type not in by_type:
                by_type[slot.type] = find_all(slot.type, terms, text, self.rules.entities)
            if by_type[slot.type]:
                values[slot.name] = by_type[slot.type].pop(0)[0]
        return values

    def fill(self, slot_type: str, text: str) -> Any:
        """A value for a slot the bot asked for, from a whole reply, or None."""
        terms = self.analyzer.analyze(text)
        if slot_type == "text":
            return free_text(terms, text) or None
        found = find_all(slot_type, terms, text, self.rules.entities)
        return found[0][0] if found else None


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
