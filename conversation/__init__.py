"""The plain values every layer shares: what came in (`Message`), what goes out (`Reply`),
what is remembered between messages (`ConversationState`), and the contract of an action
(`ActionContext` in, `Outcome` out, described by a `Skill`).

Nothing here imports anything of the bot's, so channels, the pipeline, the engine, the
skills and the stores can all depend on these values without depending on each other.
"""

from conversation.actions import Action, ActionContext, Outcome, Skill
from conversation.documents import DOCUMENT_TYPES, UserDocument, is_document
from conversation.message import Button, Location, Media, Message, Reply
from conversation.state import ConversationState, Pending

__all__ = [
    "DOCUMENT_TYPES",
    "Action",
    "ActionContext",
    "Button",
    "ConversationState",
    "Location",
    "Media",
    "Message",
    "Outcome",
    "Pending",
    "Reply",
    "Skill",
    "UserDocument",
    "is_document",
]
