"""The engine on its own, with the demo rules: plain values in, plain values out."""

from __future__ import annotations

import random
from dataclasses import asdict, replace
from datetime import UTC, datetime

import pytest

from engine import Button, ConversationState, Engine, Location, Media, Message
from engine.matcher import WEAK_CONFIDENCE
from engine.replies import render
from ruletools import engine_for, load

NOW = datetime(2026, 3, 14, 15, 9, tzinfo=UTC)


@pytest.fixture(scope="module")
def rules():
    return load()


@pytest.fixture
def engine(rules):
    return engine_for(rules, random.Random(7), clock=lambda: NOW)


def msg(body: str = "", **fields) -> Message:
    return Message(channel="test", sender="u1", body=body, **fields)


def chat(engine: Engine, *lines: str, state: ConversationState | None = None):
    """Send `lines` one after the other; return every turn."""
    state = state or ConversationState()
    turns = []
    for line in lines:
        turn = engine.respond(state, msg(line))
        turns.append(turn)
        state = turn.state
    return turns


def text(turn) -> str:
    return "\n".join(r.text for r in turn.replies)


@pytest.mark.parametrize(
    ("message", "intent"),
    [
        ("hi", "greet"), ("HELLO!!!", "greet"), ("hey 👋", "greet"), ("👋", "greet"),
        ("helloooo", "greet"), ("hiiii", "greet"), ("good mornin", "greet"), ("whats up", "greet"),
        ("what's up?", "greet"),
        ("bye", "goodbye"), ("ok see ya", "goodbye"), ("gud night", "goodbye"),
        ("thx", "thanks"), ("thank u so much", "thanks"), ("🙏", "thanks"), ("thnks!", "thanks"),
        ("help", "help"), ("hlep", "help"), ("what can you do?", "help"), ("hi, what can you do", "help"),
        ("weather", "weather"), ("wheather", "weather"), ("is it raining?", "weather"),
        ("weather in paris", "weather"), ("☔", "weather"), ("forecast for tokyo pls", "weather"),
        ("who is ada lovelace", "wiki"), ("tell me about black holes", "wiki"), ("wikipedia", "wiki"),
        ("quote", "quote"), ("quotes!!", "quote"), ("qoutes", "quote"), ("need some inspiration", "quote"),
        ("inspire me pls", "quote"), ("motivation", "quote"),
        ("joke", "joke"), ("joek", "joke"), ("tell me a joke", "joke"), ("jokes pls", "joke"),
        ("make me laugh 😂", "joke"),
        ("dog", "dog"), ("show me a doggo", "dog"), ("dogs!", "dog"), ("🐶", "dog"), ("puppies", "dog"),
        ("cat", "cat"), ("kitty pics", "cat"), ("🐱", "cat"), ("send a cat photo", "cat"),
        ("convert 20 gbp to usd", "currency"), ("how much is 30 pounds in euros", "currency"),
        ("exchange rate", "currency"), ("€ to $", "currency"), ("convert money", "currency"),
        ("what time is it", "time"), ("whats the date today", "time"), ("⏰", "time"),
        ("my name is Sam", "name_set"), ("call me Jo", "name_set"),
        ("whats my name?", "name_get"), ("do u know my name", "name_get"),
        ("delete my data", "forget_me"), ("forget me", "forget_me"), ("pls erase my data", "forget_me"),
    ],
)  # fmt: skip
def test_demo_intents(engine, message, intent):
    assert engine.understand(msg(message)).intent == intent


@pytest.mark.parametrize(
    "message",
    ["book me a taxi", "haha", "k", "pay my brother back", "xyzzy", "lol", "asdf qwer",
     "i like turtles", "yes", "no"],
)  # fmt: skip
def test_out_of_scope_goes_to_fallback(engine, rules, message):
    turn = engine.respond(ConversationState(), msg(message))
    assert turn.understanding.intent is None
    assert text(turn) in {r.text for r in rules.settings.fallback}


def test_a_bare_ok_runs_no_intent(engine, rules):
    # Half of "ok thanks" is not enough to answer; at most the bot asks "Did you mean…?".
    assert engine.understand(msg("ok")).confidence < rules.settings.threshold


def test_confidence_is_between_zero_and_one(engine):
    for message in ["hi", "wheather in rome", "book me a taxi", "convert 5 usd to eur"]:
        assert 0.0 <= engine.understand(msg(message)).confidence <= 1.0


