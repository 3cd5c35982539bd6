"""A sender's lock in the SQLite store: a row in `locks` with an owner token and a lease,
taken and released in transactions of their own, so the slow work of a locked turn holds
nothing else. The token starts with the owner's pid: one file means one machine, so a lock
left by a worker that was killed is taken over at once, not after the lease."""

from __future__ import annotations

import logging
import os
import time
import uuid

from memory.base import StoreUnavailable
from memory.sqlite_connections import Connections

log = logging.getLogger("bot.memory")


class LeaseLocks:
    """The senders' locks of one database."""

    def __init__(self, connections: Connections) -> None:
        self._connections = connections

    def acquire(self, sender: str, wait: float, lease: float) -> str | None:
        """A token for the sender's lock, waited for up to `wait` seconds and held for `lease`
        seconds at the most; None if another message held it all that time."""
        # The owner's pid first: a lock left by a worker that was killed is taken over at
        # once, not after the lease (one file means one machine, so the pid says it all).
        token = f"{os.getpid()}:{uuid.uuid4().hex}"
        deadline = time.monotonic() + wait
        delay = 0.002
        while not self._take(sender, token, lease):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, 0.05)
        return token

    def release(self, sender: str, token: str) -> None:
        try:
            with self._connections.statement("unlock") as connection:
                connection.execute(
                    "DELETE FROM locks WHERE sender = ? AND token = ?", (sender, token)
                )
        except StoreUnavailable as error:
            log.warning("could not release a lock (it expires by itself): %s", error)

    def _take(self, sender: str, token: str, lease: float) -> bool:
        """One statement takes a free or expired lock; a held one is looked at only when
        that fails, to take it over from a process that is gone."""
        now = time.time()
        with self._connections.statement("lock") as connection:
            taken = connection.execute(
                "INSERT INTO locks (sender, token, expires_at) VALUES (?, ?, ?) "
                "ON CONFLICT (sender) DO UPDATE SET token = excluded.token, "
                "expires_at = excluded.expires_at WHERE locks.expires_at < ?",
                (sender, token, now + lease, now),
            )
            if taken.rowcount == 1:
                return True
        with self._connections.writing("lock") as connection:
            held = connection.execute(
                "SELECT token FROM locks WHERE sender = ?", (sender,)
            ).fetchone()
            if held is None or not _owner_is_gone(held[0]):
                return False
            log.warning("took over a lock left by a process that is gone")
            connection.execute(
                "UPDATE locks SET token = ?, expires_at = ? WHERE sender = ?",
                (token, now + lease, sender),
            )
            return True


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
