"""`sqlite:///path`: the default store, one file that survives restarts and is shared by the
workers of one machine.

WAL lets readers run beside the writer; every read-modify-write starts with
`BEGIN IMMEDIATE`, so two workers never both read and then both write. Each worker process
keeps its own small pool of connections, opened after the fork, one per busy thread. The schema is created and migrated on
start-up; `PRAGMA user_version` holds its version.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from engine import ConversationState, Reply
from memory.base import (
    HISTORY_LIMIT,
    LOCK_LEASE,
    LOCK_WAIT,
    RECORD_LIMIT,
    Exchange,
    StoreBusy,
    StoreError,
    StoreUnavailable,
    cutoff,
    state_from_json,
    state_to_json,
)

log = logging.getLogger("bot.memory")

BUSY_TIMEOUT = 2.0  # seconds a statement waits for another writer before giving up
PURGE_BATCH = 500  # rows per purge transaction, so writers are never held up for long

# MIGRATIONS[n] takes the database from version n to version n + 1.
MIGRATIONS = [
    """
    CREATE TABLE conversations (
        sender TEXT PRIMARY KEY, state TEXT NOT NULL, updated_at REAL NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX conversations_by_age ON conversations (updated_at);
    CREATE TABLE history (
        id INTEGER PRIMARY KEY, sender TEXT NOT NULL, at REAL NOT NULL, exchange TEXT NOT NULL
    );
    CREATE INDEX history_by_sender ON history (sender, id);
    CREATE INDEX history_by_age ON history (at);
    CREATE TABLE replies (
        sender TEXT NOT NULL, message_id TEXT NOT NULL, at REAL NOT NULL,
        exchange TEXT NOT NULL, PRIMARY KEY (sender, message_id)
    ) WITHOUT ROWID;
    CREATE INDEX replies_by_age ON replies (at);
    CREATE TABLE locks (
        sender TEXT PRIMARY KEY, token TEXT NOT NULL, expires_at REAL NOT NULL
    ) WITHOUT ROWID;
    """,
    """
    CREATE TABLE message_counts (
        sender TEXT NOT NULL, bucket INTEGER NOT NULL, count INTEGER NOT NULL,
        PRIMARY KEY (sender, bucket)
    ) WITHOUT ROWID;
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)


def _owner_is_gone(token: str) -> bool:
    """Whether the process named in a lock token no longer exists on this machine."""
    pid_text = token.split(":", 1)[0]
    if not pid_text.isdigit() or int(pid_text) == os.getpid():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except OSError:  # it exists, under another user
        return False
    return False


