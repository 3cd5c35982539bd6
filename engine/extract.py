"""Slot values found wherever people put them, once the intent is known.

A pattern (`weather in {city}`) takes a value only in its exact shape. People write "Porto
weather", "in Porto, will it rain?", "is it cold in the north of Portugal". So each slot type
is also looked for anywhere in the message:

- `place`: the GeoNames gazetteer, or words after "in", "at", "near" that the rules do not
  use (`engine.place_finder`).
- `date`: `nlp.dates` ("tomorrow", "this weekend", "on Friday", "December 24").
- `text`: the words that follow a lead-in learned from the marked examples and the
  patterns (`engine.leadins`), up to a word that followed such a value, punctuation, or the
  end. A value holding a word the slot refuses ("my", "your") is not taken.
- numbers, currencies, URLs, e-mails and entity lists: their parsers, anywhere.

What a message holds is found once, in its `MessageView`; `SlotFinder` shares it out among
one intent's slots.
"""

from __future__ import annotations

from typing import NamedTuple

from engine.leadins import LeadIns, shape, strength
from engine.place_finder import Free, PlaceFinder
from engine.values import MAX_TEXT_WORDS, free_text, refused
from engine.view import MessageView, Span
from nlp.analysis import Analyzer
from rules import Intent
from rules.model import Slot

# Single words that lead into anything at all, so never into a value on their own.
_LOOSE_LEAD_INS = frozenset({"is", "are", "was", "were", "am", "be", "s", "the", "a", "an"})

# A text slot whose lead-in is followed by a value it refuses ("call me [when you can]").
REFUSED = "refused"


class Found(NamedTuple):
    """The slot values a message holds for one intent, and the slots that refuse the value
    standing where theirs would go."""

    spans: dict[str, Span]
    refused: frozenset[str] = frozenset()


class SlotFinder:
    """The search for every slot's value in a message, with each intent's learned
    `lead_ins`, the `place_finder`, and the `analyzer`'s stop words."""

    def __init__(self, lead_ins: LeadIns, place_finder: PlaceFinder, analyzer: Analyzer) -> None:
        self.analyzer = analyzer
        self._lead_ins = lead_ins
        self._places = place_finder

    def find(self, intent: Intent, view: MessageView) -> Found:
        """Every slot of `intent` whose value the message holds, each at most once, and the
        slots where a value stands that they refuse. Typed values go first to the slot whose
        lead-in precedes them ("how many [euros](to) for 250 francs"), then in the order
        they appear."""
        found: dict[str, Span] = {}
        refusing: set[str] = set()
        used: set[int] = set()
        typed = [s for s in intent.slots if s.type not in ("text", "place", "date")]
        for slot in typed:
            span = self._led_typed(intent, slot, view, used)
            if span is not None:
                found[slot.name] = span
                used.update(range(span.first, span.end))
        order = sorted(intent.slots, key=lambda s: s.type in ("text", "place"))  # typed first
        for slot in order:
            if slot.name in found:
                continue
            span = self._one(intent, slot, view, used)
            if span is REFUSED:
                refusing.add(slot.name)
            elif span is not None:
                found[slot.name] = span
                used.update(range(span.first, span.end))
        return Found(found, frozenset(refusing))

    def _led_typed(
        self, intent: Intent, slot: Slot, view: MessageView, used: set[int]
    ) -> Span | None:
        lead_ins = self._lead_ins.before(intent, slot)
        if not lead_ins or len(view.typed(slot.type)) < 2:
            return None
        for value, first, end in view.typed(slot.type):
            if not used.intersection(range(first, end)):
                words = [shape(t.word) for t in view.terms[max(0, first - 1) : first]]
                if words and (words[-1],) in lead_ins and not view.terms[first - 1].stop:
                    return Span(value, first, end)
        return None

    def _one(
        self, intent: Intent, slot: Slot, view: MessageView, used: set[int]
    ) -> Span | str | None:
        def free(first: int, end: int) -> bool:
            return not used.intersection(range(first, end))

        if slot.type == "date":
            return next((s for s in view.dates if free(s.first, s.end)), None)
        if slot.type == "place":
            return self._places.find(intent, slot, view, free)
        if slot.type == "text":
            return self._text(intent, slot, view, free)
        for value, first, end in view.typed(slot.type):
            if free(first, end):
                return Span(value, first, end)
        return None

    def _text(self, intent: Intent, slot: Slot, view: MessageView, free: Free) -> Span | str | None:
        """The value after the strongest lead-in; `REFUSED` when the only values found
        there are ones the slot refuses."""
        lead_ins = self._lead_ins.before(intent, slot)
        if not lead_ins:
            return None
        after = self._lead_ins.after(intent, slot)
        last_words = self._lead_ins.last_words(intent, slot)
        terms = view.terms
        best, best_strength, refusal = None, 0, False
        for k in range(1, len(terms)):
            if shape(terms[k - 1].word) not in last_words:
                continue
            led = strength(terms, k, lead_ins)
            lone = terms[k - 1].word
            if (
                led == 1
                and terms[k - 1].stop
                and (lead_ins[(lone,)] < 3 or lone in _LOOSE_LEAD_INS)
            ):
                led = 0  # "about" leads into a value; "is" or "the" into anything at all
            if led <= best_strength or not free(k, k + 1):
                continue
            end = k + 1
            while (
                end < len(terms)
                and end not in view.boundaries
                and terms[end].word not in after
                and free(end, end + 1)
            ):
                end += 1
            value = free_text(terms[k:end], view.text)
            if value and refused(slot, value, self.analyzer.stopwords):
                refusal = True
                continue
            if not value or end - k > MAX_TEXT_WORDS:
                continue
            best, best_strength = Span(value, k, end), led
        return REFUSED if best is None and refusal else best
