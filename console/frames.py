"""The console's live frames, JSON published to the hub key "console" (`CONSOLE_KEY`) and
sent to every open console, whichever host it is on:

- `{"type": "message", ...}`: a user's message as the bot handled it, or an operator's
  (`kind` "user" or "operator"): who (`sender`, `ref`, `label`, `channel`), `time`, `text`,
  `intent`, `confidence`, the `replies` sent, the `message_id`, `by` (the operator) and,
  when known, `with_person` and `human_since`;
- `{"type": "handoff", ...}`: a conversation was just handed to a person;
- `{"type": "returned", ...}`: it went back to the bot (`by` an operator, or "" when idle),
  with the words the user was sent;
- `{"type": "forgotten", "sender", "ref"}`: the user had everything about them deleted.

Sent by the socket itself (`console.live`): `{"type": "list", "rows"}` (the list again) and
`{"type": "delivery", ...}` (a message's delivery status changed).
"""

from __future__ import annotations

from typing import Any

from console.refs import label, ref_for
from conversation import ConversationState, Message
from memory import Exchange
from pipeline import Handled


def _who(sender: str) -> dict[str, Any]:
    return {
        "sender": sender,
        "ref": ref_for(sender),
        "label": label(sender),
        "channel": sender.partition(":")[0],
    }


def _person(state: ConversationState | None) -> dict[str, Any]:
    if state is None:
        return {}
    return {"with_person": state.with_person, "human_since": state.human_since}


def user_frame(message: Message, handled: Handled, at: float) -> dict[str, Any]:
    """A user's message, as the bot just handled it."""
    turn = handled.turn
    understanding = turn.understanding if turn is not None else None
    return {
        "type": "message",
        "kind": "user",
        **_who(message.sender),
        "time": at,
        "text": message.text,
        "intent": understanding.intent if understanding else None,
        "confidence": round(understanding.confidence, 2) if understanding else None,
        "replies": [reply.text for reply in handled.replies],
        "message_id": message.message_id,
        "by": "",
        **_person(turn.state if turn is not None else None),
    }


def exchange_frame(sender: str, exchange: Exchange, state: ConversationState) -> dict[str, Any]:
    """An operator's message, kept as `exchange`."""
    return {
        "type": "message",
        "kind": "operator",
        **_who(sender),
        "time": exchange.at,
        "text": "",
        "intent": exchange.intent,
        "confidence": exchange.confidence,
        "replies": [reply.text for reply in exchange.replies],
        "message_id": exchange.message_id,
        "by": exchange.text,
        **_person(state),
    }


def handoff_frame(sender: str, state: ConversationState) -> dict[str, Any]:
    return {"type": "handoff", **_who(sender), "time": state.human_since, **_person(state)}


def returned_frame(sender: str, exchange: Exchange, state: ConversationState) -> dict[str, Any]:
    return {
        "type": "returned",
        **_who(sender),
        "time": exchange.at,
        "by": exchange.text,
        "replies": [reply.text for reply in exchange.replies],
        "message_id": exchange.message_id,
        **_person(state),
    }


def forgotten_frame(sender: str) -> dict[str, Any]:
    return {"type": "forgotten", "sender": sender, "ref": ref_for(sender)}
