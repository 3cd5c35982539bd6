"""A person instead of the bot, in the engine with the demo rules and through the WhatsApp
webhook on SQLite and on two servers sharing Redis: asking for a person, being offered one
when frustrated, the bot staying quiet, forget-me, and the way back (an operator, or their
silence)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from werkzeug.security import generate_password_hash

from bot import create_app
from engine import ConversationState, Message
from ruletools import engine_for, load
from tests.conftest import base_settings, post_whatsapp, reply_text

START = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
HANDOVER = "OK, I've asked someone from the team to take over."
OFFER = "Would you like me to get a person?\n1 Yes\n2 No"
IDLE_BACK = "Nobody from the team has written for a while, so you're back with the bot."
OPERATORS = f"sam={generate_password_hash('a long operator password')}"


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def rules():
    return load()


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def engine(rules, clock):
    return engine_for(rules, random.Random(3), clock=clock, people=True, handoff_idle=1800)


def say(engine, state: ConversationState, text: str):
    turn = engine.respond(state, Message("test", "u1", body=text, recipient="whatsapp:+1555"))
    return turn, "\n".join(reply.text for reply in turn.replies)


def test_asking_for_a_person_hands_over_and_the_bot_goes_quiet(engine, clock):
    turn, said = say(engine, ConversationState(), "can i talk to a person please")
    assert said.startswith(HANDOVER)
    assert turn.understanding.matched == "handover"
    assert turn.state.human_since == turn.state.human_seen == START.timestamp()
    assert turn.state.recipient == "whatsapp:+1555"
    clock.now += timedelta(minutes=5)
    quiet, said = say(engine, turn.state, "hello? what are your opening hours")
    assert said == ""
    assert quiet.understanding.matched == "person"
    assert quiet.state.with_person
    assert quiet.state.human_seen == START.timestamp()  # the user's messages do not count


def test_forget_me_still_works_with_a_person(engine):
    turn, _ = say(engine, ConversationState(), "agent please")
    forgotten, said = say(engine, turn.state, "forget me")
    assert forgotten.forget
    assert not forgotten.state.with_person
    assert said


def test_after_the_persons_silence_the_bot_is_back_and_answers(engine, clock):
    turn, _ = say(engine, ConversationState(), "real person please")
    clock.now += timedelta(minutes=29)
    still, said = say(engine, turn.state, "hi")
    assert said == ""
    clock.now += timedelta(minutes=2)
    back, said = say(engine, still.state, "hi")
    assert said.startswith(IDLE_BACK)
    assert len(back.replies) == 2  # the notice, then the greeting
    assert back.understanding.intent == "greet"
    assert not back.state.with_person


def test_an_operator_hands_back(engine):
    turn, _ = say(engine, ConversationState(), "talk to staff")
    back = engine.hand_back(turn.state)
    assert [reply.text for reply in back.replies] == [
        "You're back with the bot. 🤖 Type *help* to see what I can do."
    ]
    assert (back.state.human_since, back.state.human_seen) == (0.0, 0.0)
    _, said = say(engine, back.state, "hi")
    assert said


def test_a_frustrated_user_is_offered_a_person_instead_of_the_fallback(engine):
    turn, said = say(engine, ConversationState(), "this bot is completely useless")
    assert said.endswith(OFFER)
    assert "didn't get that" not in said
    assert turn.state.offered_person
    yes, said = say(engine, turn.state, "1")
    assert said.startswith(HANDOVER)
    assert yes.state.with_person


def test_an_offer_declined_keeps_the_bot(engine):
    turn, _ = say(engine, ConversationState(), "that's not what i asked 🙄")
    no, said = say(engine, turn.state, "no thanks")
    assert said == "OK, I'll keep trying. 🙂 Type *help* to see what I can do."
    assert not no.state.with_person
    assert not no.state.offered_person
    # Anything else answers as usual and drops the offer.
    turn, _ = say(engine, ConversationState(), "that's not what i asked 🙄")
    other, said = say(engine, turn.state, "hi")
    assert other.understanding.intent == "greet"
    assert not other.state.offered_person


def test_an_answer_to_a_frustrated_user_comes_with_the_offer(engine):
    turn, said = say(engine, ConversationState(), "HELP!!! NOTHING WORKS")
    assert turn.understanding.intent == "help"
    assert len(turn.replies) == 2
    assert said.endswith(OFFER)


def test_fallbacks_and_repeats_in_a_row_make_an_offer(engine):
    state = ConversationState()
    for _ in range(2):
        turn, said = say(engine, state, "flibbertigibbet wobble")
        state = turn.state
    assert state.fallbacks == 2
    assert state.repeats == 1
    assert said.endswith(OFFER)  # the same words again
    state = ConversationState()
    offers = []
    for words in ("zorp blat", "quux frobnicate", "wibble splonk"):
        turn, said = say(engine, state, words)
        state = turn.state
        offers.append(said.endswith(OFFER))
    assert offers == [False, False, True]  # the third fallback in a row


def test_without_operators_the_intent_says_how_to_reach_the_team(rules):
    engine = engine_for(rules, random.Random(3), people=False)
    turn, said = say(engine, ConversationState(), "can i talk to a person please")
    assert "01632 960418" in said
    assert not turn.state.with_person
    _, said = say(engine, ConversationState(), "this bot is completely useless")
    assert OFFER not in said
    _, said = say(engine, ConversationState(), "you are a terrible, awful bot")
    assert "01632 960418" in said  # how to reach the team, not "I didn't get that"
    assert "didn't get that" not in said
    _, said = say(engine, ConversationState(), "flibbertigibbet wobble")
    assert "01632 960418" not in said  # not frustrated: the fallback as ever


@pytest.fixture(params=["sqlite", "redis"])
def two_servers(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'bot.db'}"
    else:
        url = request.getfixturevalue("redis_url")
    settings = base_settings(BOT_STORE_URL=url, BOT_OPERATORS=OPERATORS)
    return create_app(settings).test_client(), create_app(settings).test_client()


def test_a_handoff_taken_on_one_server_is_kept_on_the_other(two_servers):
    first, second = two_servers
    assert reply_text(post_whatsapp(first, "i want to talk to a person")).startswith(HANDOVER)
    quiet = post_whatsapp(second, "are you there?")
    assert quiet.status_code == 200
    assert reply_text(quiet) == ""
    with second.application.app_context():
        from channels.answering import answering

        store = answering().pipeline.store
        [conversation] = [exchange for exchange in store.history("whatsapp:+14155550123")[-1:]]
    assert conversation.text == "are you there?"  # kept for the operator to read
