"""What tests read back from a store, through the same `turn` the pipeline uses."""

from __future__ import annotations

from conversation import ConversationState, Reply
from memory import Exchange, Store


def kept_state(store: Store, sender: str) -> ConversationState:
    """The sender's state as the next message would find it."""
    with store.turn(sender) as turn:
        return turn.state


def recorded(store: Store, sender: str, message_id: str) -> tuple[Reply, ...] | None:
    """The replies recorded for the message id, or None if it is new."""
    with store.turn(sender, message_id) as turn:
        return turn.recorded


def counted(store: Store, sender: str) -> int:
    """The sender's messages counted in the current rate-limit window."""
    with store.turn(sender) as turn:
        return turn.counted


def commit(store: Store, sender: str, state: ConversationState, exchange: Exchange) -> bool:
    """Keep a turn's state and exchange, as the pipeline does; False if the message id was
    recorded already (then nothing changed)."""
    with store.turn(sender, exchange.message_id) as turn:
        if turn.recorded is not None:
            return False
        turn.keep(state, exchange)
    return turn.duplicate is None
