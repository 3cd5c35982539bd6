"""Rule files (YAML) and the loader that turns them into a `RuleSet` the engine matches on."""

from rules.loader import DEMO_RULES, load_rules
from rules.model import Intent, Pattern, Problem, Response, RuleError, RuleSet, Settings, Slot

__all__ = [
    "DEMO_RULES",
    "Intent",
    "Pattern",
    "Problem",
    "Response",
    "RuleError",
    "RuleSet",
    "Settings",
    "Slot",
    "load_rules",
]
