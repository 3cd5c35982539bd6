"""Lock-out after repeated failed sign-ins: LIMIT wrong passwords for one operator name within
WINDOW seconds lock that name until the oldest of them is WINDOW old, whatever password
comes next. The answer says "locked, try again in N minutes" and never whether the password
was right.

The failures are kept where every worker and host sees them, beside the conversations:
memory:// in this process, a SQLite store in a small file of its own next to the store's
(`<store>-logins.db`), a Redis store in a sorted set per name that expires on its own.

Why not the store's per-sender message counter (`turn.count_message()` under a key such as
`console-login:<name>`): it counts within the store's fixed one-minute rate window, on the
store's clock, so "5 within 15 minutes" cannot be said with it, and a test could not move
its clock. A sliding window of timestamps says exactly that, with the console's clock.
"""

from __future__ import annotations

import math
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from memory import sqlite_path

LIMIT = 5  # failed passwords...
WINDOW = 15 * 60.0  # ...within this many seconds lock the name
KEY = "bot:console-login:"  # Redis keys, one sorted set per name


class FailureLog(Protocol):
    """When each failed sign-in of a name happened, within the window."""

    def add(self, name: str, at: float) -> None:
        """Note a failure of `name` at `at`, forgetting those older than the window."""

    def since(self, name: str, oldest: float) -> list[float]:
        """The failures of `name` after `oldest`, oldest first."""

    def clear(self, name: str) -> None:
        """Forget the failures of `name` (it signed in)."""


class MemoryFailures:
    """Failures in this process: for memory:// stores, which live in one process anyway."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures: dict[str, list[float]] = {}

    def add(self, name: str, at: float) -> None:
        with self._lock:
            kept = [t for t in self._failures.get(name, []) if t > at - WINDOW]
            self._failures[name] = [*kept, at]

    def since(self, name: str, oldest: float) -> list[float]:
        with self._lock:
            return sorted(t for t in self._failures.get(name, []) if t > oldest)

    def clear(self, name: str) -> None:
        with self._lock:
            self._failures.pop(name, None)


class SqliteFailures:
    """Failures in a SQLite file shared by the workers of one machine."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with self._connect() as connection:
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("CREATE TABLE IF NOT EXISTS failures (name TEXT, at REAL)")
            connection.execute("CREATE INDEX IF NOT EXISTS failures_name ON failures (name, at)")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection for one transaction, committed (or rolled back) and closed."""
        connection = sqlite3.connect(self.path, timeout=5.0)
        try:
            with connection:
                yield connection
        finally:
            connection.close()

    def add(self, name: str, at: float) -> None:
        with self._connect() as connection:  # one transaction
            connection.execute("DELETE FROM failures WHERE at <= ?", (at - WINDOW,))
            connection.execute("INSERT INTO failures (name, at) VALUES (?, ?)", (name, at))

    def since(self, name: str, oldest: float) -> list[float]:
        with self._connect() as connection:
            rows = connection.execute(
                "SELECT at FROM failures WHERE name = ? AND at > ? ORDER BY at", (name, oldest)
            ).fetchall()
        return [row[0] for row in rows]

    def clear(self, name: str) -> None:
        with self._connect() as connection:
            connection.execute("DELETE FROM failures WHERE name = ?", (name,))


class RedisFailures:
    """Failures in Redis, seen by every host: a sorted set per name, scored by time."""

    def __init__(self, url: str) -> None:
        import redis  # only bots with a Redis store have it loaded already

        self.client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)

    def add(self, name: str, at: float) -> None:
        key = KEY + name
        with self.client.pipeline() as pipe:  # MULTI/EXEC: one step for every host
            pipe.zremrangebyscore(key, "-inf", at - WINDOW)
            pipe.zadd(key, {f"{at}:{uuid.uuid4().hex[:8]}": at})
            pipe.expire(key, math.ceil(WINDOW))
            pipe.execute()

    def since(self, name: str, oldest: float) -> list[float]:
        found = self.client.zrangebyscore(KEY + name, f"({oldest}", "+inf", withscores=True)
        return [score for _member, score in found]

    def clear(self, name: str) -> None:
        self.client.delete(KEY + name)


def failure_log(store_url: str, root: Path) -> FailureLog:
    """Where the failures go for the store `store_url` names (see the module's docstring)."""
    scheme = store_url.split("://", 1)[0].lower()
    if scheme == "sqlite":
        path = sqlite_path(store_url, root)
        return SqliteFailures(path.with_name(f"{path.stem}-logins.db"))
    if scheme in {"redis", "rediss"}:
        return RedisFailures(store_url)
    return MemoryFailures()


class Lockout:
    """The rule: LIMIT failures within WINDOW lock a name (times from the console's clock)."""

    def __init__(self, failures: FailureLog) -> None:
        self.failures = failures

    def locked_minutes(self, name: str, now: float) -> int:
        """Whole minutes (rounded up) until `name` may try again; 0 when it may now."""
        recent = self.failures.since(name, now - WINDOW)
        if len(recent) < LIMIT:
            return 0
        free_at = recent[-LIMIT] + WINDOW  # when the LIMIT-th latest failure leaves
        return max(1, math.ceil((free_at - now) / 60))

    def failed(self, name: str, now: float) -> None:
        self.failures.add(name, now)

    def signed_in(self, name: str) -> None:
        self.failures.clear(name)
