"""One message as the slot search sees it: its terms, and the dates, places and typed values
in it, each found once however many intents look for them.

A `Span` says which terms a value covers, so one value fills one slot and its words count
as explained when the message is scored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from engine.slots import find_all
from nlp import dates, places
from nlp.analysis import Term
from rules import RuleSet

_BOUNDARY = set(",?!.;:()")


@dataclass(frozen=True)
class Span:
    """A slot value and the terms it covers, `first` to `end` (exclusive)."""

    value: Any
    first: int
    end: int


def _term_range(terms: Sequence[Term], start: int, end: int) -> tuple[int, int]:
    """The terms that a character span `start:end` covers."""
    first = next((k for k, t in enumerate(terms) if t.end > start), len(terms))
    last = next((k for k in range(first, len(terms)) if terms[k].start >= end), len(terms))
    return first, last


class MessageView:
    """One message's terms, with the places, dates and typed values in it found once."""

    def __init__(self, text: str, terms: Sequence[Term], rules: RuleSet) -> None:
        self.text = text
        self.terms = terms
        self._entities = rules.entities
        self._typed: dict[str, list[tuple[Any, int, int]]] = {}
        self._typed_at: dict[str, dict[int, tuple[Any, int]]] = {}

    @cached_property
    def cased(self) -> bool:
        """Whether capitals mean something here: some word is in lower case (in a message
        in capitals or Title Case, "Rain" is not a name)."""
        return any(ch.isalpha() and ch.islower() for ch in (self.text[t.start] for t in self.terms))

    @cached_property
    def boundaries(self) -> frozenset[int]:
        """Term indexes that punctuation separates from the term before them."""
        terms, text = self.terms, self.text
        return frozenset(
            k
            for k in range(1, len(terms))
            if any(ch in _BOUNDARY for ch in text[terms[k - 1].end : terms[k].start])
        )

    @cached_property
    def dates(self) -> list[Span]:
        found = []
        for mention in dates.find_dates(self.text):
            first, end = _term_range(self.terms, mention.start, mention.end)
            if first < end:
                found.append(Span({"text": mention.text}, first, end))
        return found

    @cached_property
    def places(self) -> list[tuple[places.Mention, int, int]]:
        found = []
        taken = {k for span in self.dates for k in range(span.first, span.end)}
        for mention in places.gazetteer().find(self.text):
            first, end = _term_range(self.terms, mention.start, mention.end)
            if first < end and not taken.intersection(range(first, end)):
                found.append((mention, first, end))
        return found

    def value_end(self, i: int) -> int:
        """Where a free value starting at term `i` must end: at punctuation, a date or the
        end of the message."""
        stops = [k for k in self.boundaries if k > i] + [s.first for s in self.dates if s.first > i]
        return min(stops, default=len(self.terms))

    def typed(self, slot_type: str) -> list[tuple[Any, int, int]]:
        if slot_type not in self._typed:
            self._typed[slot_type] = find_all(slot_type, self.terms, self.text, self._entities)
        return self._typed[slot_type]

    def typed_at(self, slot_type: str) -> dict[int, tuple[Any, int]]:
        """The typed values by the term they start at, as (value, terms used)."""
        if slot_type not in self._typed_at:
            found = self.typed(slot_type)
            self._typed_at[slot_type] = {first: (v, end - first) for v, first, end in found}
        return self._typed_at[slot_type]

    def original(self, k: int) -> str:
        return self.text[self.terms[k].start : self.terms[k].end]