def test_exact_example_beats_a_broad_pattern(engine):
    # "whats up" is an example of greet, and also fits wiki's "what is {topic}".
    understanding = engine.understand(msg("whats up"))
    assert understanding.intent == "greet"
    assert understanding.confidence > WEAK_CONFIDENCE
    assert all(a.confidence <= WEAK_CONFIDENCE for a in understanding.alternatives)


def test_a_catch_all_pattern_is_weak_evidence(engine):
    # "what is {topic}" answers when nothing else fits, but never with more than 0.6.
    understanding = engine.understand(msg("what is the Krebs cycle"))
    assert (understanding.intent, understanding.slots) == ("wiki", {"topic": "Krebs cycle"})
    assert understanding.confidence == WEAK_CONFIDENCE


def test_typos_count_a_little_less(engine):
    assert engine.understand(msg("joke")).confidence > engine.understand(msg("joek")).confidence


@pytest.mark.parametrize(
    ("message", "slots"),
    [
        ("weather in Horseshoe Lake State Park pls", {"city": "Horseshoe Lake State Park"}),
        ("who is Ada Lovelace?", {"topic": "Ada Lovelace"}),
        ("tell me about the Eiffel Tower!!", {"topic": "Eiffel Tower"}),
        ("convert 20 gbp to usd", {"amount": 20, "from": "GBP", "to": "USD"}),
        ("convert 1,000 yen into euros", {"amount": 1000, "from": "JPY", "to": "EUR"}),
        ("how much is 30 pounds in euros", {"amount": 30, "from": "GBP", "to": "EUR"}),
        ("12.5 dollars to rupees", {"amount": 12.5, "from": "USD", "to": "INR"}),
        ("£ to ¥", {"from": "GBP", "to": "JPY"}),
        ("my name is Zoë", {"name": "Zoë"}),
    ],
)
def test_slot_extraction(engine, message, slots):
    assert engine.understand(msg(message)).slots == slots


@pytest.mark.parametrize(
    ("message", "name", "country", "written"),
    [
        ("weather in São Paulo pls", "São Paulo", "Brazil", "São Paulo"),
        ("what's the weather in the Hague?", "The Hague", "The Netherlands", "the Hague"),
        ("what's the weather like in Porto?", "Porto", "Portugal", "Porto"),
        ("Porto weather", "Porto", "Portugal", "Porto"),
        ("in Porto, will it rain?", "Porto", "Portugal", "Porto"),
        ("is it cold in the north of Portugal", "Portugal", "Portugal", "Portugal"),
        ("is it windy in Cape Town right now", "Cape Town", "South Africa", "Cape Town"),
        ("any idea if it will snow in oslo", "Oslo", "Norway", "oslo"),
        ("what's the temperature in rio de janeiro", "Rio de Janeiro", "Brazil", "rio de janeiro"),
    ],
)
def test_places_are_found_wherever_people_put_them(engine, message, name, country, written):
    understanding = engine.understand(msg(message))
    assert understanding.intent == "weather"
    place = understanding.slots["city"]
    assert (place["name"], place["country"], place["text"]) == (name, country, written)
    assert isinstance(place["latitude"], float)
    assert isinstance(place["longitude"], float)


def test_a_date_and_a_place_are_told_apart(engine):
    understanding = engine.understand(msg("forecast for Denver tomorrow"))
    assert understanding.intent == "weather"
    assert understanding.slots["city"]["name"] == "Denver"
    assert understanding.slots["date"] == {"text": "tomorrow"}


@pytest.mark.parametrize(
    ("message", "intent", "slots"),
    [
        ("what is the tracking number of my parcel", None, {}),
        ("call me when you can", None, {}),
        ("I'm heading out now, bye", "goodbye", {}),
        ("cheers mate, that helped", "thanks", {}),
        ("hey, good to see you", "greet", {}),
        ("how many euros for 50 bucks", "currency", {"amount": 50, "from": "USD", "to": "EUR"}),
        ("please wipe everything you have on me", "forget_me", {}),
        ("what is photosynthesis", "wiki", {"topic": "photosynthesis"}),
        ("call me Sam", "name_set", {"name": "Sam"}),
    ],
)
def test_the_failures_the_issue_named(engine, message, intent, slots):
    understanding = engine.understand(msg(message))
    if understanding.confidence < engine.settings.threshold:
        understanding = replace(understanding, intent=None, slots={})
    assert (understanding.intent, understanding.slots) == (intent, slots)


