"""The frustration detector: its precision and recall on the project's labelled messages
(tests/data/frustration/), and each signal on its own."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from nlp.frustration import THRESHOLD, Frustration, shouting

DATA = Path(__file__).resolve().parent / "data" / "frustration"
# Measured on the held-out files after the cues and weights were set on the -dev ones
# (2026-12-01): 57 of 65 flagged were frustrated, 57 of 108 frustrated were flagged; then,
# with "i said X not Y" in place of any "i said X" (which this file's last test caught on
# "what i asked for"), 55 of 61 and 55 of 108. VADER alone (compound <= -0.3) gives 18/38
# and 18/108 there. The dev files give 54/54 and 54/54.
FLOORS = {"-dev": (54 / 54, 54 / 54), "": (55 / 61, 55 / 108)}


@pytest.fixture(scope="module")
def detector():
    return Frustration()


def load(name: str) -> list[dict]:
    return yaml.safe_load((DATA / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize("suffix", ["-dev", ""], ids=["development", "held-out"])
def test_precision_and_recall_stay_at_least_as_measured(detector, suffix):
    frustrated = load(f"frustrated{suffix}.yml")
    ordinary = load(f"ordinary{suffix}.yml")
    caught = sum(detector.frustrated(item["text"]) for item in frustrated)
    false = sum(detector.frustrated(item["text"]) for item in ordinary)
    precision, recall = caught / max(1, caught + false), caught / len(frustrated)
    least_precision, least_recall = FLOORS[suffix]
    # The held-out messages stay unread: a failure shows the figures, not the texts.
    assert precision >= least_precision, (precision, recall)
    assert recall >= least_recall, (precision, recall)


def test_sentiment_counts_when_it_is_aimed_at_the_bot(detector):
    aimed = detector.signals("you are a terrible, awful bot")
    assert aimed.sentiment < 0
    assert aimed.at_us
    assert aimed.score >= THRESHOLD
    sad = detector.signals("my cat is ill and i feel awful")
    assert sad.sentiment < 0
    assert not sad.at_us
    assert sad.score < THRESHOLD
    # A polite request is not aimed at the bot.
    assert not detector.signals("i hated that book, can you suggest another").at_us


def test_shouting_is_capitals_with_emphasis_not_caps_lock():
    assert shouting("WHERE IS MY ORDER???")
    assert shouting("NO. THAT IS NOT IT")
    assert not shouting("IS THE CAFE OPEN SUNDAY")
    assert not shouting("OK")


def test_the_conversation_adds_to_the_score(detector):
    calm = detector.signals("opening hours")
    assert calm.score == 0
    assert not detector.frustrated("opening hours", fallbacks=2)
    assert detector.frustrated("opening hours", fallbacks=3)  # a third fallback in a row
    assert detector.frustrated("opening hours", repeats=1)  # the same words again
    assert detector.signals("hello", fallbacks=1).score == 0  # one miss is no sign


def test_cues_name_what_they_found(detector):
    assert detector.signals("i already told you twice").cue == "already told"
    assert detector.signals("can i speak to a human please").cue == "speak to a human"
    assert detector.signals("that's not what i asked").cue == "not what i asked"
    assert detector.signals("thanks, that was what i asked for").cue == ""
