"""`memory://`: dicts in this process, for tests. Lost on restart and not shared between
workers, so the app warns when it is used."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import replace

from conversation import UserDocument
from memory.base import (
    DOCUMENT_LIMIT,
    HISTORY_LIMIT,
    RECORD_LIMIT,
    Conversation,
    Delivery,
    Exchange,
    check_delivery,
    console_order,
    delivery_rank,
    state_from_json,
    state_to_json,
)
from memory.store import BUSY, IN_FLIGHT, TAKEN, StoreTurn, TurnStore, token_message


class MemoryStore(TurnStore):
    """The store contract over dicts behind one lock, plus a lock per sender."""

    def __init__(self, retention_days: int = 30, clock: Callable[[], float] = time.time) -> None:
        super().__init__("memory://", retention_days, clock)
        self._guard = threading.Lock()
        self._states: dict[str, tuple[float, str]] = {}
        self._history: dict[str, deque[Exchange]] = {}
        self._records: dict[str, dict[str, Exchange]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._holders: dict[str, str] = {}  # sender -> the token holding their lock
        # (sender, message id) -> the token claiming it, and when the claim's lease ends.
        self._claims: dict[tuple[str, str], tuple[str, float]] = {}
        self._counts: dict[tuple[str, int], int] = {}
        self._documents: dict[str, deque[UserDocument]] = {}  # newest first
        # sid -> the delivery, and when the store first heard of it (a sender's order).
        self._deliveries: dict[str, tuple[Delivery, float]] = {}

    def _ping(self) -> None:
        return None

    def _lock(self, sender: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(sender, threading.Lock())

    def _claim(self, sender: str, token: str, lease: float) -> bool:
        with self._guard:
            if self._in_flight(sender, token):
                return False
            self._claims[sender, token_message(token)] = (token, time.monotonic() + lease)
            return True

    def _claimed(self, sender: str, message_id: str) -> bool:
        claim = self._claims.get((sender, message_id)) if message_id else None
        return claim is not None and claim[1] > time.monotonic()

    def _in_flight(self, sender: str, token: str) -> bool:
        """Whether another token holds the lock or a live claim for `token`'s message."""
        message_id = token_message(token)
        if not message_id:
            return False
        holder = self._holders.get(sender)
        if holder is not None and holder != token and token_message(holder) == message_id:
            return True
        claim = self._claims.get((sender, message_id))
        return claim is not None and claim[0] != token and claim[1] > time.monotonic()

    def _acquire(self, sender: str, token: str, wait: float) -> str:
        lock = self._lock(sender)
        deadline = time.monotonic() + wait
        while True:
            with self._guard:
                if self._in_flight(sender, token):
                    return IN_FLIGHT
            # In slices, so another delivery of the message is noticed at once.
            if lock.acquire(timeout=min(0.05, max(0.0, deadline - time.monotonic()))):
                break
            if time.monotonic() >= deadline:
                return BUSY
        with self._guard:
            self._holders[sender] = token
            if self._claims.get((sender, token_message(token)), ("",))[0] == token:
                del self._claims[sender, token_message(token)]
        return TAKEN

    def _release(self, sender: str, token: str) -> None:
        with self._guard:
            key = (sender, token_message(token))
            if self._claims.get(key, ("",))[0] == token:
                del self._claims[key]
            if self._holders.get(sender) != token:
                return
            del self._holders[sender]
        self._locks[sender].release()

    def _read(self, turn: StoreTurn) -> None:
        oldest = self._cutoff()
        with self._guard:
            lock = self._locks.setdefault(turn.sender, threading.Lock())
            if turn.optimistic and lock.locked():
                self._holder(turn, self._holders.get(turn.sender, ""))
                return
            if turn.optimistic and self._claimed(turn.sender, turn.message_id):
                turn.in_flight = True  # a delivery of it waits for a thread or the lock
                return
            kept = self._states.get(turn.sender)
            record = self._records.get(turn.sender, {}).get(turn.message_id)
            turn.counted = self._counts.get((turn.sender, turn.window), 0)
        turn.seen = kept
        turn.state = state_from_json(kept[1] if kept and kept[0] >= oldest else None)
        if record is not None and record.at >= oldest:
            turn.recorded = record.for_redelivery

    def _write(self, turn: StoreTurn) -> None:
        sender = turn.sender
        with self._guard:
            if turn.optimistic and (
                self._locks[sender].locked()
                or self._states.get(sender) is not turn.seen
                or self._claimed(sender, turn.message_id)
            ):
                turn.conflict = True
                return
            records = self._records.setdefault(sender, {})
            if turn.kept is not None and turn.message_id in records:
                turn.duplicate = records[turn.message_id].for_redelivery
                return
            if turn.counting:
                for key in [k for k in self._counts if k[1] < turn.window]:
                    del self._counts[key]
                self._counts[sender, turn.window] = turn.counted + 1
            if turn.kept is not None:
                state, exchange = turn.kept
                self._states[sender] = (exchange.at, state_to_json(state))
                self._history.setdefault(sender, deque(maxlen=HISTORY_LIMIT)).append(exchange)
                if exchange.message_id:
                    records[exchange.message_id] = exchange
                    while len(records) > RECORD_LIMIT:
                        del records[next(iter(records))]  # dicts keep insertion order
            if turn.forgetting:
                self._forget(sender)

    def history(self, sender: str) -> list[Exchange]:
        oldest = self._cutoff()
        with self._guard:
            return [e for e in self._history.get(sender, ()) if e.at >= oldest]

    def exchanges(self) -> Iterator[Exchange]:
        oldest = self._cutoff()
        with self._guard:
            kept = [e for entries in self._history.values() for e in entries if e.at >= oldest]
        return iter(kept)

    def conversations(self, limit: int = 200) -> list[Conversation]:
        oldest = self._cutoff()
        listed = []
        with self._guard:
            for sender, entries in self._history.items():
                kept = [e for e in entries if e.at >= oldest]
                if kept:
                    listed.append(self._conversation(sender, kept, oldest))
        return console_order(listed)[: max(limit, 0)]

    def _conversation(self, sender: str, kept: list[Exchange], oldest: float) -> Conversation:
        last = kept[-1]
        updated, raw = self._states.get(sender, (0.0, ""))
        since = 0.0
        if raw and updated >= oldest:  # a state past retention is never read again
            since = float(json.loads(raw).get("human_since") or 0.0)
        return Conversation(sender, last.channel, last.at, last.text, since, len(kept))

    def record_delivery(
        self,
        sid: str,
        status: str,
        error_code: str = "",
        about: str = "",
        sender: str = "",
        at: float | None = None,
    ) -> None:
        check_delivery(sid, status)
        now = self._clock() if at is None else at
        with self._guard:
            kept = self._deliveries.get(sid)
            if kept is None:
                self._deliveries[sid] = (Delivery(sid, status, error_code, now, about, sender), now)
                return
            delivery, first = kept
            if delivery_rank(status) > delivery_rank(delivery.status):
                delivery = replace(delivery, status=status, error_code=error_code, at=now)
            delivery = replace(delivery, about=delivery.about or about)
            delivery = replace(delivery, sender=delivery.sender or sender)
            self._deliveries[sid] = (delivery, first)

    def deliveries(self, sender: str) -> list[Delivery]:
        oldest = self._cutoff()
        with self._guard:
            kept = [(first, d.sid, d) for d, first in self._deliveries.values()]
        return [d for _, _, d in sorted(kept) if d.sender == sender and d.at >= oldest]

    def delivery_counts(self, since: float) -> dict[str, int]:
        since = max(since, self._cutoff())
        counts: dict[str, int] = {}
        with self._guard:
            for delivery, _ in self._deliveries.values():
                if delivery.at >= since:
                    counts[delivery.status] = counts.get(delivery.status, 0) + 1
        return counts

    def keep_document(self, sender: str, document: UserDocument) -> None:
        with self._guard:
            kept = self._documents.setdefault(sender, deque(maxlen=DOCUMENT_LIMIT))
            for old in [d for d in kept if d.document_id == document.document_id]:
                kept.remove(old)
            kept.appendleft(document)

    def documents(self, sender: str) -> list[UserDocument]:
        oldest = self._cutoff()
        with self._guard:
            return [d for d in self._documents.get(sender, ()) if d.at >= oldest]

    def forget(self, sender: str) -> None:
        with self._guard:
            self._forget(sender)

    def _forget(self, sender: str) -> None:
        for table in (self._states, self._history, self._records, self._documents):
            table.pop(sender, None)
        for key in [k for k in self._counts if k[0] == sender]:
            del self._counts[key]
        for sid in [s for s, (d, _) in self._deliveries.items() if d.sender == sender]:
            del self._deliveries[sid]

    def purge(self) -> int:
        oldest = self._cutoff()
        deleted = 0
        with self._guard:
            for sender, (updated, _) in list(self._states.items()):
                if updated < oldest:
                    del self._states[sender]
                    deleted += 1
            for entries in self._history.values():
                while entries and entries[0].at < oldest:
                    entries.popleft()
                    deleted += 1
            for documents in self._documents.values():
                while documents and documents[-1].at < oldest:
                    documents.pop()
                    deleted += 1
            for records in self._records.values():
                for message_id in [m for m, e in records.items() if e.at < oldest]:
                    del records[message_id]
                    deleted += 1
            for sid in [s for s, (d, _) in self._deliveries.items() if d.at < oldest]:
                del self._deliveries[sid]
                deleted += 1
        return deleted

    def close(self) -> None:
        self._stop_releasing()
