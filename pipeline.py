"""One message through the bot: load the sender's state, run the engine, keep the new state.

Every channel calls `Pipeline.handle`, so WhatsApp, the terminal and (later) the web chat
share one engine and one memory.
"""

from __future__ import annotations

from typing import Protocol

from engine import ConversationState, Engine, Message, Turn


class StateStore(Protocol):
    def load(self, sender: str) -> ConversationState: ...

    def save(self, sender: str, state: ConversationState) -> None: ...

    def delete(self, sender: str) -> None: ...


class Pipeline:
    """The engine plus the memory it needs between messages."""

    def __init__(self, engine: Engine, store: StateStore) -> None:
        self.engine = engine
        self.store = store

    def handle(self, message: Message) -> Turn:
        turn = self.engine.respond(self.store.load(message.sender), message)
        if turn.forget:
            self.store.delete(message.sender)
        else:
            self.store.save(message.sender, turn.state)
        return turn
