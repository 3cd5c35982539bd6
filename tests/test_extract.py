"""Slot values found wherever people put them: lead-ins learned from marked examples,
refused values, places and dates, and a clarifying question when two intents tie."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from engine import ConversationState, Engine, Message
from ruletools import engine_for, load

RULES = """\
intents:
  - name: wiki
    description: Look something up
    examples:
      - "who was [Ada Lovelace](topic)"
      - "tell me about [black holes](topic) please"
      - "tell me about [Rome](topic) please"
      - "facts about [the Moon](topic)"
    slots:
      topic: {type: text, refuse: [my, your]}
    responses: ["about {topic}"]
  - name: name_set
    description: Tell me your name
    examples: ["call me [Sam](name)", "call me [Jo](name) from now on", "call me [Al](name)"]
    slots:
      name: {type: text, refuse: [when, later]}
    responses: ["hi {name}"]
  - name: currency
    description: Convert money
    examples:
      - "convert [20](amount) [dollars](from) to [euros](to)"
      - "how many [yen](to) for [5](amount) [pounds](from)"
      - "how many [euros](to) for [9](amount) [dollars](from)"
    slots:
      amount: {type: number}
      from: {type: currency}
      to: {type: currency}
    responses: ["{amount} {from} {to}"]
  - name: weather
    description: Weather
    examples:
      - "weather in [Lisbon](city)"
      - "will it rain in [Porto](city) [tomorrow](date)"
      - weather
    keywords: [weather, rain]
    slots:
      city: {type: place, ask: "Which city?"}
      date: {type: date}
    responses: ["weather in {city}"]
  - name: joke
    description: A joke
    examples: [joke, tell me a joke]
    keywords: [joke]
    responses: ["a joke"]
settings:
  fallback: ["what?"]
  threshold: 0.5
