"""The conversation engine: (conversation state, Message) -> (new state, replies).

Nothing here knows about Flask, Twilio, storage, HTTP or the skills: it imports only the
plain values in `conversation`, the rule language in `rules` and the text tools in `nlp`,
so every rule and every turn can be tested with plain Python values. The actions the rules
name are handed in (`Engine(rules, actions=...)`).

A turn has two steps: `plan` understands the message and decides the answer, saying as a
value whether an action that may wait is still to run (`Plan.may_wait`); `carry_out` runs
it. `respond` does both.
"""

from conversation import Button, ConversationState, Location, Media, Message, Reply
from engine.core import Engine
from engine.results import Plan, Turn

__all__ = [
    "Button",
    "ConversationState",
    "Engine",
    "Location",
    "Media",
    "Message",
    "Plan",
    "Reply",
    "Turn",
]
