"""The store interface: what the bot keeps about a conversation, and how it may fail.

A store keeps, per sender: the `ConversationState`, a bounded history of exchanges, and the
replies recorded for each `MessageSid` (so a redelivered message gets the same answer and no
second state change). It serialises one sender's messages with a lock, deletes everything
about a sender on request, and drops what is older than the retention period.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from engine import ConversationState, Reply

HISTORY_LIMIT = 50  # exchanges kept per sender
RECORD_LIMIT = 200  # reply records kept per sender, newest first
LOCK_WAIT = 5.0  # seconds a message waits for the sender's previous one
LOCK_LEASE = 30.0  # seconds after which a lock left by a dead worker is taken over
DAY = 86400.0


class StoreError(Exception):
    """The store could not do what was asked; the message says what failed."""


class StoreUnavailable(StoreError):
    """The store is down, silent, or locked past its timeout."""


class StoreBusy(StoreError):
    """The sender's previous message still holds the lock after `LOCK_WAIT` seconds."""


@dataclass(frozen=True)
class Exchange:
    """One message and what the bot answered, as kept in the history."""

    message_id: str
    at: float  # seconds since the epoch
    channel: str
    text: str
    intent: str | None
    confidence: float
    replies: tuple[Reply, ...]

    def to_json(self) -> str:
        data = {
            "message_id": self.message_id,
            "at": self.at,
            "channel": self.channel,
            "text": self.text,
            "intent": self.intent,
            "confidence": self.confidence,
            "replies": replies_to_data(self.replies),
        }
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes) -> Exchange:
        data = json.loads(raw)
        return cls(
            message_id=str(data.get("message_id", "")),
            at=float(data.get("at", 0.0)),
            channel=str(data.get("channel", "")),
            text=str(data.get("text", "")),
            intent=data.get("intent"),
            confidence=float(data.get("confidence", 0.0)),
            replies=replies_from_data(data.get("replies", [])),
        )


def replies_to_data(replies: tuple[Reply, ...]) -> list[dict[str, Any]]:
    return [{"text": r.text, "media": list(r.media)} for r in replies]


def replies_from_data(data: list[dict[str, Any]]) -> tuple[Reply, ...]:
    return tuple(Reply(str(r.get("text", "")), tuple(r.get("media", ()))) for r in data)


def state_to_json(state: ConversationState) -> str:
    return json.dumps(state.to_dict(), ensure_ascii=False, separators=(",", ":"))


def state_from_json(raw: str | bytes | None) -> ConversationState:
    return ConversationState.from_dict(json.loads(raw)) if raw else ConversationState()


class Store(Protocol):
    """Conversation memory. Every method may raise `StoreUnavailable`; `lock` may raise
    `StoreBusy`. `url` is the store's address with any password hidden."""

    url: str

    def check(self) -> None:
        """Raise `StoreUnavailable` unless the store answers now."""

    def lock(self, sender: str, wait: float | None = None) -> AbstractContextManager[None]:
        """Hold the sender's lock: their messages are handled one at a time, everywhere.
        Wait at most `wait` seconds for it (default `lock_wait`; 0: try once), then raise
        `StoreBusy`. A block under a lock taken with `wait=0` must be short (no network):
        SQLite reads it without locking and makes all its writes one transaction, which
        raises `StoreBusy` if the sender was taken or changed meanwhile."""

    def recorded(self, sender: str, message_id: str) -> tuple[Reply, ...] | None:
        """The replies already sent for this message, or None if it is new."""

    def load(self, sender: str) -> ConversationState:
        """The sender's state, or a fresh one."""

    def commit(self, sender: str, state: ConversationState, exchange: Exchange) -> bool:
        """Atomically keep the new state, append the exchange to the history and record its
        replies under its message id. False, changing nothing, if the id is already recorded."""

    def history(self, sender: str) -> list[Exchange]:
        """The sender's exchanges within the retention period, oldest first."""

    def exchanges(self) -> Iterator[Exchange]:
        """Every sender's kept exchanges (for reports), in no particular order."""

    def count_message(self, sender: str, period: int = 60) -> int:
        """Count one more message from `sender` in the current `period`-second window, for
        every worker and host; the count so far in that window."""

    def forget(self, sender: str) -> None:
        """Delete the sender's state, history and reply records."""

    def purge(self) -> int:
        """Delete everything older than the retention period; the number of items deleted."""

    def close(self) -> None:
        """Release connections."""


def cutoff(now: float, retention_days: int) -> float:
    """The oldest moment still kept; retention 0 keeps everything."""
    return now - retention_days * DAY if retention_days else float("-inf")
