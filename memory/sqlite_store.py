"""`sqlite:///path`: the default store, one file that survives restarts and is shared by the
workers of one machine.

WAL lets readers run beside the writer; every read-modify-write starts with
`BEGIN IMMEDIATE`, so two workers never both read and then both write. Each worker process
keeps its own small pool of connections, opened after the fork, one per busy thread. The
schema is created and migrated on start-up; `PRAGMA user_version` holds its version.

A sender's lock is a row in `locks`, taken and released in transactions of their own, so
the slow work between them holds nothing else. A lock asked for with `wait=0` (a quick turn,
which waits for no network) writes no row: the block reads without locking anything, and its
first write opens one transaction for all of its writes, which checks that the sender has no
lock row and that their state is still the one the block read (else `StoreBusy`, and the
caller takes the slow way). One commit instead of four per message, other writers wait only
for the writes, and a block that fails or dies halfway leaves nothing of itself behind.

SQLite has one writer at a time, and a writer that finds the file busy sleeps at least a
millisecond before it tries again; under load those sleeps, not the work, set the pace.
So writers queue first: threads on a lock in the process, processes on `flock` of a
`-writer` file beside the database. Both waits are bounded, and SQLite's own busy timeout
still covers anyone else writing to the file.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path

from engine import ConversationState, Reply
from memory.base import (
    LOCK_LEASE,
    LOCK_WAIT,
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

# MIGRATIONS[n] takes the database from version n to version n + 1: a script of statements
# separated by ";" at the end of a line (a trigger's body has its own, mid-line).
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
    # The history and the reply records keep themselves to their limits (HISTORY_LIMIT,
    # RECORD_LIMIT; written out, as a migration never changes), inside the statement that
    # adds a row: one statement per table on every message, not two.
    """
    CREATE TRIGGER history_limit AFTER INSERT ON history BEGIN
        DELETE FROM history WHERE sender = new.sender AND id <= (
            SELECT id FROM history WHERE sender = new.sender
            ORDER BY id DESC LIMIT 1 OFFSET 50); END;
    CREATE TRIGGER replies_limit AFTER INSERT ON replies BEGIN
        DELETE FROM replies WHERE sender = new.sender AND message_id IN (
            SELECT message_id FROM replies WHERE sender = new.sender
            ORDER BY at DESC, message_id DESC LIMIT -1 OFFSET 200); END;
    CREATE TRIGGER counts_limit AFTER INSERT ON message_counts BEGIN
        DELETE FROM message_counts WHERE sender = new.sender AND bucket < new.bucket - 1; END;
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)


class _WriterQueue:
    """Writers of one database queue here before `BEGIN IMMEDIATE`: the threads of this
    process on a lock, the processes on `flock` of `<database>-writer`. A wait longer than
    `BUSY_TIMEOUT` gives up on the queue and leaves it to SQLite's busy timeout."""

    def __init__(self, path: Path) -> None:
        self.path = path.with_name(path.name + "-writer")
        self._threads = threading.Lock()
        self._fd = -1
        self._pid = 0

    @contextmanager
    def turn(self) -> Iterator[None]:
        deadline = time.monotonic() + BUSY_TIMEOUT
        if not self._threads.acquire(timeout=BUSY_TIMEOUT):
            yield
            return
        try:
            fd = self._lock_file(deadline)
            try:
                yield
            finally:
                if fd >= 0:
                    fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def _lock_file(self, deadline: float) -> int:
        """The locked file's descriptor, or -1 when it could not be locked in time."""
        if self._pid != os.getpid():  # a forked child needs its own open file to lock
            try:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except OSError as error:
                raise StoreUnavailable(f"SQLite {self.path}: {error}") from None
            self._pid = os.getpid()
        delay = 0.0001
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return self._fd
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return -1
                time.sleep(delay)
                delay = min(delay * 2, 0.002)
            except OSError:  # no flock here (some network file systems): SQLite decides
                return -1

    def close(self) -> None:
        with self._threads:  # not while a writer holds the file locked
            if self._pid == os.getpid() and self._fd >= 0:
                os.close(self._fd)
            self._fd, self._pid = -1, 0