def test_typed_slots_are_found_anywhere_when_no_pattern_fits(engine):
    understanding = engine.understand(msg("exchange rate for 15 usd and chf please"))
    assert understanding.intent == "currency"
    assert understanding.slots == {"amount": 15, "from": "USD", "to": "CHF"}


def test_multi_turn_question_completes_the_intent(engine):
    ask, answer = chat(engine, "weather", "Paris")
    assert text(ask) == "Which city? 🌍"
    assert ask.state.pending.asking == "city"
    assert answer.understanding.slots["city"]["name"] == "Paris"
    assert "Paris" in text(answer)
    assert answer.state.pending is None


def test_two_questions_in_a_row(engine):
    first, second, done = chat(engine, "convert money", "pounds", "euros")
    assert text(first).startswith("Which currency do you have?")
    assert text(second) == "Which currency should I convert to?"
    assert done.understanding.slots == {"from": "GBP", "to": "EUR"}
    assert text(done).startswith("💱 1 GBP = ")


def test_a_clear_new_request_wins_over_an_open_question(engine):
    _, turn = chat(engine, "weather", "tell me a joke")
    assert turn.understanding.intent == "joke"
    assert turn.state.pending is None


def test_cancel_closes_an_open_question(engine):
    _, turn = chat(engine, "weather", "never mind")
    assert text(turn) == "OK, never mind. 👍"
    assert turn.state.pending is None


def test_an_unparseable_answer_is_asked_again_then_dropped(engine):
    _, again, gave_up = chat(engine, "convert money", "banana", "banana")
    assert text(again).startswith("Which currency do you have?")
    assert again.state.pending.attempts == 1
    assert text(gave_up).startswith("Sorry, I still didn't get that")
    assert gave_up.state.pending is None


def test_numbered_menu(engine, rules):
    menu, choice = chat(engine, "help", "5")
    assert "1. Weather in a city" in text(menu)
    assert menu.state.menu_open
    assert choice.understanding.intent == rules.settings.menu[4] == "dog"
    assert choice.replies[0].media


def test_menu_number_out_of_range(engine, rules):
    _, turn = chat(engine, "help", "42")
    assert text(turn) == f"Please pick a number from 1 to {len(rules.settings.menu)}."
    assert turn.state.menu_open


def test_a_number_without_the_menu_is_not_a_choice(engine):
    assert chat(engine, "5")[0].understanding.intent is None


SUGGEST_RULES = """\
intents:
  - name: forecast
    examples: [weather forecast for tomorrow morning]
    responses: [sunny]
settings:
  fallback: ["what?"]
  suggestion: ["Did you mean *{suggestion}*?"]
"""


@pytest.fixture
def suggesting(tmp_path):
    (tmp_path / "r.yml").write_text(SUGGEST_RULES)
    return engine_for(load(tmp_path / "r.yml"), random.Random(1))


def test_near_miss_suggests_and_yes_accepts(suggesting):
    # Half the example's words, plus one it does not know: between 0.3 and 0.5.
    suggestion, accepted = chat(suggesting, "forecast tomorrow blah", "yes")
    assert 0.3 <= suggestion.understanding.confidence < 0.5
    assert suggestion.state.suggestion == "forecast"
    assert text(suggestion) == "Did you mean *forecast*?"
    assert text(accepted) == "sunny"


def test_near_miss_then_something_else_drops_the_suggestion(suggesting):
    _, other = chat(suggesting, "forecast tomorrow blah", "no")
    assert text(other) == "what?"
    assert other.state.suggestion is None


def test_far_miss_is_plain_fallback(suggesting):
    [turn] = chat(suggesting, "tomorrow blah blah blah")
    assert turn.understanding.confidence < 0.3
    assert text(turn) == "what?"


def test_context_intent_only_after_its_context(engine):
    assert chat(engine, "another one")[0].understanding.intent is None
    _, another = chat(engine, "tell me a joke", "another one")
    assert another.understanding.intent == "joke"
    assert another.state.last_intent == "joke"


def test_name_is_remembered_and_used(engine):
    turns = chat(engine, "what's my name", "my name is Sam", "what's my name", "hi")
    assert text(turns[0]) == "I don't know your name yet. Tell me with *my name is …*"
    assert turns[1].state.variables == {"name": "Sam"}
    assert text(turns[2]) == "Your name is Sam 😊"
    assert text(turns[3]).startswith("Hi Sam!")