class SqliteStore:
    """The store contract in one SQLite file."""

    def __init__(
        self,
        path: str | Path,
        retention_days: int = 30,
        clock: Callable[[], float] = time.time,
        url: str = "",
    ) -> None:
        self.path = Path(path)
        self.url = url or f"sqlite:///{self.path}"
        self.retention_days = retention_days
        self.lock_wait = LOCK_WAIT
        self.lock_lease = LOCK_LEASE
        self._clock = clock
        self._pool: list[sqlite3.Connection] = []
        self._pool_pid = os.getpid()
        self._pool_lock = threading.Lock()
        self._closed = False
        self._open()

    # -- connections --------------------------------------------------------------------------

    def _open(self) -> None:
        """Create the file and its schema, or raise `StoreError` saying why it cannot be."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreError(f"cannot create the folder {self.path.parent}: {error}") from None
        try:
            with self._write("open") as connection:
                self._migrate(connection)
        except StoreUnavailable as error:
            raise StoreError(f"cannot open {self.path} for writing: {error}") from None

    def _new_connection(self) -> sqlite3.Connection:
        # A pooled connection is used by one thread at a time, but not always the same one.
        connection = sqlite3.connect(
            self.path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
        )
        connection.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")
        connection.execute("PRAGMA journal_mode = WAL")
        # With WAL, NORMAL loses no committed data when the process dies; only a power cut
        # can take the last transactions.
        connection.execute("PRAGMA synchronous = NORMAL")
        return connection

    @contextmanager
    def _reading(self, doing: str) -> Iterator[sqlite3.Connection]:
        """A connection from this process's pool (opened after any fork), with SQLite's
        errors turned into `StoreUnavailable` naming what was being done. A connection that
        saw an error is closed rather than pooled, so no half-done transaction survives."""
        with self._pool_lock:
            if self._pool_pid != os.getpid():  # a forked child never uses its parent's
                self._pool, self._pool_pid = [], os.getpid()
            connection = self._pool.pop() if self._pool else None
        healthy = False
        try:
            if connection is None:
                connection = self._new_connection()
            yield connection
            healthy = True
        except sqlite3.Error as error:
            raise StoreUnavailable(f"SQLite {self.path}: {doing}: {error}") from error
        finally:
            if connection is not None:
                with self._pool_lock:
                    pooled = healthy and self._pool_pid == os.getpid() and not self._closed
                    if pooled:
                        self._pool.append(connection)
                if not pooled:
                    connection.close()

    @contextmanager
    def _write(self, doing: str) -> Iterator[sqlite3.Connection]:
        """A write transaction that holds the database's write lock from its first read."""
        with self._reading(doing) as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise

    def _migrate(self, connection: sqlite3.Connection) -> None:
        """Bring the schema to SCHEMA_VERSION, inside the caller's write transaction, so two
        workers starting together migrate once."""
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} has schema version {version}, newer than this bot's "
                f"{SCHEMA_VERSION}: upgrade the bot or use another file"
            )
        for number in range(version, SCHEMA_VERSION):
            for statement in MIGRATIONS[number].split(";"):
                if statement.strip():
                    connection.execute(statement)
            log.info("store %s: schema migrated to version %d", self.path, number + 1)
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    # -- the contract -------------------------------------------------------------------------

    def check(self) -> None:
        with self._reading("check") as connection:
            connection.execute("SELECT 1 FROM conversations LIMIT 1").fetchall()

    @contextmanager
    def lock(self, sender: str) -> Iterator[None]:
        # The owner's pid first: a lock left by a worker that was killed is taken over at
        # once, not after the lease (one file means one machine, so the pid says it all).
        token = f"{os.getpid()}:{uuid.uuid4().hex}"
        deadline = time.monotonic() + self.lock_wait
        delay = 0.002
        while not self._take_lock(sender, token):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise StoreBusy(
                    f"the sender's previous message held the lock for {self.lock_wait:g} s"
                )
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, 0.05)
        try:
            yield
        finally:
            try:
                with self._write("unlock") as connection:
                    connection.execute(
                        "DELETE FROM locks WHERE sender = ? AND token = ?", (sender, token)
                    )
            except StoreUnavailable as error:
                log.warning("could not release a lock (it expires by itself): %s", error)

    def _take_lock(self, sender: str, token: str) -> bool:
        now = time.time()
        with self._write("lock") as connection:
            connection.execute(
                "DELETE FROM locks WHERE sender = ? AND expires_at < ?", (sender, now)
            )
            held = connection.execute(
                "SELECT token FROM locks WHERE sender = ?", (sender,)
            ).fetchone()
            if held is not None and _owner_is_gone(held[0]):
                log.warning("took over a lock left by a process that is gone")
                connection.execute("DELETE FROM locks WHERE sender = ?", (sender,))
            taken = connection.execute(
                "INSERT OR IGNORE INTO locks (sender, token, expires_at) VALUES (?, ?, ?)",
                (sender, token, now + self.lock_lease),
            )
            return taken.rowcount == 1

    def recorded(self, sender: str, message_id: str) -> tuple[Reply, ...] | None:
        with self._reading("read a reply record") as connection:
            row = connection.execute(
                "SELECT exchange FROM replies WHERE sender = ? AND message_id = ? AND at >= ?",
                (sender, message_id, self._cutoff()),
            ).fetchone()
        return Exchange.from_json(row[0]).replies if row else None

    def load(self, sender: str) -> ConversationState:
        with self._reading("load the state") as connection:
            row = connection.execute(
                "SELECT state FROM conversations WHERE sender = ? AND updated_at >= ?",
                (sender, self._cutoff()),
            ).fetchone()
        return state_from_json(row[0] if row else None)

    def commit(self, sender: str, state: ConversationState, exchange: Exchange) -> bool:
        raw = exchange.to_json()
        with self._write("save the turn") as connection:
            if exchange.message_id:
                inserted = connection.execute(
                    "INSERT OR IGNORE INTO replies (sender, message_id, at, exchange) "
                    "VALUES (?, ?, ?, ?)",
                    (sender, exchange.message_id, exchange.at, raw),
                )
                if inserted.rowcount == 0:
                    return False
                connection.execute(
                    "DELETE FROM replies WHERE sender = ? AND message_id NOT IN "
                    "(SELECT message_id FROM replies WHERE sender = ? ORDER BY at DESC LIMIT ?)",
                    (sender, sender, RECORD_LIMIT),
                )
            connection.execute(
                "INSERT INTO conversations (sender, state, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (sender) DO UPDATE SET state = excluded.state, "
                "updated_at = excluded.updated_at",
                (sender, state_to_json(state), exchange.at),
            )
            connection.execute(
                "INSERT INTO history (sender, at, exchange) VALUES (?, ?, ?)",
                (sender, exchange.at, raw),
            )
            connection.execute(
                "DELETE FROM history WHERE sender = ? AND id NOT IN "
                "(SELECT id FROM history WHERE sender = ? ORDER BY id DESC LIMIT ?)",
                (sender, sender, HISTORY_LIMIT),
            )
        return True

    def history(self, sender: str) -> list[Exchange]:
        with self._reading("read the history") as connection:
            rows = connection.execute(
                "SELECT exchange FROM history WHERE sender = ? AND at >= ? ORDER BY id",
                (sender, self._cutoff()),
            ).fetchall()
        return [Exchange.from_json(row[0]) for row in rows]

    def exchanges(self) -> Iterator[Exchange]:
        with self._reading("read the history") as connection:
            rows = connection.execute(
                "SELECT exchange FROM history WHERE at >= ?", (self._cutoff(),)
            ).fetchall()
        return (Exchange.from_json(row[0]) for row in rows)

    def count_message(self, sender: str, period: int = 60) -> int:
        window = int(self._clock() // period)
        with self._write("count a message") as connection:
            connection.execute("DELETE FROM message_counts WHERE bucket < ?", (window - 1,))
            (count,) = connection.execute(
                "INSERT INTO message_counts (sender, bucket, count) VALUES (?, ?, 1) "
                "ON CONFLICT (sender, bucket) DO UPDATE SET count = count + 1 RETURNING count",
                (sender, window),
            ).fetchone()
        return count

    def forget(self, sender: str) -> None:
        with self._write("forget a sender") as connection:
            for table in ("conversations", "history", "replies", "message_counts"):
                connection.execute(f"DELETE FROM {table} WHERE sender = ?", (sender,))  # noqa: S608

    def purge(self) -> int:
        oldest = self._cutoff()
        deleted = 0
        for table, column, key in (
            ("conversations", "updated_at", "sender"),
            ("history", "at", "id"),
            ("replies", "at", "sender, message_id"),
        ):
            while True:
                with self._write("purge") as connection:
                    count = connection.execute(
                        f"DELETE FROM {table} WHERE ({key}) IN "  # noqa: S608
                        f"(SELECT {key} FROM {table} WHERE {column} < ? LIMIT ?)",
                        (oldest, PURGE_BATCH),
                    ).rowcount
                deleted += count
                if count < PURGE_BATCH:
                    break
        return deleted

    def close(self) -> None:
        """Close the idle connections; ones in use close when they are handed back."""
        with self._pool_lock:
            self._closed = True
            idle, self._pool = self._pool, []
        for connection in idle:
            connection.close()

    def _cutoff(self) -> float:
        return cutoff(self._clock(), self.retention_days)