_UNREAD = object()


class _QuickTurn:
    """A quick turn of one thread: the state row it read, and its transaction once begun."""

    def __init__(self, sender: str) -> None:
        self.sender = sender
        self.state: object = _UNREAD
        self.connection: sqlite3.Connection | None = None
        self.stack = ExitStack()  # the writer's turn and the connection, once begun


class _ThreadState(threading.local):
    quick: _QuickTurn | None = None  # this thread's quick turn, while one runs


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
        self._writers = _WriterQueue(self.path)
        self._local = _ThreadState()
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
        saw an error is closed rather than pooled, so no half-done transaction survives.
        Inside a quick turn, its own connection and transaction."""
        quick = self._local.quick
        joined = quick.connection if quick is not None else None
        if joined is not None:
            try:
                yield joined
            except sqlite3.Error as error:
                raise StoreUnavailable(f"SQLite {self.path}: {doing}: {error}") from error
            return
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
        except BaseException as error:
            # Not SQLite's fault (NeedsTime, a failing engine): keep a connection that is
            # back outside any transaction, as opening one costs more than a turn.
            healthy = (
                connection is not None
                and not isinstance(error, StoreUnavailable)
                and not connection.in_transaction
            )
            raise
        finally:
            if connection is not None:
                with self._pool_lock:
                    pooled = healthy and self._pool_pid == os.getpid() and not self._closed
                    if pooled:
                        self._pool.append(connection)
                if not pooled:
                    connection.close()

    @contextmanager
    def _write(self, doing: str, transaction: bool = True) -> Iterator[sqlite3.Connection]:
        """A write transaction that holds the database's write lock from its first read;
        without `transaction`, for one statement, which is a transaction of its own. Inside a
        quick turn, part of its transaction."""
        quick = self._local.quick
        if quick is not None:
            if quick.connection is None:
                self._begin(quick)
            with self._reading(doing) as connection:
                yield connection
            return
        with self._writers.turn(), self._reading(doing) as connection:
            if not transaction:
                yield connection
                return
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
            for statement in re.split(r";\s*$", MIGRATIONS[number], flags=re.MULTILINE):
                if statement.strip():
                    connection.execute(statement)
            log.info("store %s: schema migrated to version %d", self.path, number + 1)
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    # -- the contract -------------------------------------------------------------------------

    def check(self) -> None:
        with self._reading("check") as connection:
            connection.execute("SELECT 1 FROM conversations LIMIT 1").fetchall()

    @contextmanager
    def lock(self, sender: str, wait: float | None = None) -> Iterator[None]:
        wait = self.lock_wait if wait is None else wait
        if wait <= 0:
            with self._quick_turn(sender):
                yield
            return
        # The owner's pid first: a lock left by a worker that was killed is taken over at
        # once, not after the lease (one file means one machine, so the pid says it all).
        token = f"{os.getpid()}:{uuid.uuid4().hex}"
        deadline = time.monotonic() + wait
        delay = 0.002
        while not self._take_lock(sender, token):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise StoreBusy(f"the sender's previous message held the lock for {wait:g} s")
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, 0.05)
        try:
            yield
        finally:
            try:
                with self._write("unlock", transaction=False) as connection:
                    connection.execute(
                        "DELETE FROM locks WHERE sender = ? AND token = ?", (sender, token)
                    )
            except StoreUnavailable as error:
                log.warning("could not release a lock (it expires by itself): %s", error)

    @contextmanager
    def _quick_turn(self, sender: str) -> Iterator[None]:
        """The sender's lock for a block that reads, runs no network, then writes: see the
        module's docstring."""
        with self._reading("quick turn") as connection:
            self._check_unlocked(connection, sender)
        if self._local.quick is not None:  # nested: part of the outer one
            yield
            return
        quick = _QuickTurn(sender)
        with quick.stack:
            self._local.quick = quick
            try:
                yield
                if quick.connection is not None:
                    try:
                        quick.connection.execute("COMMIT")
                    except sqlite3.Error as error:
                        raise StoreUnavailable(f"SQLite {self.path}: commit: {error}") from error
            except BaseException:
                if quick.connection is not None and quick.connection.in_transaction:
                    with suppress(sqlite3.Error):
                        quick.connection.execute("ROLLBACK")
                raise
            finally:
                self._local.quick = None

    def _begin(self, quick: _QuickTurn) -> None:
        """A quick turn's first write: take the writer's turn, begin, and check that nobody
        took the sender or changed their state since the turn read it."""
        quick.stack.enter_context(self._writers.turn())
        connection = quick.stack.enter_context(self._reading("quick turn"))
        connection.execute("BEGIN IMMEDIATE")
        quick.connection = connection
        self._check_unlocked(connection, quick.sender)
        if quick.state is not _UNREAD:
            now = connection.execute(
                "SELECT state, updated_at FROM conversations WHERE sender = ?", (quick.sender,)
            ).fetchone()
            if now != quick.state:
                raise StoreBusy("the sender's state changed while their message was answered")

    def _check_unlocked(self, connection: sqlite3.Connection, sender: str) -> None:
        held = connection.execute(
            "SELECT token, expires_at FROM locks WHERE sender = ?", (sender,)
        ).fetchone()
        if held is not None and held[1] >= time.time() and not _owner_is_gone(held[0]):
            raise StoreBusy("the sender's previous message held the lock for 0 s")

    def _take_lock(self, sender: str, token: str) -> bool:
        """One statement takes a free or expired lock; a held one is looked at only when
        that fails, to take it over from a process that is gone."""
        now = time.time()
        with self._write("lock", transaction=False) as connection:
            taken = connection.execute(
                "INSERT INTO locks (sender, token, expires_at) VALUES (?, ?, ?) "
                "ON CONFLICT (sender) DO UPDATE SET token = excluded.token, "
                "expires_at = excluded.expires_at WHERE locks.expires_at < ?",
                (sender, token, now + self.lock_lease, now),
            )
            if taken.rowcount == 1:
                return True
        with self._write("lock") as connection:
            held = connection.execute(
                "SELECT token FROM locks WHERE sender = ?", (sender,)
            ).fetchone()
            if held is None or not _owner_is_gone(held[0]):
                return False
            log.warning("took over a lock left by a process that is gone")
            connection.execute(
                "UPDATE locks SET token = ?, expires_at = ? WHERE sender = ?",
                (token, now + self.lock_lease, sender),
            )
            return True

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
                "SELECT state, updated_at FROM conversations WHERE sender = ?", (sender,)
            ).fetchone()
        quick = self._local.quick
        if quick is not None and quick.connection is None and quick.sender == sender:
            quick.state = row  # what its first write checks is still there
        return state_from_json(row[0] if row and row[1] >= self._cutoff() else None)

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
                "INSERT INTO conversations (sender, state, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (sender) DO UPDATE SET state = excluded.state, "
                "updated_at = excluded.updated_at",
                (sender, state_to_json(state), exchange.at),
            )
            connection.execute(
                "INSERT INTO history (sender, at, exchange) VALUES (?, ?, ?)",
                (sender, exchange.at, raw),
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
        with self._write("count a message", transaction=False) as connection:
            # A trigger deletes the sender's past windows; fetchall ends the statement, and
            # so its transaction.
            ((count,),) = connection.execute(
                "INSERT INTO message_counts (sender, bucket, count) VALUES (?, ?, 1) "
                "ON CONFLICT (sender, bucket) DO UPDATE SET count = count + 1 RETURNING count",
                (sender, window),
            ).fetchall()
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
        with self._write("purge") as connection:  # counts from windows long gone
            connection.execute(
                "DELETE FROM message_counts WHERE bucket < ?", (int(self._clock() // 60) - 1,)
            )
        return deleted

    def close(self) -> None:
        """Close the idle connections; ones in use close when they are handed back."""
        with self._pool_lock:
            self._closed = True
            idle, self._pool = self._pool, []
        for connection in idle:
            connection.close()
        self._writers.close()

    def _cutoff(self) -> float:
        return cutoff(self._clock(), self.retention_days)
