"""Measure how well a rule set understands labelled messages.

`evaluate` runs the engine's understanding on every case (`ruletools.cases`), scores what it
made of each (`ruletools.scoring`) and reports what a rule author needs (`ruletools.report`):
intent accuracy per intent, the pairs most often confused, slot precision and recall, how
often out-of-scope messages fall back, and how often a confident answer is right.

The names of those modules are here too, so that the measurement reads as one namespace
(`from ruletools import evaluate as measure`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from conversation import ConversationState, Message
from engine import Engine
from rules import RuleSet
from ruletools.cases import SNIPS_PLACES, Case, load_cases
from ruletools.report import failed_thresholds, format_report
from ruletools.scoring import CONFIDENT, FALLBACK, Prediction, Report, score
from ruletools.values import normalise, slot_matches

__all__ = [
    "CONFIDENT",
    "FALLBACK",
    "SNIPS_PLACES",
    "Case",
    "Prediction",
    "Report",
    "failed_thresholds",
    "format_report",
    "load_cases",
    "normalise",
    "predictor",
    "run",
    "score",
    "slot_matches",
    "unseen",
]


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


def unseen(cases: Iterable[Case], rules: RuleSet) -> list[Case]:
    """The cases whose text is not, word for word, one of the rules' examples: how well the
    rules do beyond what they list ("hi" is in every greeting's examples)."""
    examples = {normalise(text) for intent in rules.intents for text in intent.examples}
    return [case for case in cases if normalise(case.text) not in examples]


def run(cases: Iterable[Case], predict: Callable[[Case], Prediction]) -> Report:
    """Score every case with `predict(case) -> Prediction`."""
    report = Report()
    for case in cases:
        score(report, case, predict(case))
    return report
