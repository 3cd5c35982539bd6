"""Find the intent a message expresses, with a confidence between 0 and 1, and its slots.

Everything is indexed once at load: example and keyword stems and pattern words point to
the intents that use them, so a message is compared only with the intents that share a
stem with it, however many intents there are. Evidence is combined per intent:

- a pattern hit (`weather in {city}`) is near-certain;
- examples are compared by stems: how much of the example the message covers, softened by
  how much of the message the example explains (extra stop words cost little);
- keywords add evidence of their own;
- typo-corrected words count a little less than words spelled as in the rules;
- slot values marked in examples (`weather in [Lisbon](city)`) are not words to match but
  places for a value: an example is covered where the message holds a value of that slot
  (found by `engine.extract` anywhere in it), and the words of every value found count as
  explained;
- a pattern or example made only of stop words and slots (`what is {topic}`) is weak
  evidence, capped at `WEAK_CONFIDENCE`, so it never outranks an intent whose content words
  the message uses;
- two intents that score within `TIE_MARGIN` of each other are both offered (`choices`),
  and the dialogue asks which one was meant.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from engine.extract import (
    MAX_TEXT_WORDS,
    MAX_UNKNOWN_PLACE_WORDS,
    Found,
    MessageView,
    SlotFinder,
    Span,
    free_text,
    refused,
)
from engine.slots import find_all
from nlp import places
from nlp.analysis import Analyzer, Term
from nlp.text import Token
from rules import Intent, Pattern, RuleSet
from rules.model import SPAN_SLOT_TYPES, Literal, SlotRef

# A stem used by more intents than this is too common to find candidates with ("show", "want"
# in every intent); it still counts when the candidates found through rarer stems are scored.
COMMON_STEM_MIN = 20
COMMON_STEM_SHARE = 0.05
STOP_WEIGHT = 0.2  # an unexplained stop word in the message ("pls", "the") is mere noise
EXAMPLE_STOP_WEIGHT = 0.5  # an example's stop words were written on purpose
CORRECTED_WEIGHT = 0.8
# Just below an exact example: "whats up" is a greeting, not a question about "up".
PATTERN_CONFIDENCE = 0.95
# A catch-all ("what is {topic}"): enough to answer when nothing else fits, never more.
WEAK_CONFIDENCE = 0.6
MARK_WEIGHT = 1.0  # a marked value counts like a content word of its example
TIE_MARGIN = 0.03
SPECIFICITY = 0.5
# Words where an intent's slot value goes that the slot refuses are evidence against it.
REFUSED_FACTOR = 0.5
# How much words a message holds beyond an example or keyword cost: the share explained,
# raised to this power. A keyword alone is worth KEYWORD_BASE, up to + KEYWORD_SPAN.
EXPLAINED_POWER = 0.75
KEYWORD_BASE = 0.6
KEYWORD_SPAN = 0.3
# "my order", "our booking": a message about the user's own things is about what the bot
# cannot see, unless an example says otherwise ("delete my data"), so these stop words
# cost as much as content words when no example explains them.
OWN_WORDS = frozenset({"my", "our", "mine"})


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
    choices: tuple[str, ...] = ()  # intents too close to call: the bot asks which one


NOTHING = Understanding(intent=None, confidence=0.0)


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


class Matcher:
    """Scores the intents of a `RuleSet` against analysed messages."""

    def __init__(
        self,
        rules: RuleSet,
        analyzer: Analyzer,
        tokenized: Mapping[str, tuple[Token, ...]] | None = None,
    ) -> None:
        self.rules = rules
        self.analyzer = analyzer
        self.intents = {i.name: i for i in rules.intents}
        self.finder = SlotFinder(rules, analyzer)
        self._examples: dict[str, list[_Example]] = defaultdict(list)
        # Per intent, the examples that use each content stem, or mark a slot ("{city}"):
        # only those can score well.
        self._by_stem: dict[str, dict[str, list[int]]] = defaultdict(dict)
        self._always: dict[str, list[int]] = defaultdict(list)
        self._keywords: dict[str, frozenset[str]] = {}
        self._index: dict[str, set[str]] = defaultdict(set)
        self._patterns: dict[str, list[tuple[Intent, Pattern, int, float]]] = defaultdict(list)
        examples: list[tuple[str, list[Term], tuple[str, ...]]] = []
        for intent in rules.intents:
            examples += self._add(intent, tokenized or {})
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
        if any(s.type == "place" for i in rules.intents for s in i.slots):
            places.gazetteer()  # loaded (built once, if need be) now, not on a user's message

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
        stopwords = self.analyzer.stopwords
        for pattern in intent.patterns:
            literals = [p for p in pattern.parts if isinstance(p, Literal)]
            weak = all(p.word in stopwords for p in literals)
            confidence = WEAK_CONFIDENCE if weak else PATTERN_CONFIDENCE
            # Indexed by its first word; the offset says where the pattern starts before it.
            offset = next(i for i, p in enumerate(pattern.parts) if isinstance(p, Literal))
            self._patterns[pattern.parts[offset].stem].append((intent, pattern, offset, confidence))
        return examples

    # -- scoring ------------------------------------------------------------------------------

    def understand(self, text: str, after: str | None = None) -> Understanding:
        """The best intent for `text`; `after` is the previous intent, for contextual intents."""
        terms = self.analyzer.analyze(text)
        if not terms:
            return NOTHING
        view = MessageView(text, terms, self.rules)
        scores: dict[str, float] = {}
        slots: dict[str, dict[str, Any]] = {}
        for intent, found, confidence in self._pattern_hits(terms, view):
            if confidence > scores.get(intent.name, 0):
                scores[intent.name], slots[intent.name] = confidence, found
        stems = {t.stem for t in terms}
        rare = [s for s in stems if s not in self._common]
        candidates = set().union(*(self._index.get(s, ()) for s in rare))
        if not candidates:  # only common words: they are all there is to go on
            candidates = set().union(*(self._index.get(s, ()) for s in stems))
        spans: dict[str, dict[str, Span]] = {}
        for name in candidates:
            intent = self.intents[name]
            found = self.finder.find(intent, view) if intent.slots else Found({})
            spans[name] = found.spans
            evidence = self._evidence(name, terms, found.spans)
            if found.refused:
                evidence *= REFUSED_FACTOR  # "call me [when you can]": no name where one goes
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
        if best not in spans:
            spans[best] = self.finder.find(intent, view).spans if intent.slots else {}
        # A pattern's values where it has them, but a place or date its parser found wins.
        found = dict(slots.get(best, {}))
        for name, span in spans[best].items():
            if name not in found or intent.slot(name).type in ("place", "date"):
                found[name] = span.value
        alternatives = tuple(Candidate(name, score) for score, _, name in ranked[1:4])
        choices = ()
        if len(ranked) > 1 and confidence - ranked[1][0] <= TIE_MARGIN:
            choices = (best, ranked[1][2])
        return Understanding(best, confidence, found, alternatives, choices=choices)

    @staticmethod
    def _in_context(intent: Intent, after: str | None) -> bool:
        return not intent.context or after in intent.context

    def _evidence(self, name: str, terms: Sequence[Term], spans: Mapping[str, Span]) -> float:
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

    # -- patterns and slots -------------------------------------------------------------------

    def _pattern_hits(
        self, terms: Sequence[Term], view: MessageView
    ) -> Iterable[tuple[Intent, dict, float]]:
        for start, term in enumerate(terms):
            for intent, pattern, offset, confidence in self._patterns.get(term.stem, ()):
                begin = start - offset
                if begin < 0:
                    continue
                found = self._match(intent, pattern.parts, terms, begin, view)
                if found is not None:
                    values, corrected = found
                    yield intent, values, confidence * CORRECTED_WEIGHT**corrected

    def _match(
        self,
        intent: Intent,
        parts: Sequence[Literal | SlotRef],
        terms: Sequence[Term],
        i: int,
        view: MessageView,
    ) -> tuple[dict[str, Any], int] | None:
        """Match `parts` from term `i`: the slot values and how many words were corrected."""
        if not parts:
            return {}, 0
        part, rest = parts[0], parts[1:]
        if isinstance(part, Literal):
            if i >= len(terms) or terms[i].stem != part.stem:
                return None
            found = self._match(intent, rest, terms, i + 1, view)
            return None if found is None else (found[0], found[1] + terms[i].corrected)
        if part.type not in SPAN_SLOT_TYPES:
            if i >= len(terms):
                return None
            parsed = self._parse_at(part.type, terms, i, view)
            if parsed is None:
                return None
            found = self._match(intent, rest, terms, i + parsed[1], view)
            return None if found is None else ({part.name: parsed[0], **found[0]}, found[1])
        # Free text: as few words as let the rest match; at the end, up to punctuation, a
        # date or the end of the message ("weather in Oslo, tomorrow?" is Oslo).
        stop = view.value_end(i)
        ends = range(i + 1, stop + 1) if rest else [stop]
        slot = intent.slot(part.name)
        longest = MAX_UNKNOWN_PLACE_WORDS if part.type == "place" else MAX_TEXT_WORDS
        for end in ends:
            if end - i > longest:  # a value that long is a sentence, not a value
                break
            found = self._match(intent, rest, terms, end, view)
            if found is not None:
                value = free_text(terms[i:end], view.text)
                stopwords = self.analyzer.stopwords if part.type == "text" else frozenset()
                if value and not (slot is not None and refused(slot, value, stopwords)):
                    if part.type == "place":
                        value = self._place_value(value)
                        if isinstance(value, str) and not self.finder.plausible_place(
                            terms[i:end], view
                        ):
                            continue
                    return {part.name: value, **found[0]}, found[1]
        return None

    def _parse_at(
        self, slot_type: str, terms: Sequence[Term], i: int, view: MessageView
    ) -> tuple[Any, int] | None:
        if slot_type == "date":
            span = next((s for s in view.dates if s.first == i), None)
            return None if span is None else (span.value, span.end - span.first)
        return view.typed_at(slot_type).get(i)

    @staticmethod
    def _place_value(text: str) -> Any:
        """A place the gazetteer knows as its full value, any other as the text written."""
        place = places.gazetteer().lookup(text)
        return place.value(text) if place is not None else text

    def slots_for(self, intent: Intent, text: str) -> dict[str, Any]:
        """The values of `intent`'s slots that `text` holds."""
        view = MessageView(text, self.analyzer.analyze(text), self.rules)
        return {name: span.value for name, span in self.finder.find(intent, view).spans.items()}

    def fill(self, slot_type: str, text: str) -> Any:
        """A value for a slot the bot asked for, from a whole reply, or None."""
        terms = self.analyzer.analyze(text)
        if slot_type == "text":
            return free_text(terms, text) or None
        view = MessageView(text, terms, self.rules)
        if slot_type == "place":
            return self.finder.answer_place(view)
        if slot_type == "date":
            return view.dates[0].value if view.dates else None
        found = find_all(slot_type, terms, text, self.rules.entities)
        return found[0][0] if found else None
