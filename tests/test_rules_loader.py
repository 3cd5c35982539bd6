"""Rule files: merged from a folder, and every mistake reported as file:line: message."""

from __future__ import annotations

from pathlib import Path

import pytest

from rules import DEMO_RULES, Response, RuleError, load_rules
from skills import shipped


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """\
intents:
  - name: greet
    examples: [hi]
    responses: ["hello"]
settings:
  fallback: ["what?"]
"""


def problems(path: Path) -> list[str]:
    with pytest.raises(RuleError) as caught:
        load_rules(path)
    return [str(p) for p in caught.value.problems]


def test_demo_rules_load():
    rules = load_rules(DEMO_RULES, shipped())
    assert {i.name for i in rules.intents} >= {"greet", "goodbye", "thanks", "help"}
    assert rules.settings.fallback


def test_files_in_a_folder_merge(tmp_path):
    write(tmp_path, "a.yml", GOOD)
    write(
        tmp_path, "b.yaml", "intents:\n  - name: bye\n    examples: [bye]\n    responses: [ciao]\n"
    )
    rules = load_rules(tmp_path)
    assert [i.name for i in rules.intents] == ["greet", "bye"]
    assert rules.intent("bye").responses == (Response("ciao"),)
    assert rules.intent("bye").source == f"{tmp_path / 'b.yaml'}:2"


def test_media_response(tmp_path):
    path = write(
        tmp_path,
        "m.yml",
        GOOD + "  on_media:\n    - text: nice\n      media: [https://x.org/a.png]\n",
    )
    assert load_rules(path).settings.on_media == (Response("nice", ("https://x.org/a.png",)),)


def test_invalid_yaml_names_the_line(tmp_path):
    path = write(tmp_path, "bad.yml", "intents:\n  - name: greet\n    examples: [hi\n")
    [problem] = problems(path)
    assert problem.startswith(f"{path}:")
    assert "invalid YAML" in problem


def test_unknown_key_names_file_and_line(tmp_path):
    path = write(tmp_path, "r.yml", GOOD.replace("    examples: [hi]", "    exmaples: [hi]"))
    found = problems(path)
    known = (
        "action, context, description, examples, keywords, name, otherwise, patterns, priority,"
        " remember, responses, slots, synonyms"
    )
    assert f"{path}:3: intent: unknown key 'exmaples' (known: {known})" in found
    assert (
        f"{path}:2: intent 'greet' needs 'examples', 'patterns' or 'keywords' to be matched"
        in found
    )


def test_duplicate_intent_across_files(tmp_path):
    write(tmp_path, "a.yml", GOOD)
    second = write(
        tmp_path, "b.yml", "intents:\n  - name: greet\n    examples: [yo]\n    responses: [yo]\n"
    )
    assert problems(tmp_path) == [
        f"{second}:2: duplicate intent 'greet' (first at {tmp_path / 'a.yml'}:2)"
    ]


def test_unknown_template_variable(tmp_path):
    path = write(tmp_path, "r.yml", GOOD.replace('["hello"]', '["hello {nmae}"]'))
    assert problems(path) == [
        f"{path}:4: intent 'greet' responses: unknown template variable '{{nmae}}'"
        " (known: menu, profile_name)"
    ]


def test_example_without_words(tmp_path):
    path = write(tmp_path, "r.yml", GOOD.replace("[hi]", '[hi, "?!"]'))
    assert problems(path) == [
        f"{path}:3: intent 'greet' examples: '?!' has no words or emoji to match"
    ]


def test_bad_name_priority_and_media(tmp_path):
    text = """\
intents:
  - name: Bad Name
    examples: [x]
  - name: ok
    priority: high
    examples: [y]
    responses:
      - media: ftp://x/y.png
settings:
  fallback: [f]
"""
    path = write(tmp_path, "r.yml", text)
    assert problems(path) == [
        f"{path}:2: intent needs a 'name' of lower-case letters, digits and _",
        f"{path}:5: intent 'ok': priority must be a whole number",
        f"{path}:8: intent 'ok' responses media: 'ftp://x/y.png' is not an http(s) URL",
    ]


def test_missing_fallback(tmp_path):
    path = write(
        tmp_path, "r.yml", "intents:\n  - name: a\n    examples: [a]\n    responses: [a]\n"
    )
    assert problems(path) == [f"{path}:1: no 'settings: fallback:' in any rule file"]


def test_top_level_must_be_a_mapping(tmp_path):
    path = write(tmp_path, "r.yml", "- just\n- a list\n")
    assert f"{path}:1: the file must be a mapping of keys to values" in problems(path)


def test_missing_path_and_empty_folder(tmp_path):
    assert problems(tmp_path / "nope.yml") == [
        f"{tmp_path / 'nope.yml'}:0: no such rule file or folder"
    ]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert problems(empty) == [f"{empty}:0: no .yml or .yaml rule files in this folder"]


def test_bad_rules_stop_start_up(tmp_path):
    from bot import create_app

    path = write(tmp_path, "r.yml", GOOD.replace("name: greet", "name: 9x"))
    with pytest.raises(RuleError, match=r"r\.yml:2: intent needs a 'name'"):
        create_app(
            {
                "BOT_RULES": str(path),
                "TWILIO_AUTH_TOKEN": "t",
                "BOT_STORE_URL": "memory://",
                "BOT_OFFLINE": "true",
            }
        )


def test_yes_and_no_stay_words(tmp_path):
    path = write(
        tmp_path, "r.yml", GOOD.replace("[hi]", "[yes, no, on, 42]").replace('["hello"]', "[no]")
    )
    intent = load_rules(path).intent("greet")
    assert intent.examples == ("yes", "no", "on", "42")
    assert intent.responses == (Response("no"),)


