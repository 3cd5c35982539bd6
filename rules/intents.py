"""Reading one intent of a rule file: its name, what matches it (examples, patterns,
keywords), its slots, what it does (action, responses) and when it applies (context).

Every part is checked where it is read; names other files may define (actions, the intents of
`context`) are checked once every file is read.
"""

from __future__ import annotations

import yaml

from nlp.text import has_words
from rules.checks import needs_action, needs_intent
from rules.examples import read_examples
from rules.model import Intent
from rules.nodes import NAME, Reader
from rules.responses import read_responses
from rules.slots import known_slot, read_pattern, read_slots
from rules.synonyms import read_synonyms

_INTENT_KEYS = {
    "name", "description", "priority", "examples", "patterns", "keywords", "synonyms",
    "slots", "action", "responses", "otherwise", "context", "remember",
}  # fmt: skip


def read_intent(reader: Reader, node: yaml.Node) -> tuple[Intent, dict[str, str]] | None:
    """The intent, and the synonyms it declares (they apply to the whole rule set); None when
    it has no usable name, as nothing else about it could be reported by name."""
    fields = reader.mapping(node, "intent", _INTENT_KEYS)
    name_node = fields.get("name")
    if not isinstance(name_node, yaml.ScalarNode) or not NAME.match(name_node.value):
        reader.problem(
            name_node or node, "intent needs a 'name' of lower-case letters, digits and _"
        )
        return None
    name = name_node.value
    what = f"intent '{name}'"
    slots = read_slots(reader, fields.get("slots"), what)
    patterns = [
        read_pattern(reader, text, item, what, slots)
        for text, item in reader.strings(fields.get("patterns"), f"{what} patterns")
    ]
    examples, marks = read_examples(reader, fields.get("examples"), f"{what} examples", slots)
    keywords = read_words(reader, fields.get("keywords"), f"{what} keywords")
    if not (examples or patterns or keywords or "context" in fields):
        reader.problem(node, f"{what} needs 'examples', 'patterns' or 'keywords' to be matched")
    synonyms = read_synonyms(reader, fields.get("synonyms"), f"{what} synonyms")
    action = ""
    if "action" in fields:
        action = str(fields["action"].value)
        reader.check_later(fields["action"], needs_action(action, what))
    remember = tuple(
        text
        for text, item in reader.strings(fields.get("remember"), f"{what} remember")
        if known_slot(reader, text, item, slots, what)
    )
    local = set(slots)
    responses = read_responses(reader, fields.get("responses"), f"{what} responses", local, action)
    otherwise = read_responses(reader, fields.get("otherwise"), f"{what} otherwise", local, action)
    context = reader.strings(fields.get("context"), f"{what} context")
    for text, item in context:
        reader.check_later(item, needs_intent(text, f"{what} context"))
    priority = 0
    if "priority" in fields:
        try:
            priority = int(fields["priority"].value)
        except (TypeError, ValueError):
            reader.problem(fields["priority"], f"{what}: priority must be a whole number")
    intent = Intent(
        name=name,
        examples=tuple(examples),
        marks=tuple(marks),
        patterns=tuple(p for p in patterns if p is not None),
        keywords=tuple(keywords),
        responses=responses,
        otherwise=otherwise,
        slots=tuple(slots.values()),
        action=action,
        context=tuple(text for text, _ in context),
        remember=remember,
        description=str(fields["description"].value) if "description" in fields else "",
        priority=priority,
        source=f"{reader.file}:{node.start_mark.line + 1}",
    )
    return intent, synonyms


def read_words(reader: Reader, node: yaml.Node | None, what: str) -> list[str]:
    """Texts that must each hold a word or an emoji, since nothing else can be matched."""
    result = []
    for text, item in reader.strings(node, what):
        if has_words(text):
            result.append(text)
        else:
            reader.problem(item, f"{what}: '{text}' has no words or emoji to match")
    return result
