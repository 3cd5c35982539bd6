"""The word tables a rule file declares: entity types with their values' synonyms, and
single-word synonyms (`canonical: [alternative, …]`) for the whole rule set or one intent.

Every word is folded as the matcher folds a message, so a table lookup is a plain dict get.
"""

from __future__ import annotations

import yaml

from nlp import tokenize
from rules.model import BUILTIN_SLOT_TYPES
from rules.nodes import NAME, Reader


def read_entities(reader: Reader, node: yaml.Node | None) -> dict[str, dict[str, str]]:
    """`entities:` as a map from each type to a map from every folded word to its value."""
    result = {}
    for type_name, values in reader.mapping(node, "entities").items():
        if not NAME.match(type_name) or type_name in BUILTIN_SLOT_TYPES:
            reader.problem(values, f"entity type '{type_name}': use a new lower-case name")
            continue
        table: dict[str, str] = {}
        for value, synonyms in reader.mapping(values, f"entity '{type_name}'").items():
            words = [value] + [
                s for s, _ in reader.strings(synonyms, f"entity '{type_name}' {value}")
            ]
            for word in words:
                table[" ".join(tokenize(word))] = value
        result[type_name] = table
    return result


def read_synonyms(reader: Reader, node: yaml.Node | None, what: str) -> dict[str, str]:
    """`canonical: [alternative, …]` as a map from each folded alternative to canonical."""
    result: dict[str, str] = {}
    for canonical, alternatives in reader.mapping(node, what).items():
        target = " ".join(tokenize(canonical))
        for word, item in reader.strings(alternatives, f"{what} {canonical}"):
            folded = " ".join(tokenize(word))
            if " " in folded or " " in target or not folded:
                reader.problem(item, f"{what}: synonyms are single words ('{word}')")
            else:
                result[folded] = target
    return result