"""


@pytest.fixture(scope="module")
def engine(tmp_path_factory) -> Engine:
    folder: Path = tmp_path_factory.mktemp("rules")
    (folder / "rules.yml").write_text(RULES, encoding="utf-8")
    return engine_for(load(folder / "rules.yml"), random.Random(1))


def understood(engine: Engine, text: str) -> tuple[str | None, dict]:
    found = engine.understand(Message("t", "u", body=text))
    return found.intent, found.slots


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("who was Grace Hopper?", "Grace Hopper"),
        ("could you tell me about the Ottoman Empire please", "Ottoman Empire"),
        ("some facts about Saturn, thanks", "Saturn"),
    ],
)
def test_a_text_slot_follows_the_lead_ins_its_examples_teach(engine, text, topic):
    assert understood(engine, text) == ("wiki", {"topic": topic})


def test_a_refused_value_is_not_taken_and_counts_against_the_intent(engine):
    assert understood(engine, "call me Priya") == ("name_set", {"name": "Priya"})
    found = engine.understand(Message("t", "u", body="call me when you can"))
    assert "name" not in found.slots
    assert found.confidence < 0.5
    found = engine.understand(Message("t", "u", body="tell me about my parcel please"))
    assert found.slots == {}


def test_typed_values_go_to_the_slot_their_lead_in_names(engine):
    assert understood(engine, "how many euros for 250 swiss francs") == (
        "currency",
        {"amount": 250, "from": "CHF", "to": "EUR"},
    )
    assert understood(engine, "convert 20 dollars to yen")[1] == {
        "amount": 20,
        "from": "USD",
        "to": "JPY",
    }


@pytest.mark.parametrize(
    ("text", "name", "written", "date"),
    [
        ("Porto weather", "Porto", "Porto", None),
        ("in Porto, will it rain tomorrow?", "Porto", "Porto", "tomorrow"),
        ("will it rain in Salt Lake City on Friday", "Salt Lake City", "Salt Lake City", "Friday"),
        ("weather in new york city", "New York City", "new york city", None),
        ("weather in Portland, Maine", "Portland", "Portland, Maine", None),
        ("weather in zürich", "Zürich", "zürich", None),
    ],
)
def test_places_and_dates_are_found_anywhere(engine, text, name, written, date):
    intent, slots = understood(engine, text)
    assert intent == "weather"
    assert (slots["city"]["name"], slots["city"]["text"]) == (name, written)
    assert slots.get("date") == (None if date is None else {"text": date})


def test_portland_is_the_largest_unless_the_state_is_named(engine):
    largest = understood(engine, "weather in Portland")[1]["city"]
    maine = understood(engine, "weather in Portland, Maine")[1]["city"]
    assert largest["admin"] == "Oregon"
    assert maine["admin"] == "Maine"
    assert maine["longitude"] > largest["longitude"]  # the east coast


def test_an_unknown_place_comes_through_as_text_after_in(engine):
    assert understood(engine, "will it rain in Horseshoe Lake State Park tomorrow")[1] == {
        "city": "Horseshoe Lake State Park",
        "date": {"text": "tomorrow"},
    }
    # A known name that starts a longer one is the longer one, as written.
    assert understood(engine, "weather in Holly River State Park")[1] == {
        "city": "Holly River State Park"
    }


@pytest.mark.parametrize(
    "text",
    ["weather in the morning", "will it rain here", "weather for weather", "rain rain rain"],
)
def test_words_that_are_no_place_never_become_one(engine, text):
    intent, slots = understood(engine, text)
    assert intent == "weather"
    assert "city" not in slots


@pytest.mark.parametrize(
    "text",
    ["🌧" * 50, "1234567890 " * 20, "погода в Москве", "東京の天気", "weather " * 700],
)
def test_odd_messages_get_sensible_slots_never_garbled_ones(engine, text):
    _, slots = understood(engine, text)
    for value in slots.values():
        written = value["text"] if isinstance(value, dict) else str(value)
        assert len(written) < 60
        assert "weather" not in written.lower()


def test_a_tie_asks_which_one_and_the_number_runs_it(engine):
    first = engine.respond(ConversationState(), Message("t", "u", body="weather joke"))
    assert sorted(first.understanding.choices) == ["joke", "weather"]
    assert first.replies[0].text.startswith("I'm not sure which you meant:\n1. ")
    assert first.state.choices == first.understanding.choices
    restored = ConversationState.from_dict(first.state.to_dict())
    assert restored == first.state
    number = first.state.choices.index("weather") + 1
    second = engine.respond(restored, Message("t", "u", body=str(number)))
    assert second.understanding.intent == "weather"
    assert second.replies[0].text == "Which city?"
    assert second.state.choices == ()


def test_the_chosen_intent_takes_the_slots_of_the_message_that_raised_the_question(engine):
    state = ConversationState(choices=("joke", "weather"), asked="weather joke for Lisbon")
    turn = engine.respond(state, Message("t", "u", body="2"))
    assert turn.understanding.slots["city"]["name"] == "Lisbon"
    assert turn.replies[0].text == "weather in Lisbon"


def test_a_place_or_date_in_a_question_template_is_said_as_written(tmp_path):
    (tmp_path / "trip.yml").write_text(
        """\
intents:
  - name: trip
    examples: ["trip to [Lisbon](city)", "a trip [tomorrow](when)"]
    slots:
      city: {type: place}
      when: {type: date, ask: "When do you go to {city}?"}
      nights: {type: number, ask: "How many nights in {city} from {when}?"}
    responses: ["Enjoy {city}, {nights} nights from {when}!"]
settings:
  fallback: ["what?"]
""",
        encoding="utf-8",
    )
    engine = engine_for(load(tmp_path / "trip.yml"), random.Random(1))
    state = ConversationState()
    said = []
    for text in ["trip to Lisbon", "on friday", "3"]:
        turn = engine.respond(state, Message("t", "u", body=text))
        state = turn.state
        said.append(turn.replies[0].text)
    assert said == [
        "When do you go to Lisbon?",
        "How many nights in Lisbon from friday?",
        "Enjoy Lisbon, 3 nights from friday!",
    ]
