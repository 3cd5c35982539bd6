"""Where web-chat frames go: to every open socket of a user, whichever worker or host holds
it. `LocalHub` serves one process (memory and SQLite stores); `channels.redis_hub.RedisHub`
publishes through Redis pub/sub so a frame produced on one host reaches a browser connected
to another."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any, Protocol

Deliver = Callable[[str], None]


class Hub(Protocol):
    def publish(self, user: str, frame: dict[str, Any]) -> None:
        """Send `frame` to every socket `user` has open."""

    def subscribe(self, user: str, deliver: Deliver) -> Callable[[], None]:
        """Call `deliver(text)` for each frame published to `user`; returns unsubscribe."""


class LocalHub:
    """Frames reach the sockets of this process only."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: dict[str, set[Deliver]] = {}

    def publish(self, user: str, frame: dict[str, Any]) -> None:
        self.dispatch(user, json.dumps(frame, ensure_ascii=False))

    def dispatch(self, user: str, text: str) -> None:
        with self._lock:
            targets = list(self._subscribers.get(user, ()))
        for deliver in targets:
            deliver(text)

    def subscribe(self, user: str, deliver: Deliver) -> Callable[[], None]:
        with self._lock:
            self._subscribers.setdefault(user, set()).add(deliver)

        def unsubscribe() -> None:
            with self._lock:
                subscribers = self._subscribers.get(user, set())
                subscribers.discard(deliver)
                if not subscribers:
                    self._subscribers.pop(user, None)

        return unsubscribe
