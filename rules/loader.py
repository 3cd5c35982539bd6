"""Read rule files (YAML) into a `RuleSet`, naming the file and line of every problem.

Each file is read on its own (`rules.nodes` and the readers of its parts), collecting every
problem as `file:line: message`: a rule author gets `rules/my.yml:12: intent 'weather':
unknown key 'exmaples'` instead of a traceback. The files are then merged, and the checks that
need every file (slot types, memory variables, context and menu names, actions) run, still
naming file and line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from conversation import Skill
from rules.bulk import collector_paused
from rules.checks import Later
from rules.intents import read_intent
from rules.model import Intent, Problem, Response, RuleError, RuleSet, Settings
from rules.nodes import Reader
from rules.responses import TEMPLATE_VARIABLE
from rules.settings import read_settings
from rules.synonyms import read_entities

# The engine fills templates with the same pattern the loader checks them with.
__all__ = ["DEMO_RULES", "TEMPLATE_VARIABLE", "load_rules", "rule_files"]

DEMO_RULES = Path(__file__).resolve().parent / "demo"


@dataclass
class _FileRules:
    """What one file declares, before it is merged with the others."""

    file: Path
    intents: list[Intent] = field(default_factory=list)
    settings: dict[str, object] = field(default_factory=dict)
    entities: dict[str, dict[str, str]] = field(default_factory=dict)
    intent_synonyms: dict[str, str] = field(default_factory=dict)


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
    later: list[Later] = []
    with collector_paused():
        read = [_read_file(Reader(f, problems, later)) for f in files]
        rules = _merge(read, problems)
    for check in later:
        message = check.run(rules, outputs)
        if message:
            problems.append(Problem(check.file, check.line, message))
    if problems:
        raise RuleError(sorted(problems, key=lambda p: (p.file, p.line)))
    return rules


def _read_file(reader: Reader) -> _FileRules:
    found = _FileRules(reader.file)
    root = reader.root()
    if root is None:
        return found
    top = reader.mapping(root, "the file", {"intents", "settings", "entities"})
    found.entities = read_entities(reader, top.get("entities"))
    for node in reader.sequence(top.get("intents"), "'intents'"):
        if read := read_intent(reader, node):
            intent, synonyms = read
            found.intents.append(intent)
            found.intent_synonyms.update(synonyms)
    found.settings = read_settings(reader, top.get("settings"))
    return found


def _merge(files: list[_FileRules], problems: list[Problem]) -> RuleSet:
    intents: dict[str, Intent] = {}
    settings: dict[str, object] = {}
    entities: dict[str, dict[str, str]] = {}
    for found in files:
        for intent in found.intents:
            if intent.name in intents:
                file, line = intent.source.rsplit(":", 1)
                first = intents[intent.name].source
                message = f"duplicate intent '{intent.name}' (first at {first})"
                problems.append(Problem(file, int(line), message))
            else:
                intents[intent.name] = intent
        for key, value in found.settings.items():
            if isinstance(value, dict) and isinstance(settings.get(key), dict):
                settings[key] = {**settings[key], **value}
            else:
                settings[key] = value
        entities.update(found.entities)
    synonyms = dict(settings.pop("synonyms", {}))
    for found in files:
        synonyms.update(found.intent_synonyms)
    if "fallback" not in settings:
        if not problems:
            problems.append(
                Problem(str(files[0].file), 1, "no 'settings: fallback:' in any rule file")
            )
        settings["fallback"] = (Response(""),)
    return RuleSet(
        intents=tuple(intents.values()),
        settings=Settings(synonyms=synonyms, **settings),
        entities=entities,
        files=tuple(str(r.file) for r in files),
    )
