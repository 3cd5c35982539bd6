"""Read rule files (YAML) into a `RuleSet`, naming the file and line of every problem.

The YAML is composed into nodes rather than loaded into dicts, so that every value keeps its
position: a rule author gets `rules/my.yml:12: intent 'weather': unknown key 'exmaples'`
instead of a traceback. Checks that need every file (slot types, memory variables, context
and menu names, actions) run after the files are merged, still naming file and line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from conversation import Skill
from nlp import tokenize
from nlp.analysis import stem
from nlp.text import has_words
from rules.bulk import collector_paused
from rules.model import (
    BUILTIN_ACTIONS,
    BUILTIN_SLOT_TYPES,
    Intent,
    Literal,
    Mark,
    Pattern,
    Problem,
    Response,
    RuleError,
    RuleSet,
    Settings,
    Slot,
    SlotRef,
)

DEMO_RULES = Path(__file__).resolve().parent / "demo"
TEMPLATE_VARIABLE = re.compile(r"(?<!\{)\{(\w+)\}(?!\})")
PLACEHOLDER = re.compile(r"\{(\w+)(?::(\w+))?\}")
# A slot value marked in an example, as Rasa and Chatito write it: `weather in [Lisbon](city)`.
MARKED_VALUE = re.compile(r"\[([^\[\]()]+)\]\((\w+)\)")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# libyaml's parser (shipped in PyYAML's wheels) composes large rule sets ten times faster and
# keeps line numbers; the pure-Python one is the fallback.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_INTENT_KEYS = {
    "name", "description", "priority", "examples", "patterns", "keywords", "synonyms",
    "slots", "action", "responses", "otherwise", "context", "remember",
}  # fmt: skip
_RESPONSE_SETTINGS = {
    "fallback", "on_media", "on_location", "on_empty", "cancelled", "suggestion", "menu_invalid",
    "gave_up", "clarify",
}  # fmt: skip
_LIST_SETTINGS = {"cancel", "affirm", "menu"}
_SETTINGS = _RESPONSE_SETTINGS | _LIST_SETTINGS | {
    "substitutions", "synonyms", "threshold", "suggest_threshold", "location_intent",
    "link_intent"
}  # fmt: skip
# Variables every template may use, and those only some settings' templates may use.
BUILTIN_VARIABLES = frozenset({"profile_name", "menu"})
_SETTING_VARIABLES = {
    "on_media": {"media_kind"},
    "on_location": {"latitude", "longitude", "place"},
    "suggestion": {"suggestion"},
    "menu_invalid": {"count"},
    "clarify": {"choices"},
}


@dataclass
class _Later:
    """A check that needs every file: what to check, and where to point if it fails."""

    file: str
    line: int
    run: Callable[[RuleSet, Mapping[str, frozenset[str]]], str | None]


def rule_files(path: Path) -> list[Path]:
    """The rule files `path` names: itself, or every `*.yml`/`*.yaml` below it, sorted."""
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.suffix in {".yml", ".yaml"} and p.is_file())
    return [path]


def load_rules(
    path: str | Path = DEMO_RULES, actions: Mapping[str, Skill] | None = None
) -> RuleSet:
    """Load and merge the rule files at `path`; raise `RuleError` listing every problem.

    `actions` are the actions the rules may name (the composition root passes the shipped
    skills): an unknown action, or a template variable no action or slot provides, is a
    problem at its line.
    """
    outputs = {name: skill.outputs for name, skill in (actions or {}).items()}
    path = Path(path)
    if not path.exists():
        raise RuleError([Problem(str(path), 0, "no such rule file or folder")])
    files = rule_files(path)
    if not files:
        raise RuleError([Problem(str(path), 0, "no .yml or .yaml rule files in this folder")])
    problems: list[Problem] = []
    later: list[_Later] = []
    readers = [_FileReader(f, problems, later) for f in files]
    with collector_paused():
        for reader in readers:
            reader.read()
        rules = _merge(readers, problems)
    for check in later:
        message = check.run(rules, outputs)
        if message:
            problems.append(Problem(check.file, check.line, message))
    if problems:
        raise RuleError(sorted(problems, key=lambda p: (p.file, p.line)))
    return rules


def _merge(readers: list[_FileReader], problems: list[Problem]) -> RuleSet:
    intents: dict[str, Intent] = {}
    settings: dict[str, object] = {}
    entities: dict[str, dict[str, str]] = {}
    for reader in readers:
        for intent in reader.intents:
            if intent.name in intents:
                file, line = intent.source.rsplit(":", 1)
                first = intents[intent.name].source
                message = f"duplicate intent '{intent.name}' (first at {first})"
                problems.append(Problem(file, int(line), message))
            else:
                intents[intent.name] = intent
        for key, value in reader.settings.items():
            if isinstance(value, dict) and isinstance(settings.get(key), dict):
                settings[key] = {**settings[key], **value}
            else:
                settings[key] = value
        entities.update(reader.entities)
    synonyms = dict(settings.pop("synonyms", {}))
    for reader in readers:
        synonyms.update(reader.intent_synonyms)
    if "fallback" not in settings:
        if not problems:
            problems.append(
                Problem(str(readers[0].file), 1, "no 'settings: fallback:' in any rule file")
            )
        settings["fallback"] = (Response(""),)
    return RuleSet(
        intents=tuple(intents.values()),
        settings=Settings(synonyms=synonyms, **settings),
        entities=entities,
        files=tuple(str(r.file) for r in readers),
    )


class _FileReader:
    """Walks one file's YAML nodes, collecting problems instead of stopping at the first."""

    def __init__(self, file: Path, problems: list[Problem], later: list[_Later]) -> None:
        self.file = file
        self.problems = problems
        self.later = later
        self.intents: list[Intent] = []
        self.settings: dict[str, object] = {}
        self.entities: dict[str, dict[str, str]] = {}
        self.intent_synonyms: dict[str, str] = {}

    # -- plumbing ---------------------------------------------------------------------------

    def problem(self, node: yaml.Node | None, message: str) -> None:
        self.problems.append(Problem(str(self.file), _line(node), message))

    def check_later(self, node: yaml.Node, run: Callable) -> None:
        self.later.append(_Later(str(self.file), _line(node), run))

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

    # -- the file ---------------------------------------------------------------------------

    def read(self) -> None:
        try:
            root = yaml.compose(self.file.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
        except yaml.MarkedYAMLError as error:
            mark = error.problem_mark or error.context_mark
            line = mark.line + 1 if mark else 1
            self.problems.append(Problem(str(self.file), line, f"invalid YAML: {error.problem}"))
            return
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
            self.problems.append(Problem(str(self.file), 1, f"cannot read: {error}"))
            return
        if root is None:
            return
        top = self.mapping(root, "the file", {"intents", "settings", "entities"})
        self.entities = self.read_entities(top.get("entities"))
        self.intents = [
            i for n in self.sequence(top.get("intents"), "'intents'") if (i := self.intent(n))
        ]
        self.settings = self.read_settings(top.get("settings"))

    def read_entities(self, node: yaml.Node | None) -> dict[str, dict[str, str]]:
        result = {}
        for type_name, values in self.mapping(node, "entities").items():
            if not _NAME.match(type_name) or type_name in BUILTIN_SLOT_TYPES:
                self.problem(values, f"entity type '{type_name}': use a new lower-case name")
                continue
            table: dict[str, str] = {}
            for value, synonyms in self.mapping(values, f"entity '{type_name}'").items():
                words = [value] + [
                    s for s, _ in self.strings(synonyms, f"entity '{type_name}' {value}")
                ]
                for word in words:
                    table[" ".join(tokenize(word))] = value
            result[type_name] = table
        return result

    def read_synonyms(self, node: yaml.Node | None, what: str) -> dict[str, str]:
        """`canonical: [alternative, …]` as a map from each folded alternative to canonical."""
        result: dict[str, str] = {}
        for canonical, alternatives in self.mapping(node, what).items():
            target = " ".join(tokenize(canonical))
            for word, item in self.strings(alternatives, f"{what} {canonical}"):
                folded = " ".join(tokenize(word))
                if " " in folded or " " in target or not folded:
                    self.problem(item, f"{what}: synonyms are single words ('{word}')")
                else:
                    result[folded] = target
        return result

    # -- one intent -------------------------------------------------------------------------

    def intent(self, node: yaml.Node) -> Intent | None:
        fields = self.mapping(node, "intent", _INTENT_KEYS)
        name_node = fields.get("name")
        if not isinstance(name_node, yaml.ScalarNode) or not _NAME.match(name_node.value):
            self.problem(
                name_node or node, "intent needs a 'name' of lower-case letters, digits and _"
            )
            return None
        name = name_node.value
        what = f"intent '{name}'"
        slots = self.read_slots(fields.get("slots"), what)
        patterns = [
            self.pattern(text, item, what, slots)
            for text, item in self.strings(fields.get("patterns"), f"{what} patterns")
        ]
        examples, marks = self.examples(fields.get("examples"), f"{what} examples", slots)
        keywords = self.words_list(fields.get("keywords"), f"{what} keywords")
        if not (examples or patterns or keywords or "context" in fields):
            self.problem(node, f"{what} needs 'examples', 'patterns' or 'keywords' to be matched")
        self.intent_synonyms.update(self.read_synonyms(fields.get("synonyms"), f"{what} synonyms"))
        action = ""
        if "action" in fields:
            action = str(fields["action"].value)
            self.check_later(fields["action"], _needs_action(action, what))
        remember = tuple(
            text
            for text, item in self.strings(fields.get("remember"), f"{what} remember")
            if self.known_slot(text, item, slots, what)
        )
        local = set(slots)
        responses = self.responses(fields.get("responses"), f"{what} responses", local, action)
        otherwise = self.responses(fields.get("otherwise"), f"{what} otherwise", local, action)
        context = self.strings(fields.get("context"), f"{what} context")
        for text, item in context:
            self.check_later(item, _needs_intent(text, f"{what} context"))
        priority = 0
        if "priority" in fields:
            try:
                priority = int(fields["priority"].value)
            except (TypeError, ValueError):
                self.problem(fields["priority"], f"{what}: priority must be a whole number")
        return Intent(
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
            source=f"{self.file}:{node.start_mark.line + 1}",
        )

    def words_list(self, node: yaml.Node | None, what: str) -> list[str]:
        result = []
        for text, item in self.strings(node, what):
            if has_words(text):
                result.append(text)
            else:
                self.problem(item, f"{what}: '{text}' has no words or emoji to match")
        return result

    def examples(
        self, node: yaml.Node | None, what: str, slots: dict[str, Slot]
    ) -> tuple[list[str], list[tuple[Mark, ...]]]:
        """The examples as plain text, and the slot values marked in each."""
        texts, marks = [], []
        for raw, item in self.strings(node, what):
            plain, found = self.marked(raw, item, what, slots)
            if plain is None:
                continue
            if has_words(plain):
                texts.append(plain)
                marks.append(found)
            else:
                self.problem(item, f"{what}: '{raw}' has no words or emoji to match")
        return texts, marks

    def marked(
        self, raw: str, node: yaml.Node, what: str, slots: dict[str, Slot]
    ) -> tuple[str | None, tuple[Mark, ...]]:
        """`"weather in [Lisbon](city)"` -> `("weather in Lisbon", (Mark("city", 11, 17),))`;
        None (and a problem) for a malformed mark or one naming no slot of the intent."""
        plain, found, position = "", [], 0
        for match in MARKED_VALUE.finditer(raw):
            plain += raw[position : match.start()]
            value, name = match[1], match[2]
            if name not in slots:
                known = ", ".join(slots) or "none"
                self.problem(
                    node, f"{what}: '{match[0]}' marks no slot of this intent (slots: {known})"
                )
                return None, ()
            if not value.strip():
                self.problem(node, f"{what}: '{match[0]}' marks an empty value")
                return None, ()
            found.append(Mark(name, len(plain), len(plain) + len(value)))
            plain += value
            position = match.end()
        plain += raw[position:]
        if "](" in plain:
            self.problem(node, f"{what}: '{raw}': mark slot values as [value](slot)")
            return None, ()
        return plain, tuple(found)

    def known_slot(self, name: str, node: yaml.Node, slots: dict[str, Slot], what: str) -> bool:
        if name in slots:
            return True
        self.problem(node, f"{what}: '{name}' is not one of its slots")
        return False

    def read_slots(self, node: yaml.Node | None, what: str) -> dict[str, Slot]:
        slots: dict[str, Slot] = {}
        for name, spec in self.mapping(node, f"{what} slots").items():
            if isinstance(spec, yaml.ScalarNode):
                slot_type, ask, required = spec.value or "text", "", False
            else:
                fields = self.mapping(
                    spec, f"{what} slot '{name}'", {"type", "ask", "required", "refuse"}
                )
                slot_type = fields["type"].value if "type" in fields else "text"
                ask = fields["ask"].value if "ask" in fields else ""
                required = "required" in fields and str(fields["required"].value).lower() == "true"
                if required and not ask:
                    self.problem(
                        spec, f"{what} slot '{name}' is required but has no 'ask' question"
                    )
            self.check_type(slot_type, spec, what)
            refuse = frozenset()
            if not isinstance(spec, yaml.ScalarNode) and "refuse" in fields:
                words = self.strings(fields["refuse"], f"{what} slot '{name}' refuse")
                refuse = frozenset(w for text, _ in words for w in tokenize(text))
            slots[name] = Slot(name, slot_type, ask, refuse)
        return slots

    def check_type(self, slot_type: str, node: yaml.Node, what: str) -> None:
        def run(rules: RuleSet, _actions: object) -> str | None:
            if slot_type in BUILTIN_SLOT_TYPES or slot_type in rules.entities:
                return None
            known = ", ".join(sorted(BUILTIN_SLOT_TYPES | set(rules.entities)))
            return f"{what}: unknown slot type '{slot_type}' (known: {known})"

        self.check_later(node, run)

    def pattern(
        self, text: str, node: yaml.Node, what: str, slots: dict[str, Slot]
    ) -> Pattern | None:
        parts: list[Literal | SlotRef] = []
        position = 0
        for match in PLACEHOLDER.finditer(text):
            parts += [Literal(w, stem(w)) for w in tokenize(text[position : match.start()])]
            name, inline_type = match[1], match[2]
            declared = slots.get(name)
            if declared is None:
                declared = slots[name] = Slot(name, inline_type or "text")
                self.check_type(declared.type, node, f"{what} pattern '{text}'")
            elif inline_type and inline_type != declared.type:
                self.problem(
                    node,
                    f"{what} pattern '{text}': slot '{name}' is declared as {declared.type}, not {inline_type}",
                )
            parts.append(SlotRef(name, declared.type))
            position = match.end()
        parts += [Literal(w, stem(w)) for w in tokenize(text[position:])]
        if not any(isinstance(p, Literal) for p in parts):
            self.problem(node, f"{what} pattern '{text}' needs at least one word besides slots")
            return None
        if "{" in PLACEHOLDER.sub("", text) or "}" in PLACEHOLDER.sub("", text):
            self.problem(node, f"{what} pattern '{text}': write slots as {{name}} or {{name:type}}")
            return None
        return Pattern(text, tuple(parts))

    # -- responses --------------------------------------------------------------------------

    def responses(
        self, node: yaml.Node | None, what: str, local: set[str], action: str = ""
    ) -> tuple[Response, ...]:
        one = isinstance(node, yaml.ScalarNode | yaml.MappingNode)
        items = [node] if one else self.sequence(node, what)
        return tuple(self.response(item, what, local, action) for item in items)

    def response(self, item: yaml.Node, what: str, local: set[str], action: str) -> Response:
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
            self.check_template(text, text_node, what, local, action)
        return Response(texts[0][0] if texts else "", tuple(url for url, _ in media))

    def check_template(
        self, text: str, node: yaml.Node, what: str, local: set[str], action: str
    ) -> None:
        names = set(TEMPLATE_VARIABLE.findall(text)) - BUILTIN_VARIABLES - local
        if not names:
            return

        def run(rules: RuleSet, actions: Mapping[str, frozenset[str]]) -> str | None:
            known = (
                BUILTIN_VARIABLES
                | local
                | rules.memory_variables
                | actions.get(action, frozenset())
            )
            unknown = sorted(names - known)
            if unknown:
                return f"{what}: unknown template variable '{{{unknown[0]}}}' (known: {', '.join(sorted(known))})"
            return None

        self.check_later(node, run)

    # -- settings ---------------------------------------------------------------------------

    def read_settings(self, node: yaml.Node | None) -> dict[str, object]:
        result: dict[str, object] = {}
        for key, value in self.mapping(node, "settings", _SETTINGS).items():
            what = f"settings {key}"
            if key in _RESPONSE_SETTINGS:
                responses = self.responses(value, what, _SETTING_VARIABLES.get(key, set()))
                if responses:
                    result[key] = responses
                else:
                    self.problem(value, f"{what}: give at least one response")
            elif key in _LIST_SETTINGS:
                result[key] = tuple(text for text, _ in self.strings(value, what))
                if key == "menu":
                    for text, item in self.strings(value, what):
                        self.check_later(item, _needs_intent(text, what))
            elif key == "substitutions":
                result[key] = {
                    " ".join(tokenize(k)): " ".join(tokenize(v.value))
                    for k, v in self.mapping(value, what).items()
                }
            elif key == "synonyms":
                result[key] = self.read_synonyms(value, what)
            elif key in {"location_intent", "link_intent"}:
                result[key] = name = str(value.value)
                self.check_later(value, _needs_intent(name, what))
            else:
                number = self.number(value, what, 0, 1)
                if number is not None:
                    result[key] = number
        return result


def _needs_intent(name: str, what: str) -> Callable:
    def run(rules: RuleSet, _actions: object) -> str | None:
        return None if rules.intent(name) else f"{what}: no intent named '{name}'"

    return run


def _needs_action(name: str, what: str) -> Callable:
    def run(_rules: RuleSet, actions: Mapping[str, frozenset[str]]) -> str | None:
        if name in actions or name in BUILTIN_ACTIONS:
            return None
        known = ", ".join(sorted(set(actions) | BUILTIN_ACTIONS))
        return f"{what}: unknown action '{name}' (known: {known})"

    return run


def _line(node: yaml.Node | None) -> int:
    return node.start_mark.line + 1 if node is not None else 1
