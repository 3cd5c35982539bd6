"""Find the intent a message expresses, with a confidence between 0 and 1, and its slots.

Everything is indexed once at load: example and keyword stems and pattern words point to
the intents that use them, so a message is compared only with the intents that share a
stem with it, however many intents there are. Evidence is combined per intent:

- a pattern hit (`weather in {city}`) is near-certain (`engine.patterns`);
- examples are compared by stems: how much of the example the message covers, softened by
  how much of the message the example explains (extra stop words cost little); keywords
  add evidence of their own (`engine.examples`);
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

The numbers behind all this are in `engine.weights`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.examples import ExampleIndex
from engine.extract import Found, SlotFinder
from engine.leadins import LeadIns
from engine.patterns import PatternIndex
from engine.place_finder import PlaceFinder
from engine.results import NOTHING, Candidate, Understanding
from engine.slots import find_all
from engine.values import free_text
from engine.view import MessageView, Span
from engine.weights import REFUSED_FACTOR, TIE_MARGIN, WEAK_CONFIDENCE
from nlp import places
from nlp.analysis import Analyzer
from nlp.text import Token
from rules import Intent, RuleSet

__all__ = ["WEAK_CONFIDENCE", "Candidate", "Matcher", "Understanding"]


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
        lead_ins = LeadIns(rules, analyzer)
        self._places = PlaceFinder(analyzer, lead_ins)
        self.finder = SlotFinder(lead_ins, self._places, analyzer)
        self._examples = ExampleIndex(rules, analyzer, tokenized or {})
        self._patterns = PatternIndex(rules, analyzer, self._places)
        if any(s.type == "place" for i in rules.intents for s in i.slots):
            places.gazetteer()  # loaded (built once, if need be) now, not on a user's message

    def understand(self, text: str, after: str | None = None) -> Understanding:
        """The best intent for `text`; `after` is the previous intent, for contextual intents."""
        terms = self.analyzer.analyze(text)
        if not terms:
            return NOTHING
        view = MessageView(text, terms, self.rules)
        scores: dict[str, float] = {}
        slots: dict[str, dict[str, Any]] = {}
        for intent, found, confidence in self._patterns.hits(terms, view):
            if confidence > scores.get(intent.name, 0):
                scores[intent.name], slots[intent.name] = confidence, found
        spans: dict[str, dict[str, Span]] = {}
        for name in self._examples.candidates(terms):
            intent = self.intents[name]
            found = self.finder.find(intent, view) if intent.slots else Found({})
            spans[name] = found.spans
            evidence = self._examples.evidence(name, terms, found.spans)
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
            return self._places.answer(view)
        if slot_type == "date":
            return view.dates[0].value if view.dates else None
        found = find_all(slot_type, terms, text, self.rules.entities)
        return found[0][0] if found else None
