"""Place values found anywhere in a message, and in a reply to "Which city?".

A name from the GeoNames gazetteer (`nlp.places`) counts unless it is also an everyday word
("nice", "reading") written without a capital and without a lead-in. Capitalised words
around a known name make a longer one the gazetteer does not know ("Holly River State
Park"); words the rules do not use after "in", "at" or "near" are taken as a place too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from engine.leadins import PLACE_LEAD_INS, LeadIns, strength
from engine.values import MAX_UNKNOWN_PLACE_WORDS, free_text, refused
from engine.view import MessageView, Span
from nlp import places
from nlp.analysis import Analyzer, Term
from nlp.text import fold
from rules import Intent
from rules.model import Slot

_UNKNOWN_PLACE_LEAD_INS = frozenset({"in", "at", "near", "nearby"})

# Whether terms `first` to `end` are still free for a value.
Free = Callable[[int, int], bool]


class PlaceFinder:
    """Finds place values, told by `lead_ins` which words lead into each intent's places and
    by `analyzer` which words the rules use (and so are no place on their own)."""

    def __init__(self, analyzer: Analyzer, lead_ins: LeadIns) -> None:
        self.analyzer = analyzer
        self._lead_ins = lead_ins

    def find(self, intent: Intent, slot: Slot, view: MessageView, free: Free) -> Span | None:
        """The best place for `slot` among the free terms: one after a lead-in first, then
        one named exactly; else a place the gazetteer does not know."""
        lead_ins = self._lead_ins.before_place(intent, slot)
        best, best_rank = None, -1
        for mention, first, end in view.places:
            if not free(first, end):
                continue
            led = strength(view.terms, first, lead_ins) > 0
            capital = (
                view.cased
                and view.original(first)[:1].isupper()
                and (first > 0 or not mention.common)
            )
            # A name made of words the rules use ("rain", "can") is no place without help.
            common = mention.common or all(self._known(view, t) for t in view.terms[first:end])
            if common and not (
                (led and capital) or (led and not mention.common) or (capital and first)
            ):
                continue
            rank = 2 * led + mention.exact
            if rank > best_rank:
                best, best_rank = self._span(mention, first, end, view), rank
        if best is not None:
            return best
        return self._unknown(intent, slot, view, free)

    def _span(self, mention: places.Mention, first: int, end: int, view: MessageView) -> Span:
        """The place found, or, when capitalised words stand right before or after its name
        ("Holly River State Park", "South Superior"), all of them as text: a place the
        gazetteer does not know whose name holds one it does. Five words at most."""
        terms = view.terms
        # A name said again is a repeat, not a longer name ("Lisbon Lisbon").
        starts = {k for other, k, _ in view.places if other.place == mention.place}

        def capitalised(k: int) -> bool:
            return (
                view.cased
                and view.original(k)[:1].isupper()
                and not terms[k].stop
                and not self._known(view, terms[k])  # "Porto Weather" is Porto
            )

        begin, run = first, end
        while (
            begin > 0
            and begin not in view.boundaries
            and capitalised(begin - 1)
            and terms[begin - 1].word not in PLACE_LEAD_INS
            and run - begin < MAX_UNKNOWN_PLACE_WORDS
        ):
            begin -= 1
        while (
            run < len(terms)
            and run not in view.boundaries
            and run not in starts
            and capitalised(run)
            and capitalised(first)
            and run - begin < MAX_UNKNOWN_PLACE_WORDS
        ):
            run += 1
        longer = (begin, run) != (first, end)
        if longer and not any(s.first < run and s.end > begin for s in view.dates):
            return Span(view.text[terms[begin].start : terms[run - 1].end], begin, run)
        return Span(mention.place.value(view.text[mention.start : mention.end]), first, end)

    def _unknown(self, intent: Intent, slot: Slot, view: MessageView, free: Free) -> Span | None:
        """A place the gazetteer does not know, named after "in", "at", "near": words the
        rules do not use, up to punctuation or a date."""
        terms = view.terms
        stops = {s.first for s in view.dates}
        after = self._lead_ins.after(intent, slot)
        for k in range(1, len(terms)):
            if terms[k - 1].word not in _UNKNOWN_PLACE_LEAD_INS or not free(k, k + 1):
                continue
            end = k
            while (
                end < len(terms)
                and end - k < MAX_UNKNOWN_PLACE_WORDS
                and end not in stops
                and (end == k or end not in view.boundaries)
                and terms[end].word not in after
                and free(end, end + 1)
            ):
                end += 1
            words = terms[k:end]
            while words and words[-1].stop:
                words = words[:-1]
            if self.plausible(words, view):
                value = free_text(words, view.text)
                if value and not refused(slot, value):
                    return Span(value, k, k + len(words))
        return None

    def answer(self, view: MessageView) -> Any:
        """A place from a reply to "Which city?": one the gazetteer knows (an everyday word
        only when it is the whole reply, or written with a capital), else the reply's own
        words if they could name a place ("can you guess", "tomorrow", "idk" cannot)."""
        whole = free_text(view.terms, view.text)
        for mention, _, _ in view.places:
            written = view.text[mention.start : mention.end]
            capital = view.cased and written[:1].isupper()
            if not mention.common or capital or fold(written) == fold(whole):
                return mention.place.value(written)
        if view.dates or not self.plausible(view.terms, view):
            return None
        return whole or None

    def plausible(self, terms: Sequence[Term], view: MessageView) -> bool:
        """Whether words taken as a place by position could name one the gazetteer does not
        know: some word that is no stop word and no word the rules use ("here", "weather",
        "07" are not places)."""
        content = [t for t in terms if not t.stop]
        capitalised = view.cased and any(view.text[t.start].isupper() for t in content)
        return (
            bool(content)
            and (capitalised or len(content) > 1)  # "in the morning" is no place
            and all(not self._known(view, t) and not t.word[:1].isdigit() for t in content)
        )

    def _known(self, view: MessageView, term: Term) -> bool:
        raw = fold(view.text[term.start : term.end])
        return self.analyzer.knows(raw) or (term.corrected and self.analyzer.knows(term.word))
