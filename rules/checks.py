"""Checks that need every rule file: whether a name one file uses is defined in any of them.

A reader cannot tell while it walks one file whether `context: [joke]` names an intent another
file defines, so it records the check with the line to blame, and `load_rules` runs them all
once the files are merged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from rules.model import BUILTIN_ACTIONS, BUILTIN_SLOT_TYPES, RuleSet

# A check gets the merged rules and each action's output variables; it returns the problem, or
# None when all is well.
Check = Callable[[RuleSet, Mapping[str, frozenset[str]]], str | None]


@dataclass
class Later:
    """A check that needs every file: what to check, and where to point if it fails."""

    file: str
    line: int
    run: Check


def needs_intent(name: str, what: str) -> Check:
    """A check that some file defines the intent `name`."""

    def run(rules: RuleSet, _actions: object) -> str | None:
        return None if rules.intent(name) else f"{what}: no intent named '{name}'"

    return run


def needs_action(name: str, what: str) -> Check:
    """A check that `name` is a built-in action or one the composition root passed in."""

    def run(_rules: RuleSet, actions: Mapping[str, frozenset[str]]) -> str | None:
        if name in actions or name in BUILTIN_ACTIONS:
            return None
        known = ", ".join(sorted(set(actions) | BUILTIN_ACTIONS))
        return f"{what}: unknown action '{name}' (known: {known})"

    return run


def needs_slot_type(slot_type: str, what: str) -> Check:
    """A check that `slot_type` is built in or an entity type some file declares."""

    def run(rules: RuleSet, _actions: object) -> str | None:
        if slot_type in BUILTIN_SLOT_TYPES or slot_type in rules.entities:
            return None
        known = ", ".join(sorted(BUILTIN_SLOT_TYPES | set(rules.entities)))
        return f"{what}: unknown slot type '{slot_type}' (known: {known})"

    return run
