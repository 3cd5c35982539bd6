"""`memory://`: dicts in this process, for tests. Lost on restart and not shared between
workers, so the app warns when it is used."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from engine import ConversationState, Reply
from memory.base import (
    HISTORY_LIMIT,
    LOCK_WAIT,
    RECORD_LIMIT,
    Exchange,
    StoreBusy,
    cutoff,
    state_from_json,
    state_to_json,
)


class MemoryStore:
    """The store contract over dicts behind one lock, plus a lock per sender."""

    def __init__(self, retention_days: int = 30, clock: Callable[[], float] = time.time) -> None:
        self.url = "memory://"
        self.retention_days = retention_days
        self.lock_wait = LOCK_WAIT
        self._clock = clock
        self._guard = threading.Lock()
        self._states: dict[str, tuple[float, str]] = {}
        self._history: dict[str, deque[Exchange]] = {}
        self._records: dict[str, dict[str, Exchange]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._counts: dict[tuple[str, int], int] = {}

    def check(self) -> None:
        return None

    @contextmanager
    def lock(self, sender: str, wait: float | None = None) -> Iterator[None]:
        wait = self.lock_wait if wait is None else wait
        with self._guard:
            lock = self._locks.setdefault(sender, threading.Lock())
        if not lock.acquire(timeout=wait):
            raise StoreBusy(f"the sender's previous message held the lock for {wait:g} s")
        try:
            yield
        finally:
            lock.release()

    def recorded(self, sender: str, message_id: str) -> tuple[Reply, ...] | None:
        with self._guard:
            exchange = self._records.get(sender, {}).get(message_id)
        if exchange is None or exchange.at < self._cutoff():
            return None
        return exchange.replies

    def load(self, sender: str) -> ConversationState:
        with self._guard:
            updated, raw = self._states.get(sender, (0.0, ""))
        return state_from_json(raw if updated >= self._cutoff() else None)

    def commit(self, sender: str, state: ConversationState, exchange: Exchange) -> bool:
        with self._guard:
            records = self._records.setdefault(sender, {})
            if exchange.message_id and exchange.message_id in records:
                return False
            self._states[sender] = (exchange.at, state_to_json(state))
            self._history.setdefault(sender, deque(maxlen=HISTORY_LIMIT)).append(exchange)
            if exchange.message_id:
                records[exchange.message_id] = exchange
                while len(records) > RECORD_LIMIT:
                    del records[next(iter(records))]  # dicts keep insertion order
        return True

    def history(self, sender: str) -> list[Exchange]:
        oldest = self._cutoff()
        with self._guard:
            return [e for e in self._history.get(sender, ()) if e.at >= oldest]

    def exchanges(self) -> Iterator[Exchange]:
        oldest = self._cutoff()
        with self._guard:
            kept = [e for entries in self._history.values() for e in entries if e.at >= oldest]
        return iter(kept)

    def count_message(self, sender: str, period: int = 60) -> int:
        window = int(self._clock() // period)
        with self._guard:
            for key in [k for k in self._counts if k[1] < window]:
                del self._counts[key]
            self._counts[sender, window] = self._counts.get((sender, window), 0) + 1
            return self._counts[sender, window]

    def forget(self, sender: str) -> None:
        with self._guard:
            for table in (self._states, self._history, self._records):
                table.pop(sender, None)
            for key in [k for k in self._counts if k[0] == sender]:
                del self._counts[key]

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
            for records in self._records.values():
                for message_id in [m for m, e in records.items() if e.at < oldest]:
                    del records[message_id]
                    deleted += 1
        return deleted

    def close(self) -> None:
        return None

    def _cutoff(self) -> float:
        return cutoff(self._clock(), self.retention_days)
