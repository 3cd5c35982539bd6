"""The words a rule set uses: what typo correction may correct towards."""

from __future__ import annotations

from collections.abc import Mapping

from nlp import Token, tokenize
from rules import RuleSet
from rules.model import Literal


def vocabulary(rules: RuleSet, tokenized: Mapping[str, tuple[Token, ...]]) -> list[str]:
    """Every folded word of the examples (but their marked values), keywords, patterns, entities, synonyms and
    substitutions, with repeats (frequency breaks ties between corrections). `tokenized`
    holds each example's tokens."""
    words: list[str] = []
    texts: list[str] = []
    for intent in rules.intents:
        marks = intent.marks or ((),) * len(intent.examples)
        for text, marked in zip(intent.examples, marks, strict=True):
            # Marked values ("Lisbon", "Ada Lovelace") are samples, not words to correct to.
            words += [
                token.norm
                for token in tokenized[text]
                if not any(m.start <= token.start < m.end for m in marked)
            ]
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
    return words + [word for text in texts for word in tokenize(text)]
