"""Reading an intent's examples, with slot values marked in them as Rasa and Chatito write
them: `weather in [Lisbon](city)`.

An example is kept as plain text (what the matcher compares messages with) plus the position
of each marked value, so the engine can learn where in a sentence a slot's value sits.
"""

from __future__ import annotations

import re

import yaml

from nlp.text import has_words
from rules.model import Mark, Slot
from rules.nodes import Reader

# A slot value marked in an example: `[value](slot)`.
MARKED_VALUE = re.compile(r"\[([^\[\]()]+)\]\((\w+)\)")


def read_examples(
    reader: Reader, node: yaml.Node | None, what: str, slots: dict[str, Slot]
) -> tuple[list[str], list[tuple[Mark, ...]]]:
    """The examples as plain text, and the slot values marked in each."""
    texts, marks = [], []
    for raw, item in reader.strings(node, what):
        plain, found = unmark(reader, raw, item, what, slots)
        if plain is None:
            continue
        if has_words(plain):
            texts.append(plain)
            marks.append(found)
        else:
            reader.problem(item, f"{what}: '{raw}' has no words or emoji to match")
    return texts, marks


def unmark(
    reader: Reader, raw: str, node: yaml.Node, what: str, slots: dict[str, Slot]
) -> tuple[str | None, tuple[Mark, ...]]:
    """`"weather in [Lisbon](city)"` -> `("weather in Lisbon", (Mark("city", 11, 17),))`;
    None (and a problem) for a malformed mark or one naming no slot of the intent."""
    plain, found, position = "", [], 0
    for match in MARKED_VALUE.finditer(raw):
        plain += raw[position : match.start()]
        value, name = match[1], match[2]
        if name not in slots:
            known = ", ".join(slots) or "none"
            reader.problem(
                node, f"{what}: '{match[0]}' marks no slot of this intent (slots: {known})"
            )
            return None, ()
        if not value.strip():
            reader.problem(node, f"{what}: '{match[0]}' marks an empty value")
            return None, ()
        found.append(Mark(name, len(plain), len(plain) + len(value)))
        plain += value
        position = match.end()
    plain += raw[position:]
    # Left over after every well-formed mark is taken out: a mark written wrong.
    if "](" in plain:
        reader.problem(node, f"{what}: '{raw}': mark slot values as [value](slot)")
        return None, ()
    return plain, tuple(found)
