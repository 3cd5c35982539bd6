"""The web chat's frames, JSON text. In: `{"type": "message", "text": "..."}`. Out:
`{"type": "typing"}`, `{"type": "message", "text", "media", "understood", "time"}` per reply,
`{"type": "quiet"}` when a message gets no reply (a person has the conversation), a
`message` frame with an `id` (and `understood` null) for what an operator wrote, and
`{"type": "error", "text"}` for a bad frame, after which the connection stays open.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import deque
from typing import Any

from simple_websocket import ConnectionClosed

from conversation import Reply
from engine.replies import slot_text
from pipeline import Handled

MAX_FRAME = 4096  # bytes of a frame we answer; bigger ones get an error frame
RATE = 10  # messages per connection...
PER = 10.0  # ...in this many seconds


def understood(handled: Handled) -> dict[str, Any] | None:
    if handled.turn is None:
        return None
    understanding = handled.turn.understanding
    slots = {
        k: v if isinstance(v, int | float) else slot_text(v) for k, v in understanding.slots.items()
    }
    return {
        "intent": understanding.intent,
        "confidence": round(understanding.confidence, 2),
        "slots": slots,
    }


def message_frame(
    reply: Reply,
    understanding: dict[str, Any] | None = None,
    at: float | None = None,
    message_id: str = "",
) -> dict[str, Any]:
    """The frame for one thing said to the user: by the bot (with what it `understood`), or
    by an operator (with the `message_id` the history keeps it under)."""
    frame = {
        "type": "message",
        "text": reply.text,
        "media": list(reply.media),
        "understood": understanding,
        "time": time.time() if at is None else at,
    }
    if message_id:
        frame["id"] = message_id
    return frame


def reply_frames(handled: Handled) -> list[dict[str, Any]]:
    understanding = understood(handled)
    return [message_frame(reply, understanding) for reply in handled.replies]


class Connection:
    """One open socket: serialised sends, a rate limit, and frame checks."""

    def __init__(self, ws, sender: str) -> None:
        self.ws = ws
        self.sender = sender
        self._send_lock = threading.Lock()
        self._recent: deque[float] = deque()

    def send(self, text: str) -> None:
        # A browser that went away reconnects; its memory is in the store.
        with self._send_lock, contextlib.suppress(ConnectionClosed, OSError):
            self.ws.send(text)

    def error(self, text: str) -> None:
        self.send(json.dumps({"type": "error", "text": text}))

    def parse(self, data: str | bytes) -> str | None:
        """The text of a valid message frame, or None after sending an error frame."""
        raw = data.encode() if isinstance(data, str) else data
        if len(raw) > MAX_FRAME:
            self.error(f"That message is too long: frames are limited to {MAX_FRAME} bytes.")
            return None
        try:
            frame = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            self.error('Frames must be JSON, like {"type": "message", "text": "hi"}.')
            return None
        if not isinstance(frame, dict) or frame.get("type") != "message":
            kind = frame.get("type") if isinstance(frame, dict) else type(frame).__name__
            self.error(f'Unknown frame type {kind!r}: send {{"type": "message", "text": "..."}}.')
            return None
        text = frame.get("text")
        if not isinstance(text, str):
            self.error('A message frame needs "text", a string.')
            return None
        now = time.monotonic()
        while self._recent and now - self._recent[0] > PER:
            self._recent.popleft()
        if len(self._recent) >= RATE:
            self.error("You're sending messages too fast. 🙂 Wait a few seconds.")
            return None
        self._recent.append(now)
        return text
