"""The connections of one SQLite file: a small pool per worker process, and a queue for
writers.

Each worker process keeps its own pool, opened after the fork, one connection per busy
thread; a connection that saw an error is closed rather than pooled, so no half-done
transaction survives.

SQLite has one writer at a time, and a writer that finds the file busy sleeps at least a
millisecond before it tries again; under load those sleeps, not the work, set the pace.
So writers queue first: threads on a lock in the process, processes on `flock` of a
`-writer` file beside the database. Both waits are bounded, and SQLite's own busy timeout
still covers anyone else writing to the file.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from memory.base import StoreUnavailable

BUSY_TIMEOUT = 2.0  # seconds a statement waits for another writer before giving up


class WriterQueue:
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


class Connections:
    """This process's connections to one SQLite file, with SQLite's errors turned into
    `StoreUnavailable` naming what was being done."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._pool: list[sqlite3.Connection] = []
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._closed = False
        self._writers = WriterQueue(path)

    @contextmanager
    def reading(self, doing: str, pooled: bool = True) -> Iterator[sqlite3.Connection]:
        """A pooled connection, outside any transaction: each statement stands alone.
        Not `pooled`: a connection of its own, closed after (start-up and health checks,
        which may run in gunicorn's master before it forks: a SQLite connection must not
        cross a fork)."""
        with self._lock:
            if self._pid != os.getpid():  # a forked child never uses its parent's
                self._pool, self._pid = [], os.getpid()
            connection = self._pool.pop() if self._pool and pooled else None
        healthy = False
        try:
            if connection is None:
                connection = self._open()
            yield connection
            healthy = not connection.in_transaction
        except sqlite3.Error as error:
            raise StoreUnavailable(f"SQLite {self.path}: {doing}: {error}") from error
        except BaseException as error:
            # Not SQLite's fault (a failing engine): keep a connection that is back outside
            # any transaction, as opening one costs more than a turn.
            healthy = (
                connection is not None
                and not isinstance(error, StoreUnavailable)
                and not connection.in_transaction
            )
            raise
        finally:
            if connection is not None:
                with self._lock:
                    kept = pooled and healthy and self._pid == os.getpid() and not self._closed
                    if kept:
                        self._pool.append(connection)
                if not kept:
                    connection.close()

    @contextmanager
    def writing(self, doing: str, pooled: bool = True) -> Iterator[sqlite3.Connection]:
        """A write transaction, holding the database's write lock from its first statement
        (`BEGIN IMMEDIATE`), committed when the block ends and rolled back if it raises."""
        with self._writers.turn(), self.reading(doing, pooled) as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise

    @contextmanager
    def statement(self, doing: str) -> Iterator[sqlite3.Connection]:
        """A connection for one writing statement, which is a transaction of its own."""
        with self._writers.turn(), self.reading(doing) as connection:
            yield connection

    def close(self) -> None:
        """Close the idle connections; ones in use close when they are handed back."""
        with self._lock:
            self._closed = True
            idle, self._pool = self._pool, []
        for connection in idle:
            connection.close()
        self._writers.close()

    def _open(self) -> sqlite3.Connection:
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
