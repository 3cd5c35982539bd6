"""What the engine remembers about one conversation between two messages.

The state is a plain value: the engine returns a new one each turn and the caller decides
where to keep it. `to_dict`/`from_dict` give the JSON-safe form a store persists.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class Pending:
    """An intent waiting for a required slot: what is filled, what was asked, how often."""

    intent: str
    slots: dict[str, Any]
    asking: str
    attempts: int = 0


@dataclass(frozen=True)
class ConversationState:
    """One user's conversation: memory variables, the last intent, and open questions."""

    last_intent: str | None = None
    variables: dict[str, str] = field(default_factory=dict)
    turns: int = 0
    pending: Pending | None = None
    suggestion: str | None = None
    menu_open: bool = False
    choices: tuple[str, ...] = ()  # intents offered in a clarifying question
    asked: str = ""  # the message that raised it, for the chosen intent's slots
    # A person instead of the bot: since when the conversation is with a person (0: the bot
    # answers) and when a person last wrote in it (or took it), for the return to the bot
    # when they have been quiet too long; the user's own messages do not count.
    human_since: float = 0.0
    human_seen: float = 0.0
    recipient: str = ""  # the bot's address the user last wrote to (a person replies from it)
    offered_person: bool = False  # the bot just asked "Would you like me to get a person?"
    # How the user is doing, for noticing frustration: fallbacks in a row, and how many times
    # in a row they sent the same words (`said`, a short hash of the last message's words).
    fallbacks: int = 0
    said: str = ""
    repeats: int = 0

    @property
    def with_person(self) -> bool:
        """Whether a person, not the bot, answers this conversation now."""
        return self.human_since > 0

    def next_turn(self, intent: str | None, **changes: Any) -> ConversationState:
        """The state after one more turn that ended on `intent`; open questions are closed
        unless `changes` sets them again."""
        values = {
            "pending": None,
            "suggestion": None,
            "menu_open": False,
            "choices": (),
            "asked": "",
            "offered_person": False,
            **changes,
        }
        return replace(self, last_intent=intent, turns=self.turns + 1, **values)

    def to_dict(self) -> dict[str, Any]:
        # Spelled out: dataclasses.asdict deep-copies, which cost more than the rest of the
        # store's work for a message.
        pending = self.pending
        return {
            "last_intent": self.last_intent,
            "variables": dict(self.variables),
            "turns": self.turns,
            "pending": None
            if pending is None
            else {
                "intent": pending.intent,
                "slots": dict(pending.slots),
                "asking": pending.asking,
                "attempts": pending.attempts,
            },
            "suggestion": self.suggestion,
            "menu_open": self.menu_open,
            "choices": self.choices,
            "asked": self.asked,
            "human_since": self.human_since,
            "human_seen": self.human_seen,
            "recipient": self.recipient,
            "offered_person": self.offered_person,
            "fallbacks": self.fallbacks,
            "said": self.said,
            "repeats": self.repeats,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConversationState:
        pending = data.get("pending")
        return cls(
            last_intent=data.get("last_intent"),
            variables={str(k): str(v) for k, v in (data.get("variables") or {}).items()},
            turns=int(data.get("turns") or 0),
            pending=Pending(**pending) if pending else None,
            suggestion=data.get("suggestion"),
            menu_open=bool(data.get("menu_open")),
            choices=tuple(str(c) for c in data.get("choices") or ()),
            asked=str(data.get("asked") or ""),
            human_since=float(data.get("human_since") or 0.0),
            human_seen=float(data.get("human_seen") or 0.0),
            recipient=str(data.get("recipient") or ""),
            offered_person=bool(data.get("offered_person")),
            fallbacks=int(data.get("fallbacks") or 0),
            said=str(data.get("said") or ""),
            repeats=int(data.get("repeats") or 0),
        )
