"""Rule files (YAML) and the loader that turns them into a `RuleSet` the engine matches on."""

from rules.loader import DEMO_RULES, load_rules
from rules.model import Intent, Problem, Response, RuleError, RuleSet

__all__ = ["DEMO_RULES", "Intent", "Problem", "Response", "RuleError", "RuleSet", "load_rules"]
