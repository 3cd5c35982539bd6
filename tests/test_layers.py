"""The code's layers: channels -> pipeline -> engine -> rules / nlp, with memory and the skills
beside, and the plain values in `conversation` under everything. Read from the source, so a
new import that breaks the order fails here, wherever it sits in a module."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UNITS = (
    "bot", "channels", "config", "conversation", "devtoken", "documents", "engine", "logs",
    "memory", "metrics", "nlp", "pipeline", "rules", "ruletools", "skills", "startup",
)  # fmt: skip

# What each part of the bot may import of the others'.
ALLOWED = {
    "conversation": set(),
    "logs": set(),
    "config": {"rules", "skills"},  # the settings name their defaults
    "nlp": set(),
    "documents": {"nlp"},  # reading, summarising and retrieval: a leaf beside the skills
    "rules": {"conversation", "nlp"},
    "engine": {"conversation", "nlp", "rules"},
    "skills": {"conversation", "documents", "nlp"},
    "memory": {"conversation"},
    "pipeline": {"conversation", "engine", "memory"},
    "metrics": {"conversation", "logs"},
    "channels": {"conversation", "engine", "logs", "memory", "metrics", "pipeline"},
    "ruletools": {"conversation", "documents", "engine", "nlp", "rules", "skills"},
    "devtoken": {"config"},  # its errors are settings' errors
    "startup": {"config", "memory", "rules"},  # the errors it reports
    "bot": set(UNITS) - {"bot", "ruletools"},
}

# Imports placed inside a function on purpose, each for its cost, never to dodge a circle.
LAZY = {
    ("bot", "channels.redis_hub"),  # redis-py only for bots that use Redis
    ("memory", "memory.redis_store"),  # the same
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_modules() -> dict[str, Path]:
    found = {}
    for unit in UNITS:
        if (ROOT / f"{unit}.py").is_file():
            found[unit] = ROOT / f"{unit}.py"
        for path in sorted((ROOT / unit).rglob("*.py")) if (ROOT / unit).is_dir() else ():
            found[module_name(path)] = path
    return found


def imports_of(path: Path, modules: dict[str, Path]) -> list[tuple[str, bool]]:
    """The project modules `path` imports, each with whether the import sits in a function."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = (
        module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    )
    found = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            names: list[str] = []
            if isinstance(child, ast.Import):
                names = [alias.name for alias in child.names]
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    base = ".".join(
                        package.split(".")[: len(package.split(".")) - child.level + 1]
                        + ([base] if base else [])
                    )
                names = [
                    f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                    for a in child.names
                ]
            for name in names:
                while name and name not in modules:
                    name = name.rpartition(".")[0]
                if name:
                    found.append((name, in_function))
            visit(child, inner)

    visit(tree, False)
    return found


def graph() -> tuple[dict[str, set[str]], set[tuple[str, str]]]:
    modules = source_modules()
    edges: dict[str, set[str]] = {name: set() for name in modules}
    lazy = set()
    for name, path in modules.items():
        for target, in_function in imports_of(path, modules):
            if target != name:
                edges[name].add(target)
            if in_function:
                lazy.add((name, target))
    return edges, lazy


def unit(module: str) -> str:
    return module.split(".", 1)[0]


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(edges[node]):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            connect(node)
    return found


def test_there_is_no_import_circle():
    edges, _ = graph()
    assert cycles(edges) == []


def test_each_part_imports_only_the_layers_below_it():
    edges, _ = graph()
    wrong = sorted(
        f"{source} imports {target}"
        for source, targets in edges.items()
        for target in targets
        if unit(target) != unit(source) and unit(target) not in ALLOWED[unit(source)]
    )
    assert wrong == []


def test_imports_inside_functions_are_only_the_lazy_ones_for_cost():
    _, lazy = graph()
    assert {(unit(source), target) for source, target in lazy} == LAZY


def test_the_engine_runs_without_flask_storage_http_or_metrics(tmp_path):
    rules = tmp_path / "rules.yml"
    rules.write_text(
        "settings:\n  fallback: [Sorry?]\n"
        "intents:\n  - name: greet\n    examples: [hello, hi there]\n    responses: [Hi!]\n"
    )
    check = (
        "import sys\n"
        "from engine import ConversationState, Engine, Message\n"
        "from rules import load_rules\n"
        f"engine = Engine(load_rules({str(rules)!r}))\n"
        "turn = engine.respond(ConversationState(), Message('test', 'a', body='hello'))\n"
        "print(turn.replies[0].text)\n"
        "heavy = ('flask', 'requests', 'redis', 'prometheus_client', 'memory', 'skills',"
        " 'pipeline', 'twilio', 'sqlite3')\n"
        "print(sorted(name for name in heavy if name in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.splitlines() == ["Hi!", "[]"]
