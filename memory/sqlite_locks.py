"""A sender's lock in the SQLite store: a row in `locks` with an owner token and a lease,
taken and released in transactions of their own, so the slow work of a locked turn holds
nothing else. The token (see `memory.store.lock_token`) starts with the owner's pid: one file
means one machine, so a lock left by a worker that was killed is taken over at once, not
after the lease."""

from __future__ import annotations

import logging
import os
import time

from memory.sqlite_connections import Connections
from memory.store import BUSY, IN_FLIGHT, TAKEN, token_message

log = logging.getLogger("bot.memory")


class LeaseLocks:
    """The senders' locks of one database."""

    def __init__(self, connections: Connections) -> None:
        self._connections = connections

    def claim(self, sender: str, token: str, lease: float) -> bool:
        """Claim `token`'s message id for `lease` seconds, unless another delivery of it holds
        the claim or the sender's lock (see `TurnStore.claim`)."""
        with self._connections.writing("claim a message") as connection:
            if self._in_flight(connection, sender, token):
                return False
            connection.execute(
                "INSERT INTO claims (sender, message_id, token, expires_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (sender, message_id) DO UPDATE SET token = excluded.token, "
                "expires_at = excluded.expires_at",
                (sender, token_message(token), token, time.time() + lease),
            )
            return True

    def acquire(self, sender: str, token: str, wait: float, lease: float) -> str:
        """The sender's lock for `token`, waited for up to `wait` seconds and held for
        `lease` seconds at the most: TAKEN, BUSY or IN_FLIGHT (see `TurnStore._acquire`)."""
        deadline = time.monotonic() + wait
        delay = 0.002
        while (taken := self._take(sender, token, lease)) == BUSY:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return BUSY
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, 0.05)
        return taken

    def release(self, sender: str, token: str) -> None:
        """Release the lock and the claim `token` holds. Raises `StoreUnavailable` when the
        database cannot be written (the store retries)."""
        with self._connections.writing("unlock") as connection:
            connection.execute("DELETE FROM locks WHERE sender = ? AND token = ?", (sender, token))
            _drop_claim(connection, sender, token)

    def _in_flight(self, connection, sender: str, token: str) -> bool:
        """Whether another live token holds the lock or a claim for `token`'s message."""
        message_id = token_message(token)
        if not message_id:
            return False
        now = time.time()
        rows = connection.execute(
            "SELECT token FROM locks WHERE sender = ? AND expires_at >= ? UNION ALL "
            "SELECT token FROM claims WHERE sender = ? AND message_id = ? AND expires_at >= ?",
            (sender, now, sender, message_id, now),
        ).fetchall()
        return any(
            other != token and token_message(other) == message_id and held(other)
            for (other,) in rows
        )

    def _take(self, sender: str, token: str, lease: float) -> str:
        """Take a free or expired lock, unless another delivery of the message holds the lock
        or a claim; a held lock is looked at only when that fails: held for this message id,
        or by a process that is gone."""
        now = time.time()
        with self._connections.writing("lock") as connection:
            if self._in_flight(connection, sender, token):
                return IN_FLIGHT
            taken = connection.execute(
                "INSERT INTO locks (sender, token, expires_at) VALUES (?, ?, ?) "
                "ON CONFLICT (sender) DO UPDATE SET token = excluded.token, "
                "expires_at = excluded.expires_at WHERE locks.expires_at < ?",
                (sender, token, now + lease, now),
            )
            if taken.rowcount == 1:
                _drop_claim(connection, sender, token)
                return TAKEN
        with self._connections.writing("lock") as connection:
            held = connection.execute(
                "SELECT token FROM locks WHERE sender = ?", (sender,)
            ).fetchone()
            if held is None:
                return BUSY  # released meanwhile: the next round takes it
            if not _owner_is_gone(held[0]):
                message_id = token_message(token)
                return IN_FLIGHT if message_id and token_message(held[0]) == message_id else BUSY
            log.warning("took over a lock left by a process that is gone")
            connection.execute(
                "UPDATE locks SET token = ?, expires_at = ? WHERE sender = ?",
                (token, now + lease, sender),
            )
            _drop_claim(connection, sender, token)
            return TAKEN


def _drop_claim(connection, sender: str, token: str) -> None:
    connection.execute(
        "DELETE FROM claims WHERE sender = ? AND message_id = ? AND token = ?",
        (sender, token_message(token), token),
    )


def held(holder: str | None) -> bool:
    """Whether a lock token read with an unexpired lease belongs to a live process."""
    return holder is not None and not _owner_is_gone(holder)


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
