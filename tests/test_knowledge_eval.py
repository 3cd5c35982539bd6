"""How well the demo knowledge base (knowledge/) answers the question set in
tests/data/knowledge/: the share of answerable questions answered from the right page, and of
unanswerable ones declined.

The `-dev` files are the ones the threshold was tuned on; the held-out files were never read
by whoever tuned it, and their floors are set by measuring them once (see the README there).
A change that makes retrieval worse fails here; one that makes it better raises the floors.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from documents.knowledge import KnowledgeBase

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ROOT / "tests" / "data" / "knowledge"
# Measured on the held-out files by the integrator after each change to retrieval was
# settled on the development files, then set here (see the README there).
# 2026-12-01, first measure: 42/90 answered (46.7%), 85/94 declined (90.4%).
# 2026-12-01, with times, places, value words and the synonym table: 58/90 (64.4%) and 84/94
# (89.4%): one more unanswerable question is answered, and the floor says so.
ANSWERED_FLOOR = 58 / 90
DECLINED_FLOOR = 84 / 94
# What the development files gave when the threshold was chosen on them: 39 of 45 answered
# from the right page, 44 of 46 declined (first measure: 30 of 45 and 44 of 46).
DEV_ANSWERED_FLOOR = 39 / 45
DEV_DECLINED_FLOOR = 44 / 46


@dataclass(frozen=True)
class Figures:
    answered: float  # answerable questions answered from the right source
    declined: float  # unanswerable questions given no answer
    wrong: tuple[str, ...]  # the questions that missed, for the failure message


def load_questions(name: str) -> list[dict]:
    return yaml.safe_load((QUESTIONS / name).read_text(encoding="utf-8"))


def figures(base: KnowledgeBase, answerable: list[dict], unanswerable: list[dict]) -> Figures:
    wrong = []
    right = 0
    for item in answerable:
        hit = base.answer(item["text"])
        if hit is not None and hit.passage.title == item["source"]:
            right += 1
        else:
            wrong.append(f"{item['text']!r} -> {hit.passage.title if hit else None}")
    declined = 0
    for item in unanswerable:
        hit = base.answer(item["text"])
        if hit is None:
            declined += 1
        else:
            wrong.append(f"{item['text']!r} -> {hit.passage.title}")
    return Figures(right / len(answerable), declined / len(unanswerable), tuple(wrong))


@pytest.fixture(scope="module")
def base():
    loaded = KnowledgeBase.load(ROOT / "knowledge")
    assert loaded.problems == ()
    return loaded


@pytest.mark.parametrize(
    ("suffix", "answered_floor", "declined_floor"),
    [("-dev", DEV_ANSWERED_FLOOR, DEV_DECLINED_FLOOR), ("", ANSWERED_FLOOR, DECLINED_FLOOR)],
    ids=["development", "held-out"],
)
def test_the_knowledge_base_answers_and_declines_at_least_as_well_as_measured(
    base, suffix, answered_floor, declined_floor
):
    result = figures(
        base, load_questions(f"answerable{suffix}.yml"), load_questions(f"unanswerable{suffix}.yml")
    )
    # The held-out questions stay unread: a failure shows their figures, not their text.
    shown = result.wrong if suffix else ()
    assert result.answered >= answered_floor, (result.answered, result.declined, shown)
    assert result.declined >= declined_floor, (result.answered, result.declined, shown)