def test_forget_me_clears_memory_and_says_so(engine):
    *_, forget, after = chat(engine, "call me Jo", "delete my data", "whats my name")
    assert forget.forget is True
    assert forget.state.variables == {}
    assert text(forget) == "🗑 Done. I've deleted everything I knew about you."
    assert text(after).startswith("I don't know your name yet")


def test_time_uses_the_clock(engine):
    assert (
        text(chat(engine, "what time is it")[0]) == "🕒 It's 15:09 (UTC) on Saturday 14 March 2026."
    )


def test_currency_answer_uses_the_amount(engine):
    turn = chat(engine, "convert 20 gbp to usd")[0]
    assert text(turn).startswith("💱 20 GBP = ")
    assert text(turn).endswith("USD (approximate offline rate from 2026-11)")


def test_offline_quote_and_joke_come_from_the_shipped_lists(engine):
    quote = text(chat(engine, "quote")[0])
    assert quote.startswith("✨ “")
    assert " — " in quote
    assert "\n\n" in text(chat(engine, "joke")[0])


def test_dog_and_cat_send_pictures(engine):
    for animal in ("dog", "cat"):
        [reply] = chat(engine, animal)[0].replies
        assert reply.media
        assert reply.media[0].startswith("https://")


def test_wiki_offline_gives_the_page_link(engine):
    turn = chat(engine, "who is Ada Lovelace")[0]
    assert text(turn).endswith("https://en.wikipedia.org/wiki/Ada_Lovelace")


def test_turn_returns_new_state_and_leaves_old_one_alone(engine):
    before = ConversationState(variables={"k": "v"})
    turn = engine.respond(before, msg("hi"))
    assert (before.turns, before.last_intent) == (0, None)
    assert (turn.state.turns, turn.state.last_intent) == (1, "greet")
    assert turn.state.variables == {"k": "v"}


def test_state_round_trips_through_its_dict_form(engine):
    state = chat(engine, "convert money", "gbp")[-1].state
    assert state.pending is not None
    assert ConversationState.from_dict(state.to_dict()) == state
    # The hand-written dict form holds every field, as dataclasses.asdict would.
    state = replace(state, variables={"name": "Ana"}, suggestion="joke", menu_open=True)
    assert state.to_dict() == asdict(state)


def test_profile_name_fills_the_greeting(engine):
    assert "Ana" in text(engine.respond(ConversationState(), msg("hello", profile_name="Ana")))


@pytest.mark.parametrize(
    ("types", "described"),
    [
        (["image/jpeg"], "photo"),
        (["image/webp"], "sticker"),
        (["video/mp4"], "video"),
        (["audio/ogg; codecs=opus"], "voice note"),
        (["application/zip"], "document"),
        (["text/vcard"], "contact"),
        ([""], "file"),
        (["image/jpeg", "image/png", "image/gif"], "3 photos"),
    ],
)
def test_media_without_words_is_acknowledged_by_kind(engine, types, described):
    media = tuple(Media(f"https://x/{i}", kind) for i, kind in enumerate(types))
    turn = engine.respond(ConversationState(), msg(media=media))
    assert text(turn).startswith(f"Thanks for the {described}!")


@pytest.mark.parametrize(
    "types",
    [
        ["application/pdf"],
        ["application/vnd.openxmlformats-officedocument.wordprocessingml.document"],
        ["text/plain; charset=utf-8"],
        ["image/jpeg", "application/pdf"],
    ],
)
def test_a_document_goes_to_the_document_intent(engine, types):
    media = tuple(Media(f"https://x/{i}", kind) for i, kind in enumerate(types))
    turn = engine.respond(ConversationState(), msg("what is this?", media=media))
    assert turn.understanding.intent == "read_document"
    assert text(turn) == "📄 *that document*\nI can't open documents right now."  # offline


def test_media_with_a_caption_that_matches_uses_the_intent(engine):
    turn = engine.respond(
        ConversationState(), msg("help", media=(Media("https://x/1", "image/png"),))
    )
    assert turn.understanding.intent == "help"


def test_shared_location_asks_for_the_weather_there(engine):
    turn = engine.respond(
        ConversationState(), msg(location=Location(48.85, 2.35, label="Cafe Nero"))
    )
    assert turn.understanding.intent == "weather"
    assert turn.understanding.slots == {"city": "Cafe Nero"}  # the label, as shared


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


