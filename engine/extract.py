"""Slot values found wherever people put them, once the intent is known.

A pattern (`weather in {city}`) takes a value only in its exact shape. People write "Porto
weather", "in Porto, will it rain?", "is it cold in the north of Portugal". So each slot type
is also looked for anywhere in the message:

- `place`: the GeoNames gazetteer (`nlp.places`); a name that is also an everyday word
  ("nice", "reading") only counts when written with a capital or after a lead-in word. A
  place the gazetteer does not know still comes through as text after "in", "at", "near"
  when its words are unknown to the rules ("Horseshoe Lake State Park").
- `date`: `nlp.dates` ("tomorrow", "this weekend", "on Friday", "December 24").
- `text`: the words that follow a lead-in learned from the marked examples and the
  patterns (`who was [Ada Lovelace](topic)` teaches "who was" and "was"), up to a word that
  followed such a value, punctuation, or the end. A value holding a word the slot refuses
  ("my", "your") is not taken.
- numbers, currencies, URLs, e-mails and entity lists: their parsers, anywhere.

`MessageView` holds what is found once per message; `SlotFinder` knows each intent's lead-ins.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, NamedTuple

from engine.slots import find_all
from nlp import dates, places
from nlp.analysis import Analyzer, Term
from nlp.text import fold
from rules import Intent, RuleSet
from rules.model import Literal, Slot, SlotRef

# Words after which a place is named when no example says otherwise.
PLACE_LEAD_INS = frozenset(
    {"in", "at", "near", "nearby", "around", "for", "by", "from", "neighboring", "neighbouring"}
)
_BOUNDARY = set(",?!.;:()")
_LEADING_ARTICLES = {"the", "a", "an"}
# Words people add at the end that are not part of the value ("Paris pls", "Rome today").
_TRAILING_FILLERS = {"please", "thanks", "thank", "you", "today", "now", "asap", "again"}
_UNKNOWN_PLACE_LEAD_INS = frozenset({"in", "at", "near", "nearby"})
# Single words that lead into anything at all, so never into a value on their own.
_LOOSE_LEAD_INS = frozenset({"is", "are", "was", "were", "am", "be", "s", "the", "a", "an"})
MAX_TEXT_WORDS = 8  # a free-text value longer than this is a sentence, not a value
MAX_UNKNOWN_PLACE_WORDS = 5


# A text slot whose lead-in is followed by a value it refuses ("call me [when you can]").
REFUSED = "refused"


@dataclass(frozen=True)
class Span:
    """A slot value and the terms it covers, `first` to `end` (exclusive)."""

    value: Any
    first: int
    end: int


class Found(NamedTuple):
    """The slot values a message holds for one intent, and the slots that refuse the value
    standing where theirs would go."""

    spans: dict[str, Span]
    refused: frozenset[str] = frozenset()


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


def _shape(word: str) -> str:
    """A lead-in word as learned: numbers stand for any number ("20 [dollars](from)")."""
    return "#" if word[:1].isdigit() else word


def refused(slot: Slot, value: str, stopwords: frozenset[str] = frozenset()) -> bool:
    """Whether a text value holds a word the slot refuses (a topic about "my" parcel), or
    starts with a stop word, as no name or topic does ("on tv tonight", "not sure"), unless
    that word is written as a name is ("Will", "Can")."""
    words = fold(value).replace("'", " ").replace("’", " ").split()
    if not words:
        return True
    first = value.split()[0]
    named = first[:1].isupper() and not first.isupper()
    if words[0] in stopwords and not named:
        return True
    return bool(slot.refuse) and any(word in slot.refuse for word in words)


class SlotFinder:
    """Each intent's slot lead-ins and lead-outs, learned from its marked examples and its
    patterns, and the search for every slot's value in a message."""

    def __init__(self, rules: RuleSet, analyzer: Analyzer) -> None:
        self.analyzer = analyzer
        self._before: dict[tuple[str, str], Counter] = defaultdict(Counter)
        self._after: dict[tuple[str, str], set[str]] = defaultdict(set)
        for intent in rules.intents:
            self._learn(intent)
        defaults = Counter({(w,): 1 for w in PLACE_LEAD_INS})
        self._place_lead_ins = {
            (i.name, s.name): defaults + self._before.get((i.name, s.name), Counter())
            for i in rules.intents
            for s in i.slots
            if s.type == "place"
        }
        # The last word of every lead-in: a quick test before the lead-ins are compared.
        self._last_words = defaultdict(
            frozenset,
            {key: frozenset(c[-1] for c in counts) for key, counts in self._before.items()},
        )

    def _learn(self, intent: Intent) -> None:
        for text, marks in zip(intent.examples, intent.marks, strict=False):
            for mark in marks:
                before = [t.word for t in self.analyzer.analyze(text[: mark.start])]
                after = [t.word for t in self.analyzer.analyze(text[mark.end :])]
                self._remember(intent.name, mark.slot, before, after)
        for pattern in intent.patterns:
            parts = pattern.parts
            for k, part in enumerate(parts):
                if isinstance(part, SlotRef):
                    before = [p.word for p in parts[:k] if isinstance(p, Literal)][-2:]
                    nxt = parts[k + 1] if k + 1 < len(parts) else None
                    after = [nxt.word] if isinstance(nxt, Literal) else []
                    self._remember(intent.name, part.name, before, after)

    def _remember(self, intent: str, slot: str, before: list[str], after: list[str]) -> None:
        key = (intent, slot)
        before = [_shape(w) for w in before]
        if before:
            self._before[key][tuple(before[-1:])] += 1
            if len(before) > 1:
                self._before[key][tuple(before[-2:])] += 1
        if after:
            self._after[key].add(after[0])

    # -- finding ------------------------------------------------------------------------------

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

    def _led_typed(self, intent: Intent, slot: Slot, view: MessageView, used) -> Span | None:
        lead_ins = self._lead_ins(intent, slot)
        if not lead_ins or len(view.typed(slot.type)) < 2:
            return None
        for value, first, end in view.typed(slot.type):
            if not used.intersection(range(first, end)):
                words = [_shape(t.word) for t in view.terms[max(0, first - 1) : first]]
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
            return self._place(intent, slot, view, free)
        if slot.type == "text":
            return self._text(intent, slot, view, free)
        for value, first, end in view.typed(slot.type):
            if free(first, end):
                return Span(value, first, end)
        return None

    def _lead_ins(self, intent: Intent, slot: Slot) -> Counter:
        return self._before.get((intent.name, slot.name), Counter())

    def _after_lead_in(self, k: int, view: MessageView, lead_ins) -> int:
        """How strongly the words before term `k` lead into a value: 2 for a learned pair,
        1 for a single word, 0 for none."""
        words = [_shape(t.word) for t in view.terms[max(0, k - 2) : k]]
        if len(words) == 2 and tuple(words) in lead_ins:
            return 2
        return 1 if words and (words[-1],) in lead_ins else 0

    def _place(self, intent: Intent, slot: Slot, view: MessageView, free) -> Span | None:
        lead_ins = self._place_lead_ins[(intent.name, slot.name)]
        best, best_rank = None, -1
        for mention, first, end in view.places:
            if not free(first, end):
                continue
            led = self._after_lead_in(first, view, lead_ins) > 0
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
                best, best_rank = self._place_span(mention, first, end, view), rank
        if best is not None:
            return best
        return self._unknown_place(intent, slot, view, free, lead_ins)

    def _place_span(self, mention: places.Mention, first: int, end: int, view: MessageView) -> Span:
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

    def _unknown_place(self, intent, slot, view: MessageView, free, lead_ins) -> Span | None:
        """A place the gazetteer does not know, named after "in", "at", "near": words the
        rules do not use, up to punctuation or a date."""
        terms = view.terms
        stops = {s.first for s in view.dates}
        after = self._after.get((intent.name, slot.name), set())
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
            if self.plausible_place(words, view):
                value = free_text(words, view.text)
                if value and not refused(slot, value):
                    return Span(value, k, k + len(words))
        return None

    def answer_place(self, view: MessageView) -> Any:
        """A place from a reply to "Which city?": one the gazetteer knows (an everyday word
        only when it is the whole reply, or written with a capital), else the reply's own
        words if they could name a place ("can you guess", "tomorrow", "idk" cannot)."""
        whole = free_text(view.terms, view.text)
        for mention, _, _ in view.places:
            written = view.text[mention.start : mention.end]
            capital = view.cased and written[:1].isupper()
            if not mention.common or capital or fold(written) == fold(whole):
                return mention.place.value(written)
        if view.dates or not self.plausible_place(view.terms, view):
            return None
        return whole or None

    def plausible_place(self, terms: Sequence[Term], view: MessageView) -> bool:
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

    def _text(self, intent: Intent, slot: Slot, view: MessageView, free) -> Span | str | None:
        """The value after the strongest lead-in; `REFUSED` when the only values found
        there are ones the slot refuses."""
        lead_ins = self._lead_ins(intent, slot)
        if not lead_ins:
            return None
        after = self._after.get((intent.name, slot.name), set())
        last_words = self._last_words[(intent.name, slot.name)]
        terms = view.terms
        best, best_strength, refusal = None, 0, False
        for k in range(1, len(terms)):
            if _shape(terms[k - 1].word) not in last_words:
                continue
            strength = self._after_lead_in(k, view, lead_ins)
            lone = terms[k - 1].word
            if (
                strength == 1
                and terms[k - 1].stop
                and (lead_ins[(lone,)] < 3 or lone in _LOOSE_LEAD_INS)
            ):
                strength = 0  # "about" leads into a value; "is" or "the" into anything at all
            if strength <= best_strength or not free(k, k + 1):
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
            best, best_strength = Span(value, k, end), strength
        return REFUSED if best is None and refusal else best
