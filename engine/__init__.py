"""The conversation engine: (conversation state, Message) -> (new state, replies).

Nothing here knows about Flask, Twilio, storage or HTTP, so every rule and every turn can be
tested with plain Python values.
"""

from engine.core import Engine, NeedsTime, Turn
from engine.message import Button, Location, Media, Message, Reply
from engine.state import ConversationState

__all__ = [
    "Button",
    "ConversationState",
    "Engine",
    "Location",
    "Media",
    "Message",
    "NeedsTime",
    "Reply",
    "Turn",
]
