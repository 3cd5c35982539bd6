"""Actions: Python functions that rule files name with `action:`.

An action gets the message, the filled slots and the user's memory (`ActionContext`), and
returns an `Outcome`: variables for the intent's response templates, media to send, and
whether to forget the user. `skills.live` calls third-party APIs (one module per API) and
falls back to `skills.offline`, the answers that need no network, when an API fails or no
`services` are given.

The engine does not import this package: `bot.py` (and the rule authors' tools) hand
`shipped()` to the rule loader and the engine.
"""

from __future__ import annotations

from conversation import Skill
from skills import live, offline, reading
from skills.registry import action, registered

__all__ = ["action", "live", "offline", "reading", "shipped"]


def shipped() -> dict[str, Skill]:
    """The actions shipped with the bot, by name."""
    return registered()
