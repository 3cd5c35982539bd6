"""Find the intent a message expresses by the example phrases it contains.

Examples are tokenised once at load and indexed by their first token, so a message costs one
dictionary look-up per token plus a comparison per candidate phrase, however many intents
there are. The longest phrase found wins (it is the most specific), then the higher priority.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from nlp import tokenize
from rules import Intent, RuleSet


@dataclass(frozen=True)
class Understanding:
    """What the engine made of a message: the intent (None for fallback) and how sure it is."""

    intent: str | None
    confidence: float
    matched: str = ""


NOTHING = Understanding(intent=None, confidence=0.0)


class PhraseMatcher:
    """Matches normalised example phrases as contiguous runs of a message's tokens."""

    def __init__(self, rules: RuleSet) -> None:
        self._index: dict[str, list[tuple[tuple[str, ...], Intent]]] = defaultdict(list)
        for intent in rules.intents:
            for example in intent.examples:
                tokens = tokenize(example)
                if tokens:
                    self._index[tokens[0]].append((tokens, intent))

    def match(self, text: str) -> Understanding:
        tokens = tokenize(text)
        best: tuple[int, int] | None = None
        found: tuple[tuple[str, ...], Intent] | None = None
        for start, token in enumerate(tokens):
            for phrase, intent in self._index.get(token, ()):
                if tokens[start : start + len(phrase)] != phrase:
                    continue
                rank = (len(phrase), intent.priority)
                if best is None or rank > best:
                    best, found = rank, (phrase, intent)
        if found is None:
            return NOTHING
        phrase, intent = found
        return Understanding(
            intent=intent.name,
            confidence=round(len(phrase) / len(tokens), 3),
            matched=" ".join(phrase),
        )
