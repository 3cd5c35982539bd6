"""The idle sweep: once a minute, conversations that no person wrote in for
BOT_HANDOFF_IDLE_MINUTES go back to the bot, and their users are told (`people.sweep_idle`).

It runs on a daemon thread in every process that serves requests, started by the first
request the process gets: after gunicorn forks its workers (a thread started in the master
that preloads the app would not survive the fork), and whether or not anyone has the
console open, which a sweep run by console requests would need. Every worker of every host
sweeps; that is safe, since each conversation is re-checked inside its own store turn, and
cheap: one read of the list a minute, and a turn only for conversations a person has.

The engine also hands a conversation back when the user writes after the idle time; the
sweep is what tells a user who does not write.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

log = logging.getLogger("bot.console")

EVERY = 60.0  # seconds between sweeps


class Sweeper:
    """Runs `sweep` every EVERY seconds on a daemon thread of this process."""

    def __init__(self, sweep: Callable[[], int], every: float = EVERY) -> None:
        self.sweep = sweep
        self.every = every
        self.stopped = threading.Event()
        self._pid = 0
        self._lock = threading.Lock()

    def ensure_running(self) -> None:
        """Start the thread in this process unless it runs already (cheap: a pid compare)."""
        if self._pid == os.getpid() or self.stopped.is_set():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            threading.Thread(target=self._run, name="console-idle-sweep", daemon=True).start()

    def stop(self) -> None:
        self.stopped.set()

    def _run(self) -> None:
        while not self.stopped.wait(self.every):
            try:
                self.sweep()
            except Exception:  # the next minute tries again
                log.exception("the idle sweep failed")
