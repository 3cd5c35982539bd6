"""Where web-chat frames go: to every open socket of a user, whichever worker or host holds
it. `LocalHub` serves one process (memory and SQLite stores); `RedisHub` publishes through
Redis pub/sub so a frame produced on one host reaches a browser connected to another."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import redis

log = logging.getLogger("bot.hub")

Deliver = Callable[[str], None]
CHANNEL = "bot:chat:"


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


class RedisHub(LocalHub):
    """Frames go through Redis; one listener thread per process hands them to local sockets.
    If Redis cannot take a frame, it is still delivered to this process's sockets."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self.client = redis.Redis.from_url(
            url, decode_responses=True, socket_timeout=0.5, socket_connect_timeout=0.5
        )
        self._listener_pid = 0
        self._start_lock = threading.Lock()

    def publish(self, user: str, frame: dict[str, Any]) -> None:
        text = json.dumps(frame, ensure_ascii=False)
        try:
            self.client.publish(CHANNEL + user, text)
        except redis.RedisError as error:
            log.warning("web chat frame delivered locally only: %s", error)
            self.dispatch(user, text)

    def subscribe(self, user: str, deliver: Deliver) -> Callable[[], None]:
        self._ensure_listener()
        return super().subscribe(user, deliver)

    def _ensure_listener(self) -> None:
        with self._start_lock:
            if self._listener_pid == os.getpid():
                return
            self._listener_pid = os.getpid()
            ready = threading.Event()
            thread = threading.Thread(target=self._listen, args=(ready,), daemon=True)
            thread.name = "chat-hub"
            thread.start()
        ready.wait(2)

    def _listen(self, ready: threading.Event) -> None:
        while True:
            try:
                # Its own connection, without a read timeout: it mostly waits.
                listener = redis.Redis.from_url(
                    self.url, decode_responses=True, socket_connect_timeout=0.5
                )
                pubsub = listener.pubsub(ignore_subscribe_messages=True)
                pubsub.psubscribe(CHANNEL + "*")
                ready.set()
                while True:
                    item = pubsub.get_message(timeout=1.0)
                    if item and item["type"] == "pmessage":  # str: decode_responses
                        self.dispatch(item["channel"][len(CHANNEL) :], item["data"])
            except redis.RedisError as error:
                ready.set()
                log.warning("web chat hub lost Redis, retrying in 1 s: %s", error)
                time.sleep(1)
