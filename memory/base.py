"""What the bot keeps about a conversation, and how a store may fail.

A store keeps, per sender: the `ConversationState`, a bounded history of exchanges, and the
replies recorded for each `MessageSid` (so a redelivered message gets the same answer and no
second state change). It serialises one sender's messages with a lock, deletes everything
about a sender on request, and drops what is older than the retention period.

For the operator console it also lists the conversations (`Conversation`, one line each),
and keeps the delivery status of each message the bot sent through Twilio's REST API
(`Delivery`), the most advanced one Twilio reported (`DELIVERY_RANKS`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from conversation import ConversationState, Reply

HISTORY_LIMIT = 50  # exchanges kept per sender
RECORD_LIMIT = 200  # reply records kept per sender, newest first
DOCUMENT_LIMIT = 3  # documents kept per sender, the latest
LOCK_WAIT = 5.0  # seconds a message waits for the sender's previous one
LOCK_LEASE = 30.0  # seconds after which a lock left by a dead worker is taken over
RELEASE_RETRY = 0.2  # seconds between attempts to release locks a store outage left held
RATE_PERIOD = 60  # seconds in one rate-limit window
DAY = 86400.0

# Twilio's message statuses in the order a message goes through them. Its status callbacks
# can arrive late, out of order, or twice, so a store keeps the most advanced status: the
# higher rank wins and an equal rank keeps the status recorded first. `failed` and
# `undelivered` are final: they beat every other status (a `read` after a `failed` is
# ignored), and the first of them stays. A status not listed here is kept as given, ranked
# lowest (0), so it never replaces a known one.
DELIVERY_RANKS = {
    "accepted": 1,
    "queued": 1,
    "scheduled": 1,
    "sending": 2,
    "sent": 3,
    "delivered": 4,
    "read": 5,
    "failed": 6,
    "undelivered": 6,
}


class StoreError(Exception):
    """The store could not do what was asked; the message says what failed."""


class StoreUnavailable(StoreError):
    """The store is down, silent, or locked past its timeout."""


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
    later: bool = False  # the replies went out as a follow-up, not in the webhook's answer

    @property
    def for_redelivery(self) -> tuple[Reply, ...]:
        """What a redelivery of this message gets: the replies again when they went in the
        webhook's answer (Twilio redelivers when that answer did not reach it), none when
        they went out as a follow-up, which is sent once."""
        return () if self.later else self.replies

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
        if self.later:
            data["later"] = True
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
            later=bool(data.get("later", False)),
        )


@dataclass(frozen=True)
class Conversation:
    """One line of the operator console's list: a sender and their latest exchange."""

    sender: str
    channel: str  # of the last exchange
    last_at: float  # when the last exchange was kept, seconds since the epoch
    last_text: str  # what the user wrote in it
    human_since: float  # since when a person has the conversation; 0.0: the bot answers
    messages: int  # the exchanges kept (at most HISTORY_LIMIT)

    @property
    def with_person(self) -> bool:
        return self.human_since > 0


@dataclass(frozen=True)
class Delivery:
    """Where a message the bot sent through Twilio's REST API has got to."""

    sid: str  # Twilio's MessageSid
    status: str  # queued, sent, delivered, read, failed, undelivered, …
    error_code: str  # Twilio's error code for a failure ("" none)
    at: float  # when the current status was recorded
    about: str  # the message id of the exchange it answers or is ("" unknown)
    sender: str  # the user it went to ("" unknown)


def delivery_rank(status: str) -> int:
    """How far along `status` is (see `DELIVERY_RANKS`); 0 for a status not listed."""
    return DELIVERY_RANKS.get(status, 0)


def check_delivery(sid: str, status: str) -> None:
    """Refuse a delivery record that names no message or no status."""
    if not sid or not status:
        raise ValueError("a delivery status needs the message's sid and a status")


def console_order(conversations: list[Conversation]) -> list[Conversation]:
    """The console's order: conversations with a person first, who has waited longest
    (oldest `human_since`) first; then the rest, the latest exchange first. Ties go by
    sender (ascending among people, descending among the rest: as Redis orders its sorted
    sets, so every store lists the same)."""
    people = sorted((c for c in conversations if c.with_person), key=_waiting)
    rest = sorted((c for c in conversations if not c.with_person), key=_latest, reverse=True)
    return people + rest


def _waiting(conversation: Conversation) -> tuple[float, str]:
    return conversation.human_since, conversation.sender


def _latest(conversation: Conversation) -> tuple[float, str]:
    return conversation.last_at, conversation.sender


def replies_to_data(replies: tuple[Reply, ...]) -> list[dict[str, Any]]:
    return [{"text": r.text, "media": list(r.media)} for r in replies]


def replies_from_data(data: list[dict[str, Any]]) -> tuple[Reply, ...]:
    return tuple(Reply(str(r.get("text", "")), tuple(r.get("media", ()))) for r in data)


def state_to_json(state: ConversationState) -> str:
    return json.dumps(state.to_dict(), ensure_ascii=False, separators=(",", ":"))


def state_from_json(raw: str | bytes | None) -> ConversationState:
    return ConversationState.from_dict(json.loads(raw)) if raw else ConversationState()


def cutoff(now: float, retention_days: int) -> float:
    """The oldest moment still kept; retention 0 keeps everything."""
    return now - retention_days * DAY if retention_days else float("-inf")
