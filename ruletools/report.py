"""The evaluation as a rule author reads it: the headline figures, recall and precision per
intent and per slot, the pairs most often confused, and the minimums a run must meet.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from ruletools.scoring import CONFIDENT, Report


def _pct(figure: float | None, width: int = 0) -> str:
    """A figure as a percentage, or "n/a" when there was nothing to count."""
    return f"{'n/a' if figure is None else f'{figure:.1%}':>{width}}"


def format_report(report: Report, misses: bool = False) -> str:
    """The report as text; `misses` adds every case the engine got wrong, one JSON line each."""
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
