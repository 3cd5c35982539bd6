"""The conversation list as data: one row per conversation, for the page, its JSON and the
socket's "list" frames."""

from __future__ import annotations

from typing import Any

from console.context import Console
from console.people import OPERATOR, channel_of
from console.refs import label, ref_for
from memory import Conversation

LIST_LIMIT = 200  # conversations on the list: those with a person first


def row(conversation: Conversation) -> dict[str, Any]:
    """A line of the list."""
    sender = conversation.sender
    by_operator = conversation.channel == OPERATOR
    return {
        "sender": sender,
        "ref": ref_for(sender),
        "label": label(sender),
        "channel": channel_of(sender),
        "last_at": conversation.last_at,
        # An operator's exchange names the operator in its text (see console.people).
        "last_text": "" if by_operator else conversation.last_text,
        "last_by": conversation.last_text if by_operator else "",
        "by_operator": by_operator,
        "human_since": conversation.human_since,
        "with_person": conversation.with_person,
        "messages": conversation.messages,
    }


def rows(console: Console) -> list[dict[str, Any]]:
    return [row(c) for c in console.store.conversations(LIST_LIMIT)]
