"""Walking one rule file's YAML nodes, collecting problems instead of stopping at the first.

The YAML is composed into nodes rather than loaded into dicts, so that every value keeps its
position: a wrong value becomes a `Problem` at its line, and the reader carries on so that a
rule author sees every mistake at once. The readers of each part of a file (intents, slots,
responses, settings) build on the helpers here.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from rules.checks import Check, Later
from rules.model import Problem

# The names rule authors give intents and entity types.
NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# libyaml's parser (shipped in PyYAML's wheels) composes large rule sets ten times faster and
# keeps line numbers; the pure-Python one is the fallback.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def line_of(node: yaml.Node | None) -> int:
    """The 1-based line a node starts on (1 when there is no node to point at)."""
    return node.start_mark.line + 1 if node is not None else 1


class Reader:
    """One file's problems and later checks, and the shape checks every part of it needs."""

    def __init__(self, file: Path, problems: list[Problem], later: list[Later]) -> None:
        self.file = file
        self.problems = problems
        self.later = later

    def root(self) -> yaml.Node | None:
        """The file's top node; None (and a problem, unless the file is empty) if unreadable."""
        try:
            return yaml.compose(self.file.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
        except yaml.MarkedYAMLError as error:
            mark = error.problem_mark or error.context_mark
            line = mark.line + 1 if mark else 1
            self.problems.append(Problem(str(self.file), line, f"invalid YAML: {error.problem}"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
            self.problems.append(Problem(str(self.file), 1, f"cannot read: {error}"))
        return None

    def problem(self, node: yaml.Node | None, message: str) -> None:
        self.problems.append(Problem(str(self.file), line_of(node), message))

    def check_later(self, node: yaml.Node, run: Check) -> None:
        self.later.append(Later(str(self.file), line_of(node), run))

    def mapping(self, node: yaml.Node | None, what: str, allowed: set[str] | None = None) -> dict:
        """A mapping's entries by key; `allowed=None` accepts any key (a name → value map)."""
        if node is None:
            return {}
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, f"{what} must be a mapping of keys to values")
            return {}
        result: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key is None or (allowed is not None and key not in allowed):
                known = f" (known: {', '.join(sorted(allowed))})" if allowed else ""
                self.problem(key_node, f"{what}: unknown key '{key}'{known}")
            elif key in result:
                self.problem(key_node, f"{what}: key '{key}' given twice")
            else:
                result[key] = value_node
        return result

    def sequence(self, node: yaml.Node | None, what: str) -> list[yaml.Node]:
        if node is None:
            return []
        if isinstance(node, yaml.SequenceNode):
            return list(node.value)
        self.problem(node, f"{what} must be a list")
        return []

    def strings(self, node: yaml.Node | None, what: str) -> list[tuple[str, yaml.Node]]:
        """A string or a list of strings, each with its node for later problems."""
        items = [node] if isinstance(node, yaml.ScalarNode) else self.sequence(node, what)
        result = []
        for item in items:
            # YAML reads `no`, `yes`, `on` as booleans and `42` as a number; the node keeps the
            # author's text, which is what a rule means.
            if isinstance(item, yaml.ScalarNode) and item.tag.endswith(
                (":str", ":int", ":float", ":bool")
            ):
                result.append((item.value, item))
            else:
                self.problem(item, f"{what}: each entry must be a piece of text")
        return result

    def number(self, node: yaml.Node, what: str, low: float, high: float) -> float | None:
        try:
            value = float(node.value)
        except (TypeError, ValueError):
            value = None
        if value is None or not low <= value <= high:
            self.problem(node, f"{what} must be a number from {low:g} to {high:g}")
            return None
        return value
