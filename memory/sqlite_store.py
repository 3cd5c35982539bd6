"""`sqlite:///path`: the default store, one file that survives restarts and is shared by the
workers of one machine. Its schema is in `schema/` (`memory.sqlite_schema`), its connections
in `memory.sqlite_connections`.

WAL lets readers run beside the writer. A turn reads everything it needs in one statement,
and makes all its writes in one `BEGIN IMMEDIATE` transaction when it ends. A sender's lock
is a row in `locks`, taken and released in transactions of their own, so the slow work of
a locked turn holds nothing else. An optimistic turn writes no lock row: its transaction
checks that the sender has no lock row and that their state is still the one it read, and
writes nothing otherwise. One commit per message, other writers wait only for the writes,
and a turn that fails or dies halfway leaves nothing of itself behind.

The operator console's list is read from `conversations` (its `updated_at` is the time of
the sender's last exchange; a partial index on the state's `human_since` finds those a
person has) with the last exchange and the count from `history`; nothing is written for it
beyond the turn's own statements. Delivery statuses are rows of `deliveries`, one per
MessageSid, changed by one upsert that keeps the most advanced status.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from conversation import UserDocument
from memory.base import (
    RATE_PERIOD,
    Conversation,
    Delivery,
    Exchange,
    StoreError,
    StoreUnavailable,
    check_delivery,
    delivery_rank,
    state_from_json,
    state_to_json,
)
from memory.sqlite_connections import Connections
from memory.sqlite_locks import LeaseLocks, held
from memory.sqlite_schema import migrate
from memory.store import StoreTurn, TurnStore

log = logging.getLogger("bot.memory")

PURGE_BATCH = 500  # rows per purge transaction, so writers are never held up for long

# Everything a turn reads, in one statement: the lock's holder (if not expired), the state
# and when it was kept, the reply record of the message id, this window's count, and who
# claims the message id (if not expired).
_READ = """
SELECT (SELECT token FROM locks WHERE sender = :sender AND expires_at >= :now),
       conversations.state, conversations.updated_at,
       (SELECT exchange FROM replies
        WHERE sender = :sender AND message_id = :message_id AND at >= :oldest),
       (SELECT count FROM message_counts WHERE sender = :sender AND bucket = :window),
       (SELECT token FROM claims
        WHERE sender = :sender AND message_id = :message_id AND expires_at >= :now)
FROM (SELECT 1) LEFT JOIN conversations ON conversations.sender = :sender
"""
_RECHECK = """
SELECT (SELECT token FROM locks WHERE sender = :sender AND expires_at >= :now),
       (SELECT token FROM claims
        WHERE sender = :sender AND message_id = :message_id AND expires_at >= :now),
       (SELECT state FROM conversations WHERE sender = :sender),
       (SELECT updated_at FROM conversations WHERE sender = :sender)
"""

# The console's list, in two parts read by their indexes in order, so at most `limit` rows
# of each are looked at: the conversations a person has, who has waited longest first
# (conversations_with_person); then the rest, the latest exchange first
# (conversations_by_age, read backwards). Each with its last exchange and how many are kept.
_WITH_PERSON = """
SELECT c.sender, json_extract(c.state, '$.human_since'),
       (SELECT exchange FROM history WHERE sender = c.sender ORDER BY id DESC LIMIT 1),
       (SELECT count(*) FROM history WHERE sender = c.sender AND at >= :oldest)
FROM conversations AS c
WHERE json_extract(c.state, '$.human_since') > 0 AND c.updated_at >= :oldest
ORDER BY json_extract(c.state, '$.human_since'), c.sender LIMIT :limit
"""
_WITH_BOT = """
SELECT c.sender, 0.0,
       (SELECT exchange FROM history WHERE sender = c.sender ORDER BY id DESC LIMIT 1),
       (SELECT count(*) FROM history WHERE sender = c.sender AND at >= :oldest)
FROM conversations AS c
WHERE c.updated_at >= :oldest AND NOT ifnull(json_extract(c.state, '$.human_since') > 0, 0)
ORDER BY c.updated_at DESC, c.sender DESC LIMIT :limit
"""
# A delivery status, kept only if it is more advanced than the one recorded (see
# memory.base.DELIVERY_RANKS); `about` and `sender` from the first record that has them.
_RECORD_DELIVERY = """
INSERT INTO deliveries (sid, status, rank, error_code, at, about, sender, first_at)
VALUES (:sid, :status, :rank, :error_code, :at, :about, :sender, :at)
ON CONFLICT (sid) DO UPDATE SET
    status = CASE WHEN excluded.rank > rank THEN excluded.status ELSE status END,
    error_code = CASE WHEN excluded.rank > rank THEN excluded.error_code ELSE error_code END,
    at = CASE WHEN excluded.rank > rank THEN excluded.at ELSE at END,
    rank = max(rank, excluded.rank),
    about = CASE WHEN about = '' THEN excluded.about ELSE about END,
    sender = CASE WHEN sender = '' THEN excluded.sender ELSE sender END
