"""Tools for rule authors (`python -m ruletools check | explain | test | evaluate`): the rule
files loaded with the shipped skills, and the engine run over them.

These sit above the engine and the skills, as `bot.py` does, and compose them the same way.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from engine import Engine
from rules import DEMO_RULES, RuleSet, load_rules
from skills import shipped


def load(path: str | Path = DEMO_RULES) -> RuleSet:
    """The rule files at `path`, checked against the shipped skills."""
    return load_rules(path, shipped())


def engine_for(rules: RuleSet, rng: random.Random | None = None, **options: Any) -> Engine:
    """An engine over `rules` with the shipped skills (or the `actions` given), offline
    unless `services` are given."""
    options.setdefault("actions", shipped())
    return Engine(rules, rng, **options)
