"""An in-process conversation store: a dict behind a lock. Lost on restart, not shared."""

from __future__ import annotations

import threading

from engine import ConversationState


class MemoryStore:
    """Keeps each sender's `ConversationState` in this process only."""

    def __init__(self) -> None:
        self._states: dict[str, dict] = {}
        self._lock = threading.Lock()

    def load(self, sender: str) -> ConversationState:
        with self._lock:
            data = self._states.get(sender)
        return ConversationState.from_dict(data) if data else ConversationState()

    def save(self, sender: str, state: ConversationState) -> None:
        with self._lock:
            self._states[sender] = state.to_dict()

    def delete(self, sender: str) -> None:
        with self._lock:
            self._states.pop(sender, None)

    def __contains__(self, sender: str) -> bool:
        with self._lock:
            return sender in self._states
