"""The words a rule set uses: what typo correction may correct towards."""

from __future__ import annotations

from nlp import tokenize
from rules import RuleSet
from rules.model import Literal


def vocabulary(rules: RuleSet) -> list[str]:
    """Every folded word of the examples (but their marked values), keywords, patterns, entities, synonyms and
    substitutions, with repeats (frequency breaks ties between corrections)."""
    texts: list[str] = []
    for intent in rules.intents:
        marks = intent.marks or ((),) * len(intent.examples)
        for text, marked in zip(intent.examples, marks, strict=True):
            # Marked values ("Lisbon", "Ada Lovelace") are samples, not words to correct to.
            for mark in sorted(marked, key=lambda m: -m.start):
                text = text[: mark.start] + " " + text[mark.end :]
            texts.append(text)
        texts += intent.keywords
        texts += [
            p.word for pattern in intent.patterns for p in pattern.parts if isinstance(p, Literal)
        ]
    for table in rules.entities.values():
        texts += list(table)
    settings = rules.settings
    texts += list(settings.synonyms.values())
    texts += list(settings.substitutions.values())
    texts += list(settings.cancel) + list(settings.affirm)
    return [word for text in texts for word in tokenize(text)]