def test_a_plan_says_up_front_whether_its_action_may_wait(engine):
    joke = engine.plan(ConversationState(), msg("tell me a joke"))
    assert (joke.may_wait, joke.turn, joke.intent.name) == (True, None, "joke")
    # An action that promises never to wait is still left to carry_out, but may go ahead.
    clock = engine.plan(ConversationState(), msg("what time is it"))
    assert (clock.may_wait, clock.turn, clock.intent.name) == (False, None, "time")
    assert text(engine.carry_out(clock)) == text(
        engine.respond(ConversationState(), msg("what time is it"))
    )
    # A turn without an action is decided in full.
    hello = engine.plan(ConversationState(), msg("hi"))
    assert (hello.may_wait, hello.intent, hello.turn.understanding.intent) == (False, None, "greet")
    assert engine.carry_out(hello) is hello.turn
    # Carrying out the slow plan runs its action (offline here).
    assert engine.carry_out(joke).understanding.intent == "joke"


def test_the_engine_refuses_rules_naming_actions_it_was_not_given():
    with pytest.raises(ValueError, match="'joke'"):
        Engine(load(), actions={})


@pytest.mark.parametrize(
    "body",
    [
        "weather " * 700,
        "is it raining in " + "Lisbon " * 700,
        "🌧☔🌦" * 30,
        "4 8 15 16 23 42 " * 10,
        "погода в Москве завтра",
        "東京の天気は？",
        "weather in Москва",
    ],
)
def test_odd_messages_get_a_sensible_answer(engine, body):
    turn = engine.respond(ConversationState(), msg(body))
    said = text(turn)
    assert said
    assert len(said) < 400
    assert "weather in weather" not in said.lower()
    assert "in lisbon lisbon" not in said.lower()


@pytest.mark.parametrize(
    ("message", "intent", "slots"),
    [
        ("my name is Will", "name_set", {"name": "Will"}),
        ("call me Will", "name_set", {"name": "Will"}),
        ("who is Will Smith", "wiki", {"topic": "Will Smith"}),
    ],
)
def test_a_name_that_is_also_a_stop_word_is_taken_when_written_as_a_name(
    engine, message, intent, slots
):
    understanding = engine.understand(msg(message))
    assert (understanding.intent, understanding.slots) == (intent, slots)


@pytest.mark.parametrize(
    ("message", "city"),
    [
        ("Porto Weather", "Porto"),
        ("Rome Weather Please", "Rome"),
        ("Is It Raining In Porto Right Now", "Porto"),
        ("WHAT IS THE WEATHER IN PORTO", "Porto"),
    ],
)
def test_capitals_glue_no_rule_words_onto_a_place(engine, message, city):
    assert engine.understand(msg(message)).slots["city"]["name"] == city


@pytest.mark.parametrize("message", ["WILL IT RAIN TOMORROW", "Will It Rain Tomorrow"])
def test_in_capitals_or_title_case_a_rule_word_is_no_place(engine, message):
    understanding = engine.understand(msg(message))
    assert understanding.intent == "weather"
    assert "city" not in understanding.slots


@pytest.mark.parametrize("answer", ["tomorrow", "can you guess", "idk", "the one I am in"])
def test_an_answer_to_which_city_that_names_no_place_is_asked_again(engine, answer):
    ask, again = chat(engine, "is it raining?", answer)
    assert text(ask) == "Which city? 🌍"
    assert text(again) == "Which city? 🌍"
    assert again.state.pending.attempts == 1


@pytest.mark.parametrize(("answer", "name"), [("Porto", "Porto"), ("nice", "Nice")])
def test_a_place_alone_answers_which_city(engine, answer, name):
    answered = chat(engine, "is it raining?", answer)[-1]
    assert answered.understanding.slots["city"]["name"] == name


@pytest.mark.parametrize("message", ["forget it", "never mind", "cancel"])
def test_a_cancel_phrase_cancels_and_never_starts_an_intent(engine, message):
    state = replace(ConversationState(), variables={"name": "Ana"})
    turn = engine.respond(state, msg(message))
    assert turn.understanding.intent is None
    assert not turn.forget
    assert turn.state.variables == {"name": "Ana"}
    assert text(turn) == "OK, never mind. 👍"
