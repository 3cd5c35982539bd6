"""Counting what the engine made of each labelled case: intent right or wrong, per intent and
per confused pair, slot values right, wrong or missed, out-of-scope messages that fall back,
and how often a confident answer is right.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ruletools.cases import Case
from ruletools.values import slot_matches

FALLBACK = "fallback"
CONFIDENT = 0.8


@dataclass(frozen=True)
class Prediction:
    intent: str  # `fallback` when the bot would not answer
    confidence: float
    slots: dict[str, Any]
    choices: tuple[str, ...] = ()  # intents offered in a clarifying question


@dataclass
class Report:
    """The counts `format_report` prints; figures are fractions between 0 and 1."""

    cases: int = 0
    in_scope: int = 0
    in_scope_right: int = 0
    out_of_scope: int = 0
    out_of_scope_right: int = 0
    frames_right: int = 0
    confident: int = 0
    confident_right: int = 0
    clarified: int = 0
    clarified_offering_right: int = 0
    per_intent: dict[str, Counter] = field(default_factory=dict)
    confused: Counter = field(default_factory=Counter)
    slots: dict[str, Counter] = field(default_factory=dict)
    misses: list[tuple[Case, Prediction]] = field(default_factory=list)

    @staticmethod
    def _share(part: int, whole: int) -> float | None:
        """`part / whole`, or None (printed "n/a") when there is nothing to count."""
        return part / whole if whole else None

    @property
    def accuracy(self) -> float | None:
        return self._share(self.in_scope_right, self.in_scope)

    @property
    def out_of_scope_rate(self) -> float | None:
        return self._share(self.out_of_scope_right, self.out_of_scope)

    @property
    def frame_rate(self) -> float | None:
        return self._share(self.frames_right, self.in_scope)

    @property
    def confident_precision(self) -> float | None:
        return self._share(self.confident_right, self.confident)

    def slot_figures(self, name: str) -> tuple[float | None, float | None]:
        counts = self.slots[name]
        precision = self._share(counts["right"], counts["right"] + counts["wrong"])
        recall = self._share(counts["right"], counts["right"] + counts["missed"])
        return precision, recall

    def slot_totals(self) -> tuple[float | None, float | None]:
        total = sum(self.slots.values(), Counter())
        precision = self._share(total["right"], total["right"] + total["wrong"])
        return precision, self._share(total["right"], total["right"] + total["missed"])


def score(report: Report, case: Case, predicted: Prediction) -> None:
    """Add one case and what the engine made of it to `report`."""
    report.cases += 1
    # A clarifying question answers nothing yet: it is not counted as right.
    right = predicted.intent == case.intent and not predicted.choices
    counts = report.per_intent.setdefault(case.intent, Counter())
    counts["support"] += 1
    counts["right"] += right
    report.per_intent.setdefault(predicted.intent, Counter())["predicted"] += 1
    if predicted.choices:
        report.clarified += 1
        report.clarified_offering_right += case.intent in predicted.choices
    if predicted.intent != FALLBACK and predicted.confidence >= CONFIDENT and not predicted.choices:
        report.confident += 1
        report.confident_right += right
    if case.intent == FALLBACK:
        report.out_of_scope += 1
        report.out_of_scope_right += right
        _score_slots(report, case, predicted)  # any value found is a wrong one
        if not right:
            report.confused[(case.intent, predicted.intent)] += 1
            report.misses.append((case, predicted))
        return
    report.in_scope += 1
    report.in_scope_right += right
    slots_right = _score_slots(report, case, predicted)
    report.frames_right += right and slots_right
    if not right:
        report.confused[(case.intent, predicted.intent)] += 1
    if not (right and slots_right):
        report.misses.append((case, predicted))


def _score_slots(report: Report, case: Case, predicted: Prediction) -> bool:
    """Count slot hits, wrong values and misses; whether every slot was exactly right. The
    values of a wrong intent are counted as they are: right where they are right."""
    found = dict(predicted.slots)
    exact = True
    for name, expected in case.slots.items():
        counts = report.slots.setdefault(name, Counter())
        if name not in found:
            counts["missed"] += 1
            exact = False
        elif slot_matches(expected, found.pop(name)):
            counts["right"] += 1
        else:
            counts["wrong"] += 1
            counts["missed"] += 1
            exact = False
    for name in found:  # values the message did not hold
        report.slots.setdefault(name, Counter())["wrong"] += 1
        exact = False
    return exact
