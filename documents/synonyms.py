"""The operator's synonym table for the knowledge base: `synonyms.yml` in its folder.

Each entry is a set of words that customers use for the same thing, written as the rule
files write theirs, `word: [other, other, …]`:

    delivery: [postage, shipping]
    accessibility: [wheelchair, step-free]

A question word from a set stands for every word of the set that the documents use, so
"how much is postage" finds the *Delivery* page. Words are single (a hyphenated word counts
as one) and are matched as retrieval matches them, by stem, so "ship" also covers
"shipping". A problem in the file is a `synonyms.yml:LINE: problem` line and the rest is read.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from documents.terms import STOP_STEMS, term
from nlp.text import tokens

FILE_NAME = "synonyms.yml"


def _word(text: str) -> str | None:
    """The one folded word `text` is, or None: "step-free" is "stepfree"."""
    found = [token.norm for token in tokens(text) if token.norm.isalnum()]
    if len(found) > 1 and "-" in text and " " not in text.strip():
        return "".join(found)
    return found[0] if len(found) == 1 else None


def load_synonyms(path: Path) -> tuple[dict[str, frozenset[str]], list[str]]:
    """The table in `path` (each word's stem to the stems of every set it is in) and the
    problems found; a missing file is an empty table."""
    if not path.is_file():
        return {}, []
    name = path.name
    try:
        root = yaml.compose(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        return {}, [f"{name}: unreadable ({error})"]
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        return {}, [f"{name}{line}: not valid YAML ({getattr(error, 'problem', error)})"]
    if root is None:
        return {}, []
    if not isinstance(root, yaml.MappingNode):
        return {}, [f"{name}:{root.start_mark.line + 1}: expected 'word: [other, …]' entries"]
    table: dict[str, set[str]] = {}
    problems = []
    for key, value in root.value:
        line = key.start_mark.line + 1
        items = value.value if isinstance(value, yaml.SequenceNode) else None
        if not isinstance(key, yaml.ScalarNode) or items is None:
            problems.append(f"{name}:{line}: expected 'word: [other, …]'")
            continue
        group = set()
        for node in [key, *items]:
            text = node.value if isinstance(node, yaml.ScalarNode) else None
            found = _word(text) if isinstance(text, str) else None
            at = f"{name}:{node.start_mark.line + 1}"
            if found is None:
                problems.append(f"{at}: {text!r} is not one word; synonyms are single words")
            elif term(found) in STOP_STEMS:
                problems.append(f"{at}: {text!r} is a stop word, never looked up")
            else:
                group.add(term(found))
        for found in group if len(group) > 1 else ():
            table.setdefault(found, set()).update(group)
    return {found: frozenset(group) for found, group in table.items()}, problems
