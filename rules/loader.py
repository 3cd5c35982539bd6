"""Read rule files (YAML) into a `RuleSet`, naming the file and line of every problem.

The YAML is composed into nodes rather than loaded into dicts, so that every value keeps its
position: a rule author gets `rules/my.yml:12: intent 'weather': unknown key 'exmaples'`
instead of a traceback.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from nlp import tokenize
from rules.model import Intent, Problem, Response, RuleError, RuleSet

DEMO_RULES = Path(__file__).resolve().parent / "demo"

_INTENT_KEYS = {"name", "examples", "responses", "description", "priority"}
# Each setting and the template variables its responses may use.
_SETTINGS = {
    "fallback": {"profile_name"},
    "on_media": {"profile_name", "media_kind"},
    "on_location": {"profile_name", "latitude", "longitude", "place"},
    "on_empty": {"profile_name"},
}
_INTENT_VARIABLES = {"profile_name"}
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
TEMPLATE_VARIABLE = re.compile(r"(?<!\{)\{(\w+)\}(?!\})")


def rule_files(path: Path) -> list[Path]:
    """The rule files `path` names: itself, or every `*.yml`/`*.yaml` below it, sorted."""
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.suffix in {".yml", ".yaml"} and p.is_file())
    return [path]


def load_rules(path: str | Path = DEMO_RULES) -> RuleSet:
    """Load and merge the rule files at `path`; raise `RuleError` listing every problem."""
    path = Path(path)
    problems: list[Problem] = []
    if not path.exists():
        raise RuleError([Problem(str(path), 0, "no such rule file or folder")])
    files = rule_files(path)
    if not files:
        raise RuleError([Problem(str(path), 0, "no .yml or .yaml rule files in this folder")])
    parsed = [_FileReader(f, problems).read() for f in files]
    intents: dict[str, Intent] = {}
    settings: dict[str, tuple[Response, ...]] = {}
    for file_intents, file_settings in parsed:
        for intent in file_intents:
            if intent.name in intents:
                file, line = intent.source.rsplit(":", 1)
                first = intents[intent.name].source
                problems.append(
                    Problem(file, int(line), f"duplicate intent '{intent.name}' (first at {first})")
                )
            else:
                intents[intent.name] = intent
        settings.update(file_settings)
    if "fallback" not in settings and not problems:
        problems.append(
            Problem(str(files[0]), 1, "no 'settings: fallback:' responses in any rule file")
        )
    if problems:
        raise RuleError(sorted(problems, key=lambda p: (p.file, p.line)))
    return RuleSet(
        intents=tuple(intents.values()),
        fallback=settings["fallback"],
        on_media=settings.get("on_media", settings["fallback"]),
        on_location=settings.get("on_location", settings["fallback"]),
        on_empty=settings.get("on_empty", settings["fallback"]),
        files=tuple(str(f) for f in files),
    )


class _FileReader:
    """Walks one file's YAML nodes, collecting problems instead of stopping at the first."""

    def __init__(self, file: Path, problems: list[Problem]) -> None:
        self.file = file
        self.problems = problems

    def problem(self, node: yaml.Node | None, message: str) -> None:
        line = node.start_mark.line + 1 if node is not None else 1
        self.problems.append(Problem(str(self.file), line, message))

    def read(self) -> tuple[list[Intent], dict[str, tuple[Response, ...]]]:
        try:
            root = yaml.compose(self.file.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as error:
            mark = error.problem_mark or error.context_mark
            self.problems.append(
                Problem(
                    str(self.file), mark.line + 1 if mark else 1, f"invalid YAML: {error.problem}"
                )
            )
            return [], {}
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
            self.problems.append(Problem(str(self.file), 1, f"cannot read: {error}"))
            return [], {}
        if root is None:
            return [], {}
        top = self.mapping(root, "the file", {"intents", "settings"})
        intents = [self.intent(n) for n in self.sequence(top.get("intents"), "'intents'")]
        settings = self.settings(top.get("settings"))
        return [i for i in intents if i is not None], settings

    def mapping(self, node: yaml.Node, what: str, allowed: set[str]) -> dict[str, yaml.Node]:
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, f"{what} must be a mapping of keys to values")
            return {}
        result: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key not in allowed:
                known = ", ".join(sorted(allowed))
                self.problem(key_node, f"{what}: unknown key '{key}' (known: {known})")
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
            if isinstance(item, yaml.ScalarNode) and item.tag.endswith((":str", ":int", ":float")):
                result.append((item.value, item))
            else:
                self.problem(item, f"{what}: each entry must be a piece of text")
        return result

    def responses(
        self, node: yaml.Node | None, what: str, variables: set[str]
    ) -> tuple[Response, ...]:
        one = isinstance(node, yaml.ScalarNode | yaml.MappingNode)
        items = [node] if one else self.sequence(node, what)
        return tuple(self.response(item, what, variables) for item in items)

    def response(self, item: yaml.Node, what: str, variables: set[str]) -> Response:
        """One variant: a text, or a mapping with `text` and/or `media` (http(s) URLs)."""
        if isinstance(item, yaml.MappingNode):
            fields = self.mapping(item, what, {"text", "media"})
            texts = self.strings(fields["text"], f"{what} text") if "text" in fields else []
            media = self.strings(fields.get("media"), f"{what} media")
            for url, url_node in media:
                if not url.startswith(("https://", "http://")):
                    self.problem(url_node, f"{what} media: '{url}' is not an http(s) URL")
            if not texts and not media:
                self.problem(item, f"{what}: a response needs 'text' or 'media'")
        else:
            texts, media = self.strings(item, what), []
        for text, text_node in texts:
            for name in TEMPLATE_VARIABLE.findall(text):
                if name not in variables:
                    known = ", ".join(sorted(variables))
                    self.problem(
                        text_node,
                        f"{what}: unknown template variable '{{{name}}}' (known: {known})",
                    )
        return Response(texts[0][0] if texts else "", tuple(url for url, _ in media))

    def intent(self, node: yaml.Node) -> Intent | None:
        fields = self.mapping(node, "intent", _INTENT_KEYS)
        name_node = fields.get("name")
        if not isinstance(name_node, yaml.ScalarNode) or not _NAME.match(name_node.value):
            self.problem(
                name_node or node, "intent needs a 'name' of lower-case letters, digits and _"
            )
            return None
        what = f"intent '{name_node.value}'"
        examples = []
        for text, item in self.strings(fields.get("examples"), f"{what} examples"):
            if tokenize(text):
                examples.append(text)
            else:
                self.problem(item, f"{what} examples: '{text}' has no words or emoji to match")
        if not examples:
            self.problem(node, f"{what} needs at least one entry under 'examples'")
        responses = self.responses(fields.get("responses"), f"{what} responses", _INTENT_VARIABLES)
        priority = 0
        if "priority" in fields:
            try:
                priority = int(fields["priority"].value)
            except (TypeError, ValueError):
                self.problem(fields["priority"], f"{what}: priority must be a whole number")
        description = fields["description"].value if "description" in fields else ""
        return Intent(
            name=name_node.value,
            examples=tuple(examples),
            responses=responses,
            description=str(description),
            priority=priority,
            source=f"{self.file}:{node.start_mark.line + 1}",
        )

    def settings(self, node: yaml.Node | None) -> dict[str, tuple[Response, ...]]:
        if node is None:
            return {}
        fields = self.mapping(node, "settings", set(_SETTINGS))
        result = {}
        for key, value in fields.items():
            responses = self.responses(value, f"settings {key}", _SETTINGS[key])
            if responses:
                result[key] = responses
            else:
                self.problem(value, f"settings {key}: give at least one response")
        return result
