"""What the engine remembers about one conversation between two messages.

The state is a plain value: the engine returns a new one each turn and the caller decides
where to keep it (in memory today; a shared store in Part 3). `to_dict`/`from_dict` give the
JSON-safe form a store persists.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class ConversationState:
    """One user's conversation: the last intent, remembered variables and a turn count."""

    last_intent: str | None = None
    variables: dict[str, str] = field(default_factory=dict)
    turns: int = 0

    def next_turn(self, intent: str | None, **variables: str) -> ConversationState:
        """The state after one more turn that matched `intent` and set `variables`."""
        return replace(
            self,
            last_intent=intent,
            variables={**self.variables, **variables},
            turns=self.turns + 1,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "last_intent": self.last_intent,
            "variables": dict(self.variables),
            "turns": self.turns,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConversationState:
        return cls(
            last_intent=data.get("last_intent"),
            variables={str(k): str(v) for k, v in (data.get("variables") or {}).items()},
            turns=int(data.get("turns") or 0),
        )