FULL = """\
entities:
  colour:
    red: [crimson, scarlet]
    blue: [navy, sky blue]
intents:
  - name: paint
    patterns: ["paint it {shade:colour}"]
    keywords: [paint]
    synonyms:
      paint: [recolour, repaint]
    responses: ["painting it {shade}"]
  - name: again
    context: [paint]
    examples: [again]
    action: repeat
  - name: set_name
    patterns: ["i am {name}"]
    slots:
      name: {type: text, ask: "Your name?"}
    remember: [name]
    responses: ["hi {name}"]
  - name: get_name
    examples: [my name]
    responses: ["you are {name}"]
    otherwise: ["no idea"]
settings:
  fallback: [what]
  menu: [paint, set_name]
  substitutions: {pls: please}
  threshold: 0.6
"""


def test_full_language_loads(tmp_path):
    rules = load_rules(write(tmp_path, "r.yml", FULL))
    paint = rules.intent("paint")
    assert paint.patterns[0].parts[-1] == ("shade", "colour")
    assert paint.slots[0].name == "shade"
    assert rules.entities["colour"]["sky blue"] == "blue"
    assert rules.settings.synonyms == {"repaint": "paint"} or "repaint" in rules.settings.synonyms
    assert rules.intent("set_name").slots[0].required
    assert rules.memory_variables == {"name"}
    assert rules.settings.menu == ("paint", "set_name")
    assert rules.settings.threshold == 0.6
    assert rules.settings.substitutions == {"pls": "please"}


@pytest.mark.parametrize(
    ("change", "line", "message"),
    [
        (
            ("context: [paint]", "context: [pant]"),
            13,
            "intent 'again' context: no intent named 'pant'",
        ),
        (("action: repeat", "action: teleport"), 15, "intent 'again': unknown action 'teleport'"),
        (
            ("menu: [paint, set_name]", "menu: [paint, nope]"),
            28,
            "settings menu: no intent named 'nope'",
        ),
        (
            ("remember: [name]", "remember: [nom]"),
            20,
            "intent 'set_name': 'nom' is not one of its slots",
        ),
        (("threshold: 0.6", "threshold: 2"), 30, "settings threshold must be a number from 0 to 1"),
        (("{shade:colour}", "{shade:color}"), 7, "unknown slot type 'color'"),
        (("{shade:colour}", "{shade"), 7, "write slots as {name} or {name:type}"),
        (("you are {name}", "you are {nom}"), 24, "unknown template variable '{nom}'"),
    ],
)
def test_full_language_problems(tmp_path, change, line, message):
    path = write(tmp_path, "r.yml", FULL.replace(*change))
    found = problems(path)
    assert any(p.startswith(f"{path}:{line}: ") and message in p for p in found), found


def test_memory_variables_from_another_file_are_known(tmp_path):
    write(tmp_path, "a.yml", FULL)
    write(
        tmp_path,
        "b.yml",
        "intents:\n  - name: hello\n    examples: [hello]\n    responses: ['hello {name}']\n",
    )
    assert load_rules(tmp_path).intent("hello").responses[0].text == "hello {name}"


MARKED = """\
intents:
  - name: weather
    examples:
      - "weather in [Lisbon](city) [tomorrow](date)"
      - "[Porto](city) weather"
      - is it raining
    slots:
      city: {type: place, ask: "Which city?"}
      date: {type: date}
    responses: ["ok"]
  - name: wiki
    examples: ["who was [Ada Lovelace](topic)"]
    slots:
      topic: {type: text, refuse: [my, "Your"]}
    responses: ["ok"]
settings:
  fallback: ["what?"]
"""


def test_marked_values_become_plain_examples_with_marks(tmp_path):
    rules = load_rules(write(tmp_path, "m.yml", MARKED))
    weather = rules.intent("weather")
    assert weather.examples == ("weather in Lisbon tomorrow", "Porto weather", "is it raining")
    first, second, third = weather.marks
    assert [(m.slot, weather.examples[0][m.start : m.end]) for m in first] == [
        ("city", "Lisbon"),
        ("date", "tomorrow"),
    ]
    assert [(m.slot, m.start, m.end) for m in second] == [("city", 0, 5)]
    assert third == ()
    assert rules.intent("wiki").slot("topic").refuse == frozenset({"my", "your"})
    assert weather.slot("city").type == "place"


def test_a_mark_naming_no_slot_or_malformed_is_reported_with_its_line(tmp_path):
    text = MARKED.replace("[Porto](city)", "[Porto](town)").replace(
        "is it raining", "'is it [raining](date'"
    )
    text = text.replace('["who was [Ada Lovelace](topic)"]', '["who was [](topic)", wiki]')
    found = problems(write(tmp_path, "bad.yml", text))
    path = tmp_path / "bad.yml"
    assert found == [
        f"{path}:5: intent 'weather' examples: '[Porto](town)' marks no slot of this intent"
        " (slots: city, date)",
        f"{path}:6: intent 'weather' examples: 'is it [raining](date': mark slot values as"
        " [value](slot)",
        f"{path}:12: intent 'wiki' examples: 'who was [](topic)': mark slot values as"
        " [value](slot)",
    ]


def test_a_substitution_that_is_not_words_is_a_problem_at_its_line(tmp_path):
    path = write(
        tmp_path,
        "r.yml",
        "settings:\n  fallback: [Sorry?]\n  substitutions:\n    u: you\n    pls: [please]\n",
    )
    with pytest.raises(RuleError) as raised:
        load_rules(path)
    assert [str(p) for p in raised.value.problems] == [
        f"{path}:5: settings substitutions: 'pls' must stand for words, not a list or mapping"
    ]
