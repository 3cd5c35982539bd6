"""Reading a rule file's `settings:`: the replies the bot falls back on, the word lists and
tables it understands with, and the thresholds it decides by.

Settings from several files are merged by `load_rules`, a later file's entries replacing an
earlier one's.
"""

from __future__ import annotations

import yaml

from nlp import tokenize
from rules.checks import needs_intent
from rules.nodes import Reader
from rules.responses import read_responses
from rules.synonyms import read_synonyms

_RESPONSE_SETTINGS = {
    "fallback", "on_media", "on_location", "on_empty", "cancelled", "suggestion", "menu_invalid",
    "gave_up", "clarify", "human_offer", "human_handover", "human_declined", "human_back",
    "human_idle", "human_unavailable",
}  # fmt: skip
_LIST_SETTINGS = {"cancel", "affirm", "menu"}
_SETTINGS = _RESPONSE_SETTINGS | _LIST_SETTINGS | {
    "substitutions", "synonyms", "threshold", "suggest_threshold", "location_intent",
    "link_intent", "document_intent", "fallback_intent", "human_intent"
}  # fmt: skip
# Variables only some settings' templates may use.
_SETTING_VARIABLES = {
    "on_media": {"media_kind"},
    "on_location": {"latitude", "longitude", "place"},
    "suggestion": {"suggestion"},
    "menu_invalid": {"count"},
    "clarify": {"choices"},
}


def read_settings(reader: Reader, node: yaml.Node | None) -> dict[str, object]:
    """The settings given, as keyword arguments for `Settings`."""
    result: dict[str, object] = {}
    for key, value in reader.mapping(node, "settings", _SETTINGS).items():
        what = f"settings {key}"
        if key in _RESPONSE_SETTINGS:
            responses = read_responses(reader, value, what, _SETTING_VARIABLES.get(key, set()))
            if responses:
                result[key] = responses
            else:
                reader.problem(value, f"{what}: give at least one response")
        elif key in _LIST_SETTINGS:
            result[key] = tuple(text for text, _ in reader.strings(value, what))
            if key == "menu":
                for text, item in reader.strings(value, what):
                    reader.check_later(item, needs_intent(text, what))
        elif key == "substitutions":
            result[key] = _substitutions(reader, value, what)
        elif key == "synonyms":
            result[key] = read_synonyms(reader, value, what)
        elif key in {
            "location_intent",
            "link_intent",
            "document_intent",
            "fallback_intent",
            "human_intent",
        }:
            result[key] = name = str(value.value)
            reader.check_later(value, needs_intent(name, what))
        else:
            number = reader.number(value, what, 0, 1)
            if number is not None:
                result[key] = number
    return result


def _substitutions(reader: Reader, node: yaml.Node | None, what: str) -> dict[str, str]:
    """Words and the words they stand for, both as text (`{"u": "you"}`)."""
    table = {}
    for key, value in reader.mapping(node, what).items():
        if not isinstance(value, yaml.ScalarNode):
            reader.problem(value, f"{what}: '{key}' must stand for words, not a list or mapping")
            continue
        table[" ".join(tokenize(str(key)))] = " ".join(tokenize(value.value))
    return table
