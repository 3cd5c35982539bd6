"""Measure how well a rule set understands labelled messages.

Each case is a JSON line `{"text", "intent", "slots"}` (intent `fallback` for a message the
bot should not answer; optionally `"after": "joke"`, the previous intent, for contextual
intents). An expected slot value may be a list of acceptable values. `evaluate` runs the
engine's understanding on every case and counts what a rule author needs: intent accuracy
per intent, the pairs most often confused, slot precision and recall, how often
out-of-scope messages fall back, and how often a confident answer is right.

`--format snips` reads the shared development data instead (`text` plus `entities`): a
place is any of `city`, `state`, `country`, `geographic_poi`, a date is `timeRange`, and
every message is a weather request.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conversation import ConversationState, Message
from engine import Engine
from nlp import fold

FALLBACK = "fallback"
CONFIDENT = 0.8
_PUNCTUATION = re.compile(r"[^\w\s]+")
# A leading article or preposition, and a URL's scheme ("www.x.org" is "https://www.x.org").
_LEADING = re.compile(r"^(?:the|on|for|at|this coming|https?) ")
SNIPS_PLACES = ("city", "geographic_poi", "state", "country")


@dataclass(frozen=True)
class Case:
    """One labelled message."""

    text: str
    intent: str
    slots: dict[str, Any] = field(default_factory=dict)
    after: str | None = None
    line: int = 0


@dataclass(frozen=True)
class Prediction:
    intent: str  # `fallback` when the bot would not answer
    confidence: float
    slots: dict[str, Any]
    choices: tuple[str, ...] = ()  # intents offered in a clarifying question


def load_cases(path: str | Path, fmt: str = "labelled") -> list[Case]:
    """Cases from a JSON-lines file; a line that is not a case raises `ValueError`
    naming the file and line."""
    cases = []
    lines = Path(path).read_text(encoding="utf-8").split("\n")  # not splitlines: U+0085 is text
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            cases.append(_snips(data, number) if fmt == "snips" else _labelled(data, number))
        except (ValueError, TypeError, KeyError) as error:
            raise ValueError(f"{path}:{number}: not a labelled message ({error})") from None
    return cases


def _labelled(data: dict, line: int) -> Case:
    if not isinstance(data["text"], str) or not isinstance(data["intent"], str):
        raise TypeError("text and intent must be strings")
    slots = data.get("slots") or {}
    if not isinstance(slots, dict):
        raise TypeError("slots must be an object")
    return Case(data["text"], data["intent"], slots, data.get("after"), line)


def _snips(data: dict, line: int) -> Case:
    """The most specific place named (a city before its state or country), or the place
    with its qualifier as written ("Portland, Maine"); the time range as the date."""
    entities = data.get("entities") or {}
    slots: dict[str, Any] = {}
    places = [entities[k] for k in SNIPS_PLACES if k in entities]
    if places:
        slots["city"] = [places[0]] + [f"{places[0]}, {other}" for other in places[1:]]
    if "timeRange" in entities:
        slots["date"] = entities["timeRange"]
    return Case(data["text"], "weather", slots, None, line)


def normalise(value: Any) -> str:
    """The comparable form of a written value: folded, punctuation and a leading
    article or preposition dropped (`"on Friday"` and `"friday"` are the same)."""
    text = " ".join(_PUNCTUATION.sub(" ", fold(str(value))).split())
    return _LEADING.sub("", text)


def _forms(value: Any) -> set[str]:
    """Every written form a predicted value answers to: a place by what the user wrote
    and by its canonical name, a date by its phrase, a number by its value."""
    if isinstance(value, dict):
        return {normalise(value[k]) for k in ("text", "name") if value.get(k)}
    if isinstance(value, int | float) and not isinstance(value, bool):
        return {normalise(f"{value:g}")}
    return {normalise(value)}


def slot_matches(expected: Any, predicted: Any) -> bool:
    """Whether a predicted slot value is the expected one (or one of the expected ones).

    A qualified place ("Portland, Maine") matches what was written, or a place of that name
    whose state or country is the qualifier: Portland, Oregon does not match."""
    options = expected if isinstance(expected, list) else [expected]
    forms = _forms(predicted)
    for option in options:
        if isinstance(option, int | float) and not isinstance(option, bool):
            option = f"{option:g}"
        if normalise(option) in forms:
            return True
        head, _, qualifier = str(option).partition(",")
        if qualifier and isinstance(predicted, dict) and normalise(head) in forms:
            where = {
                normalise(predicted.get(k) or "") for k in ("admin", "country", "country_code")
            }
            if normalise(qualifier) in where:
                return True
    return False


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


def _pct(figure: float | None, width: int = 0) -> str:
    """A figure as a percentage, or "n/a" when there was nothing to count."""
    return f"{'n/a' if figure is None else f'{figure:.1%}':>{width}}"


def format_report(report: Report, misses: bool = False) -> str:
    lines = [
        f"cases: {report.cases} ({report.in_scope} in scope, {report.out_of_scope} out of scope)",
        f"intent accuracy (in scope): {_pct(report.accuracy)} "
        f"({report.in_scope_right}/{report.in_scope})",
        f"out of scope to fallback: {_pct(report.out_of_scope_rate)} "
        f"({report.out_of_scope_right}/{report.out_of_scope})",
        f"intent and slots exactly right (in scope): {_pct(report.frame_rate)}",
        f"confidence >= {CONFIDENT}: right {_pct(report.confident_precision)} "
        f"of {report.confident} answers",
    ]
    if report.clarified:
        lines.append(
            f"clarifying questions: {report.clarified} "
            f"(offering the right intent: {report.clarified_offering_right})"
        )
    lines += ["", f"{'intent':<14} {'support':>7} {'recall':>7} {'precision':>9}"]
    for name in sorted(report.per_intent):
        counts = report.per_intent[name]
        recall = Report._share(counts["right"], counts["support"])
        precision = Report._share(counts["right"], counts["predicted"])
        lines.append(f"{name:<14} {counts['support']:>7} {_pct(recall, 7)} {_pct(precision, 9)}")
    if report.slots:
        lines += ["", f"{'slot':<14} {'precision':>9} {'recall':>7}"]
        for name in sorted(report.slots):
            precision, recall = report.slot_figures(name)
            lines.append(f"{name:<14} {_pct(precision, 9)} {_pct(recall, 7)}")
        precision, recall = report.slot_totals()
        lines.append(f"{'(all)':<14} {_pct(precision, 9)} {_pct(recall, 7)}")
    if report.confused:
        lines += ["", "most confused (expected -> understood):"]
        for (expected, got), count in report.confused.most_common(10):
            lines.append(f"  {count:>4}  {expected} -> {got}")
    if misses:
        lines += ["", "misses:"]
        for case, predicted in report.misses:
            lines.append(
                "  "
                + json.dumps(
                    {
                        "line": case.line,
                        "text": case.text,
                        "expected": case.intent,
                        "slots": case.slots,
                        "got": predicted.intent,
                        "confidence": predicted.confidence,
                        "found": predicted.slots,
                    },
                    ensure_ascii=False,
                )
            )
    return "\n".join(lines)


def predictor(engine: Engine) -> Callable[[Case], Prediction]:
    """What `engine` makes of a case, as the bot would act on it: below the rules'
    threshold it falls back (or only suggests), and nothing it found counts."""
    threshold = engine.settings.threshold

    def predict(case: Case) -> Prediction:
        message = Message("evaluate", "evaluate", body=case.text)
        found = engine.understand(message, ConversationState(last_intent=case.after))
        if found.intent is None or found.confidence < threshold:
            return Prediction(FALLBACK, found.confidence, {})
        return Prediction(found.intent, found.confidence, dict(found.slots), found.choices)

    return predict


def unseen(cases: Iterable[Case], rules) -> list[Case]:
    """The cases whose text is not, word for word, one of the rules' examples: how well the
    rules do beyond what they list ("hi" is in every greeting's examples)."""
    examples = {normalise(text) for intent in rules.intents for text in intent.examples}
    return [case for case in cases if normalise(case.text) not in examples]


def run(cases: Iterable[Case], predict) -> Report:
    """Score every case with `predict(case) -> Prediction`."""
    report = Report()
    for case in cases:
        score(report, case, predict(case))
    return report


def failed_thresholds(report: Report, minimums: Sequence[tuple[str, float | None]]) -> list[str]:
    """The figures below the given minimums, as `name: figure < minimum` lines."""
    figures = {
        "accuracy": report.accuracy,
        "out-of-scope": report.out_of_scope_rate,
        "slot-precision": report.slot_totals()[0],
        "slot-recall": report.slot_totals()[1],
        "frames": report.frame_rate,
    }
    failed = []
    for name, minimum in minimums:
        if minimum is None:
            continue
        if figures[name] is None:
            failed.append(f"{name}: no cases to measure it on")
        elif figures[name] < minimum:
            failed.append(f"{name}: {figures[name]:.1%} < {minimum:.1%}")
    return failed
