"""Every YAML transcript in tests/conversations/, played against the demo rules."""

from __future__ import annotations

from pathlib import Path

import pytest

import ruletools
from ruletools.transcripts import (
    Conversation,
    Expected,
    TranscriptError,
    engine_for_transcripts,
    load,
    run,
)

FOLDER = Path(__file__).parent / "conversations"
CONVERSATIONS = load(FOLDER)


@pytest.fixture
def engine():
    return engine_for_transcripts(ruletools.load())


@pytest.mark.parametrize("conversation", CONVERSATIONS, ids=[c.name for c in CONVERSATIONS])
def test_transcript(engine, conversation):
    assert run(conversation, engine) == []


def test_there_are_transcripts_for_every_demo_intent():
    expected = {t.intent for c in CONVERSATIONS for t in c.turns if t.intent}
    assert {"greet", "thanks", "quote", "weather", "joke", "cat", "forget_me"} <= expected


def test_runner_reports_a_wrong_answer(engine):
    expected = Expected("whats my name", bot="Goodbye", intent="joke", media=True)
    assert run(Conversation("wrong", "test", (expected,)), engine) == [
        "wrong, turn 1 ('whats my name'): expected 'Goodbye', bot said "
        '"I don\'t know your name yet. Tell me with *my name is …*"',
        "wrong, turn 1 ('whats my name'): expected intent joke, got name_get",
        "wrong, turn 1 ('whats my name'): expected media=True, got media=False",
    ]


def test_regular_expressions_are_anchored_only_when_asked(engine):
    ok = Conversation("re", "test", (Expected("whats my name", bot="/know your name/"),))
    bad = Conversation("re", "test", (Expected("whats my name", bot="/^know your name/"),))
    assert run(ok, engine) == []
    assert len(run(bad, engine)) == 1


def test_malformed_transcript_names_the_file(tmp_path):
    path = tmp_path / "bad.yml"
    path.write_text("- name: x\n  turns:\n    - usr: hi\n")
    with pytest.raises(TranscriptError, match=r"bad\.yml#1: each turn needs 'user'"):
        load(path)
