"""The engine on its own: plain values in, plain values out, no Flask or Twilio involved."""

from __future__ import annotations

import random

import pytest

from engine import Button, ConversationState, Engine, Location, Media, Message
from engine.core import render
from rules import load_rules


@pytest.fixture(scope="module")
def engine():
    return Engine(load_rules(), random.Random(7))


def msg(body: str = "", **fields) -> Message:
    return Message(channel="test", sender="u1", body=body, **fields)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("hi", "greet"),
        ("HELLO!!!", "greet"),
        ("hey 👋", "greet"),
        ("👋", "greet"),
        ("Good morning", "greet"),
        ("whats up", "greet"),
        ("what's up?", "greet"),
        ("bye", "goodbye"),
        ("ok see ya", "goodbye"),
        ("thx", "thanks"),
        ("thank u so much", "thanks"),
        ("🙏", "thanks"),
        ("help", "help"),
        ("what can you do?", "help"),
        ("hi, what can you do", "help"),
    ],
)
def test_demo_intents(engine, text, intent):
    assert engine.understand(msg(text)).intent == intent


@pytest.mark.parametrize("text", ["book me a taxi", "pay my brother back", "xyzzy", "this", "k"])
def test_out_of_scope_goes_to_fallback(engine, text):
    turn = engine.respond(ConversationState(), msg(text))
    assert turn.understanding.intent is None
    assert turn.replies[0].text in {r.text for r in engine.rules.fallback}


def test_longer_phrase_wins_over_shorter(engine):
    understanding = engine.understand(msg("hi what can you do"))
    assert (understanding.intent, understanding.matched) == ("help", "what can you do")
    assert understanding.confidence == pytest.approx(4 / 5, abs=0.001)


def test_phrases_match_whole_words_only(engine):
    # "hi" is inside "this" and "history", and "yo" inside "you": none of them is a greeting.
    assert engine.understand(msg("history of this place for you")).intent is None


def test_turn_returns_new_state_and_leaves_old_one_alone(engine):
    before = ConversationState(variables={"k": "v"})
    turn = engine.respond(before, msg("hi"))
    assert before.turns == 0
    assert before.last_intent is None
    assert turn.state.turns == 1
    assert turn.state.last_intent == "greet"
    assert turn.state.variables == {"k": "v"}


def test_state_round_trips_through_its_dict_form():
    state = ConversationState(last_intent="help", variables={"name": "Jo"}, turns=3)
    assert ConversationState.from_dict(state.to_dict()) == state


def test_profile_name_fills_the_greeting(engine):
    turn = engine.respond(ConversationState(), msg("hello", profile_name="Ana"))
    assert "Ana" in turn.replies[0].text


def test_missing_profile_name_reads_naturally(engine):
    texts = {engine.respond(ConversationState(), msg("hi")).replies[0].text for _ in range(20)}
    assert texts <= {
        "Hi there! 👋 I'm a demo bot. Type *help* to see what I can do.",
        "Hello there! Type *help* for the list of things I understand.",
    }


def test_media_without_words_gets_the_media_reply(engine):
    turn = engine.respond(ConversationState(), msg(media=(Media("https://x/1", "image/png"),)))
    assert turn.replies[0].text.startswith("Thanks for the picture!")


def test_media_with_a_caption_that_matches_uses_the_intent(engine):
    turn = engine.respond(
        ConversationState(), msg("help", media=(Media("https://x/1", "image/png"),))
    )
    assert turn.understanding.intent == "help"


def test_location_reply_names_the_place(engine):
    turn = engine.respond(ConversationState(), msg(location=Location(1.5, 2.25, label="Cafe Nero")))
    assert "(Cafe Nero)" in turn.replies[0].text


def test_button_payload_is_matched_to_an_intent_name(engine):
    assert engine.understand(msg(button=Button("Sure", "Help"))).intent == "help"


def test_button_text_is_used_when_payload_is_opaque(engine):
    assert engine.understand(msg(button=Button("Thanks!", "x-123"))).intent == "thanks"


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("Hi {profile_name}!", "Hi Ana!"),
        ("{{literal}} {profile_name}", "{literal} Ana"),
        ("{unknown} stays", "{unknown} stays"),
    ],
)
def test_render(template, expected):
    assert render(template, {"profile_name": "Ana"}) == expected
