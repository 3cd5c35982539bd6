"""Pattern hits: `weather in {city}` matched word by word, its slots filled from the words
where they stand. A hit is near-certain, unless the pattern is nothing but stop words and
slots (`what is {topic}`): a catch-all, capped at `WEAK_CONFIDENCE`.

Patterns are indexed by their first word, so a message is tried only against the patterns
one of its words can start.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from engine.place_finder import PlaceFinder
from engine.values import MAX_TEXT_WORDS, MAX_UNKNOWN_PLACE_WORDS, free_text, refused
from engine.view import MessageView
from engine.weights import CORRECTED_WEIGHT, PATTERN_CONFIDENCE, WEAK_CONFIDENCE
from nlp import places
from nlp.analysis import Analyzer, Term
from rules import Intent, Pattern, RuleSet
from rules.model import SPAN_SLOT_TYPES, Literal, SlotRef


class PatternIndex:
    """The patterns of a `RuleSet`, by first word; `place_finder` judges the place values a
    pattern takes by position."""

    def __init__(self, rules: RuleSet, analyzer: Analyzer, place_finder: PlaceFinder) -> None:
        self.analyzer = analyzer
        self._places = place_finder
        self._patterns: dict[str, list[tuple[Intent, Pattern, int, float]]] = defaultdict(list)
        stopwords = analyzer.stopwords
        for intent in rules.intents:
            for pattern in intent.patterns:
                literals = [p for p in pattern.parts if isinstance(p, Literal)]
                weak = all(p.word in stopwords for p in literals)
                confidence = WEAK_CONFIDENCE if weak else PATTERN_CONFIDENCE
                # Indexed by its first word; the offset says where it starts before that word.
                offset = next(i for i, p in enumerate(pattern.parts) if isinstance(p, Literal))
                entry = (intent, pattern, offset, confidence)
                self._patterns[pattern.parts[offset].stem].append(entry)

    def hits(
        self, terms: Sequence[Term], view: MessageView
    ) -> Iterable[tuple[Intent, dict, float]]:
        """Every pattern the message holds: its intent, slot values and confidence (a
        little less for each word matched only once its typo was corrected)."""
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
            parsed = _parse_at(part.type, i, view)
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
                        value = _place_value(value)
                        if isinstance(value, str) and not self._places.plausible(
                            terms[i:end], view
                        ):
                            continue
                    return {part.name: value, **found[0]}, found[1]
        return None


def _parse_at(slot_type: str, i: int, view: MessageView) -> tuple[Any, int] | None:
    """A typed value starting at term `i`, with how many terms it takes."""
    if slot_type == "date":
        span = next((s for s in view.dates if s.first == i), None)
        return None if span is None else (span.value, span.end - span.first)
    return view.typed_at(slot_type).get(i)


def _place_value(text: str) -> Any:
    """A place the gazetteer knows as its full value, any other as the text written."""
    place = places.gazetteer().lookup(text)
    return place.value(text) if place is not None else text
