"""Where each intent's slot values stand, learned from its marked examples and patterns:
the one or two words before a value (its lead-ins, counted) and the word after it.

`who was [Ada Lovelace](topic)` teaches "was" and "who was" before a topic; the pattern
`weather in {city} today` teaches "in" before a city and "today" after it. A number is
learned as "#", so "20 [dollars](from)" leads in with any number.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence

from nlp.analysis import Analyzer, Term
from rules import Intent, RuleSet
from rules.model import Literal, Slot, SlotRef

# Words after which a place is named when no example says otherwise.
PLACE_LEAD_INS = frozenset(
    {"in", "at", "near", "nearby", "around", "for", "by", "from", "neighboring", "neighbouring"}
)


def shape(word: str) -> str:
    """A lead-in word as learned: numbers stand for any number ("20 [dollars](from)")."""
    return "#" if word[:1].isdigit() else word


def strength(terms: Sequence[Term], k: int, lead_ins: Counter) -> int:
    """How strongly the words before term `k` lead into a value: 2 for a learned pair,
    1 for a single word, 0 for none."""
    words = [shape(t.word) for t in terms[max(0, k - 2) : k]]
    if len(words) == 2 and tuple(words) in lead_ins:
        return 2
    return 1 if words and (words[-1],) in lead_ins else 0


class LeadIns:
    """The words before and after every slot's values, per intent, learned at load."""

    def __init__(self, rules: RuleSet, analyzer: Analyzer) -> None:
        self._before: dict[tuple[str, str], Counter] = defaultdict(Counter)
        self._after: dict[tuple[str, str], set[str]] = defaultdict(set)
        for intent in rules.intents:
            self._learn(intent, analyzer)
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

    def _learn(self, intent: Intent, analyzer: Analyzer) -> None:
        for text, marks in zip(intent.examples, intent.marks, strict=False):
            for mark in marks:
                before = [t.word for t in analyzer.analyze(text[: mark.start])]
                after = [t.word for t in analyzer.analyze(text[mark.end :])]
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
        before = [shape(w) for w in before]
        if before:
            self._before[key][tuple(before[-1:])] += 1
            if len(before) > 1:
                self._before[key][tuple(before[-2:])] += 1
        if after:
            self._after[key].add(after[0])

    def before(self, intent: Intent, slot: Slot) -> Counter:
        """The learned lead-ins of a slot, as word tuples with how often each was seen."""
        return self._before.get((intent.name, slot.name), Counter())

    def before_place(self, intent: Intent, slot: Slot) -> Counter:
        """A place slot's lead-ins: the learned ones and the usual "in", "at", "near"."""
        return self._place_lead_ins[(intent.name, slot.name)]

    def after(self, intent: Intent, slot: Slot) -> set[str]:
        """The words seen right after a slot's value, where a value found ends."""
        return self._after.get((intent.name, slot.name), set())

    def last_words(self, intent: Intent, slot: Slot) -> frozenset[str]:
        """The words a slot's lead-ins end with."""
        return self._last_words[(intent.name, slot.name)]
