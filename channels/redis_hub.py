"""The web chat's hub over Redis pub/sub, for bots whose store is Redis: a frame published on
one host reaches the user's sockets on every host. Imported only with a Redis store."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import redis

from channels.hub import Deliver, LocalHub

log = logging.getLogger("bot.hub")

CHANNEL = "bot:chat:"


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
