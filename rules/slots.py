"""Reading the slots an intent takes: those declared under `slots:`, and those a pattern
declares inline as `{name}` or `{name:type}`.

A pattern is split into literal words (stemmed here, once, rather than on every message) and
slot references; a slot's type must be built in or an entity type some file declares, which
is checked once every file is read.
"""

from __future__ import annotations

import re

import yaml

from nlp import tokenize
from nlp.analysis import stem
from rules.checks import needs_slot_type
from rules.model import Literal, Pattern, Slot, SlotRef
from rules.nodes import Reader

PLACEHOLDER = re.compile(r"\{(\w+)(?::(\w+))?\}")


def read_slots(reader: Reader, node: yaml.Node | None, what: str) -> dict[str, Slot]:
    """`slots:` by name: each a type (`city: place`), or a mapping with `type`, `ask`,
    `required` and `refuse` (words a value may not contain)."""
    slots: dict[str, Slot] = {}
    for name, spec in reader.mapping(node, f"{what} slots").items():
        if isinstance(spec, yaml.ScalarNode):
            slot_type, ask, required = spec.value or "text", "", False
        else:
            fields = reader.mapping(
                spec, f"{what} slot '{name}'", {"type", "ask", "required", "refuse"}
            )
            slot_type = fields["type"].value if "type" in fields else "text"
            ask = fields["ask"].value if "ask" in fields else ""
            required = "required" in fields and str(fields["required"].value).lower() == "true"
            if required and not ask:
                reader.problem(spec, f"{what} slot '{name}' is required but has no 'ask' question")
        reader.check_later(spec, needs_slot_type(slot_type, what))
        refuse = frozenset()
        if not isinstance(spec, yaml.ScalarNode) and "refuse" in fields:
            words = reader.strings(fields["refuse"], f"{what} slot '{name}' refuse")
            refuse = frozenset(w for text, _ in words for w in tokenize(text))
        slots[name] = Slot(name, slot_type, ask, refuse)
    return slots


def known_slot(
    reader: Reader, name: str, node: yaml.Node, slots: dict[str, Slot], what: str
) -> bool:
    """Whether `name` is one of the intent's slots; a problem at `node` if it is not."""
    if name in slots:
        return True
    reader.problem(node, f"{what}: '{name}' is not one of its slots")
    return False


def read_pattern(
    reader: Reader, text: str, node: yaml.Node, what: str, slots: dict[str, Slot]
) -> Pattern | None:
    """A pattern's words and slot references; a slot first named here is added to `slots`,
    since the pattern is where the author declared it."""
    parts: list[Literal | SlotRef] = []
    position = 0
    for match in PLACEHOLDER.finditer(text):
        parts += [Literal(w, stem(w)) for w in tokenize(text[position : match.start()])]
        name, inline_type = match[1], match[2]
        declared = slots.get(name)
        if declared is None:
            declared = slots[name] = Slot(name, inline_type or "text")
            reader.check_later(node, needs_slot_type(declared.type, f"{what} pattern '{text}'"))
        elif inline_type and inline_type != declared.type:
            reader.problem(
                node,
                f"{what} pattern '{text}': slot '{name}' is declared as {declared.type}, not {inline_type}",
            )
        parts.append(SlotRef(name, declared.type))
        position = match.end()
    parts += [Literal(w, stem(w)) for w in tokenize(text[position:])]
    if not any(isinstance(p, Literal) for p in parts):
        reader.problem(node, f"{what} pattern '{text}' needs at least one word besides slots")
        return None
    if "{" in PLACEHOLDER.sub("", text) or "}" in PLACEHOLDER.sub("", text):
        reader.problem(node, f"{what} pattern '{text}': write slots as {{name}} or {{name:type}}")
        return None
    return Pattern(text, tuple(parts))