"""


class SqliteStore(TurnStore):
    """The store contract in one SQLite file."""

    def __init__(
        self,
        path: str | Path,
        retention_days: int = 30,
        clock: Callable[[], float] = time.time,
        url: str = "",
    ) -> None:
        self.path = Path(path)
        super().__init__(url or f"sqlite:///{self.path}", retention_days, clock)
        self._connections = Connections(self.path)
        self._locks = LeaseLocks(self._connections)
        self._open()

    def _open(self) -> None:
        """Create the file and its schema, or raise `StoreError` saying why it cannot be."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreError(f"cannot create the folder {self.path.parent}: {error}") from None
        try:
            with self._connections.writing("open", pooled=False) as connection:
                migrate(connection, self.path)
        except StoreUnavailable as error:
            raise StoreError(f"cannot open {self.path} for writing: {error}") from None

    def _ping(self) -> None:
        with self._connections.reading("check", pooled=False) as connection:
            connection.execute("SELECT 1 FROM conversations LIMIT 1").fetchall()

    # -- turns --------------------------------------------------------------------------------

    def _read(self, turn: StoreTurn) -> None:
        oldest = self._cutoff()
        values = {
            "sender": turn.sender,
            "message_id": turn.message_id,
            "now": time.time(),
            "oldest": oldest,
            "window": turn.window,
        }
        with self._connections.reading("read the turn") as connection:
            row = connection.execute(_READ, values).fetchone()
        holder, state, updated, record, count, claim = row
        if turn.optimistic and held(holder):
            self._holder(turn, holder)
            return
        if turn.optimistic and held(claim):
            turn.in_flight = True  # a delivery of it waits for a thread or the lock
            return
        turn.seen = (state, updated)
        kept = state if updated is not None and updated >= oldest else None
        turn.state = state_from_json(kept)
        turn.recorded = Exchange.from_json(record).for_redelivery if record else None
        turn.counted = count or 0

    def _write(self, turn: StoreTurn) -> None:
        sender = turn.sender
        if turn.kept is not None:  # serialised before the write lock is taken
            state, exchange = turn.kept
            kept_state, record = state_to_json(state), exchange.to_json()
        with self._connections.writing("save the turn") as connection:
            if turn.optimistic:
                now = {"sender": sender, "message_id": turn.message_id, "now": time.time()}
                holder, claim, *seen = connection.execute(_RECHECK, now).fetchone()
                if held(holder) or held(claim) or tuple(seen) != turn.seen:
                    turn.conflict = True
                    return
            if turn.kept is not None and turn.message_id:
                inserted = connection.execute(
                    "INSERT OR IGNORE INTO replies (sender, message_id, at, exchange) "
                    "VALUES (?, ?, ?, ?)",
                    (sender, turn.message_id, exchange.at, record),
                )
                if inserted.rowcount == 0:
                    (raw,) = connection.execute(
                        "SELECT exchange FROM replies WHERE sender = ? AND message_id = ?",
                        (sender, turn.message_id),
                    ).fetchone()
                    turn.duplicate = Exchange.from_json(raw).for_redelivery
                    return
            if turn.counting:
                # A trigger deletes the sender's past windows.
                connection.execute(
                    "INSERT INTO message_counts (sender, bucket, count) VALUES (?, ?, 1) "
                    "ON CONFLICT (sender, bucket) DO UPDATE SET count = count + 1",
                    (sender, turn.window),
                )
            if turn.kept is not None:
                connection.execute(
                    "INSERT INTO conversations (sender, state, updated_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (sender) DO UPDATE SET state = excluded.state, "
                    "updated_at = excluded.updated_at",
                    (sender, kept_state, exchange.at),
                )
                connection.execute(
                    "INSERT INTO history (sender, at, exchange) VALUES (?, ?, ?)",
                    (sender, exchange.at, record),
                )
            if turn.forgetting:
                _forget(connection, sender)

    def _claim(self, sender: str, token: str, lease: float) -> bool:
        return self._locks.claim(sender, token, lease)

    def _acquire(self, sender: str, token: str, wait: float) -> str:
        return self._locks.acquire(sender, token, wait, self.lock_lease)

    def _release(self, sender: str, token: str) -> None:
        self._locks.release(sender, token)

    # -- the rest of the contract -------------------------------------------------------------

    def keep_document(self, sender: str, document: UserDocument) -> None:
        raw = document.to_json()
        with self._connections.writing("keep a document") as connection:
            connection.execute(
                "INSERT OR REPLACE INTO documents (sender, id, at, document) VALUES (?, ?, ?, ?)",
                (sender, document.document_id, document.at, raw),
            )

    def documents(self, sender: str) -> list[UserDocument]:
        with self._connections.reading("read the documents") as connection:
            rows = connection.execute(
                "SELECT document FROM documents WHERE sender = ? AND at >= ? "
                "ORDER BY at DESC, id DESC",
                (sender, self._cutoff()),
            ).fetchall()
        return [UserDocument.from_json(row[0]) for row in rows]

    def history(self, sender: str) -> list[Exchange]:
        with self._connections.reading("read the history") as connection:
            rows = connection.execute(
                "SELECT exchange FROM history WHERE sender = ? AND at >= ? ORDER BY id",
                (sender, self._cutoff()),
            ).fetchall()
        return [Exchange.from_json(row[0]) for row in rows]

    def exchanges(self) -> Iterator[Exchange]:
        with self._connections.reading("read the history") as connection:
            rows = connection.execute(
                "SELECT exchange FROM history WHERE at >= ?", (self._cutoff(),)
            ).fetchall()
        return (Exchange.from_json(row[0]) for row in rows)

    def conversations(self, limit: int = 200) -> list[Conversation]:
        if limit < 1:
            return []  # SQLite reads LIMIT -1 as no limit at all
        values = {"oldest": self._cutoff(), "limit": limit}
        with self._connections.reading("list the conversations") as connection:
            rows = connection.execute(_WITH_PERSON, values).fetchall()
            if len(rows) < limit:
                values["limit"] = limit - len(rows)
                rows += connection.execute(_WITH_BOT, values).fetchall()
        return [_conversation(*row) for row in rows if row[2] is not None]

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
        values = {
            "sid": sid,
            "status": status,
            "rank": delivery_rank(status),
            "error_code": error_code,
            "at": self._clock() if at is None else at,
            "about": about,
            "sender": sender,
        }
        with self._connections.statement("record a delivery status") as connection:
            connection.execute(_RECORD_DELIVERY, values)

    def deliveries(self, sender: str) -> list[Delivery]:
        with self._connections.reading("read the deliveries") as connection:
            rows = connection.execute(
                "SELECT sid, status, error_code, at, about, sender FROM deliveries "
                "WHERE sender = ? AND at >= ? ORDER BY first_at, sid",
                (sender, self._cutoff()),
            ).fetchall()
        return [Delivery(*row) for row in rows]

    def delivery_counts(self, since: float) -> dict[str, int]:
        with self._connections.reading("count the deliveries") as connection:
            rows = connection.execute(
                "SELECT status, count(*) FROM deliveries WHERE at >= ? GROUP BY status",
                (max(since, self._cutoff()),),
            ).fetchall()
        return dict(rows)

    def forget(self, sender: str) -> None:
        with self._connections.writing("forget a sender") as connection:
            _forget(connection, sender)

    def purge(self) -> int:
        oldest = self._cutoff()
        deleted = 0
        for table, column, key in (
            ("conversations", "updated_at", "sender"),
            ("history", "at", "id"),
            ("replies", "at", "sender, message_id"),
            ("documents", "at", "sender, id"),
            ("deliveries", "at", "sid"),
        ):
            while True:
                with self._connections.writing("purge") as connection:
                    count = connection.execute(
                        f"DELETE FROM {table} WHERE ({key}) IN "  # noqa: S608
                        f"(SELECT {key} FROM {table} WHERE {column} < ? LIMIT ?)",
                        (oldest, PURGE_BATCH),
                    ).rowcount
                deleted += count
                if count < PURGE_BATCH:
                    break
        with self._connections.writing("purge") as connection:  # counts from windows long gone
            connection.execute(
                "DELETE FROM message_counts WHERE bucket < ?",
                (int(self._clock() // RATE_PERIOD) - 1,),
            )
            # Claims left by a worker that died while its message waited.
            connection.execute("DELETE FROM claims WHERE expires_at < ?", (time.time(),))
        return deleted

    def close(self) -> None:
        """Close the idle connections; ones in use close when they are handed back."""
        self._stop_releasing()
        self._connections.close()


def _forget(connection: sqlite3.Connection, sender: str) -> None:
    tables = ("conversations", "history", "replies", "message_counts", "documents", "deliveries")
    for table in tables:
        connection.execute(f"DELETE FROM {table} WHERE sender = ?", (sender,))  # noqa: S608


def _conversation(sender: str, since: float, last: str, messages: int) -> Conversation:
    exchange = Exchange.from_json(last)
    human_since = float(since)  # JSON may hold it as an integer
    return Conversation(sender, exchange.channel, exchange.at, exchange.text, human_since, messages)
