"""One message through the bot: lock the sender, answer a redelivery from its record, else
load the state, run the engine, and keep the state, history and reply in one commit.

Every channel calls `Pipeline.handle`, so WhatsApp, the terminal and the web chat share one
engine and one memory. When the memory fails, the user still gets a friendly sentence.

With a reply `budget`, a message that needs nothing slow is answered on the caller's thread
(most are: the engine takes microseconds). One that would run a slow action, or whose
sender's previous message still holds the lock, runs on this process's thread pool, and
`handle` waits at most `budget` seconds for it: a slow skill then gets "one moment…" at
once, and its answer goes to the channel's `later` callback when it is ready (a Twilio REST
message, a WebSocket frame).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from engine import Engine, Message, NeedsTime, Reply, Turn
from memory import Exchange, Store, StoreBusy, StoreUnavailable

log = logging.getLogger("bot.pipeline")

APOLOGY = "Sorry, something went wrong on my side. 🙏 Please try again in a minute."
DEGRADED = "I can't reach my memory right now 🧠 Please try again in a minute."
ONE_MOMENT = "One moment… ⏳ I'm still working on that and will send the answer shortly."
TOO_SLOW = "Sorry, that is taking too long right now. 🐢 Please try again in a minute."
SLOW_DOWN = "You're sending messages very fast 🙂 I'll answer again in a minute."
WORKERS = 16  # threads per process running messages with a reply budget
BUSY = "I'm still answering your previous message ⏳ Please send this one again in a moment."
PURGE_EVERY = 3600.0  # seconds between retention purges in one process
MAX_KEPT_TEXT = 2000  # characters of a message kept in the history


@dataclass(frozen=True)
class Handled:
    """What became of a message: the replies to send, and an `outcome` for logs and metrics:
    answered, duplicate (a redelivery, answered from its record), forgotten, busy, degraded,
    failed (the engine raised), deferred (the answer follows later), too_slow (it missed
    the budget and cannot follow) or limited (over the sender's rate limit). `turn` is the engine's turn when the engine ran."""

    replies: tuple[Reply, ...]
    outcome: str
    turn: Turn | None = None


Later = Callable[[Message, Handled], None]


@dataclass
class _Job:
    """One message on the pool: its result, and whether the caller stopped waiting for it."""

    done: threading.Event = field(default_factory=threading.Event)
    guard: threading.Lock = field(default_factory=threading.Lock)
    result: Handled | None = None
    late: bool = False


class Pipeline:
    """The engine plus the memory it needs between messages."""

    def __init__(
        self,
        engine: Engine,
        store: Store,
        clock: Callable[[], float] = time.time,
        rate_limit: int = 0,
    ) -> None:
        self.engine = engine
        self.store = store
        self.rate_limit = rate_limit  # messages per sender per minute; 0: no limit
        self._clock = clock
        self._next_purge = 0.0
        self._purging = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._pool_pid = 0
        self._pool_lock = threading.Lock()

    def handle(
        self, message: Message, budget: float | None = None, later: Later | None = None
    ) -> Handled:
        """Answer `message`. With a `budget` (seconds), answer within it: "one moment" when
        the work is not done and `later` can deliver the result, else an apology."""
        if budget is None:
            return self._handle(message)
        try:
            return self._handle(message, quick=True)
        except NeedsTime:
            pass  # a slow action or a busy sender: the pool runs it, within the budget
        except Exception:
            return _failed(message)
        job = _Job()
        self._executor().submit(self._run, message, job, later)
        if job.done.wait(budget):
            return job.result
        with job.guard:
            if job.result is not None:
                return job.result
            job.late = True
        log.warning("message %s missed the %g s reply budget", message.message_id, budget)
        if later is None:
            return Handled((Reply(TOO_SLOW),), "too_slow")
        return Handled((Reply(ONE_MOMENT),), "deferred")

    def close(self) -> None:
        """Wait for the messages still on the pool (late answers included), then stop it."""
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None and self._pool_pid == os.getpid():
            pool.shutdown(wait=True)

    def _executor(self) -> ThreadPoolExecutor:
        """This process's pool, created after any fork (a parent's threads are not ours)."""
        with self._pool_lock:
            if self._pool is None or self._pool_pid != os.getpid():
                self._pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="message")
                self._pool_pid = os.getpid()
            return self._pool

    def _run(self, message: Message, job: _Job, later: Later | None) -> None:
        try:
            handled = self._handle(message)
        except Exception:
            handled = _failed(message)
        with job.guard:
            job.result = handled
            late = job.late
            job.done.set()
        if not late:
            return
        if later is None:
            log.warning(
                "message %s: its late answer had no way to reach the user", message.message_id
            )
            return
        try:
            later(message, handled)
        except Exception:
            log.exception("delivering the late answer to message %s failed", message.message_id)

    def _handle(self, message: Message, quick: bool = False) -> Handled:
        """The message handled under its sender's lock. With `quick`, raise `NeedsTime`,
        having changed nothing, when the lock is taken or the turn would run a slow action."""
        try:
            with self.store.lock(message.sender, 0 if quick else None):
                handled = self._handle_locked(message, quick)
        except StoreBusy as error:
            if quick:
                raise NeedsTime("the sender's lock") from error
            log.warning("message %s not handled: %s", message.message_id, error)
            return Handled((Reply(BUSY),), "busy")
        except StoreUnavailable as error:
            log.error("message %s answered without memory: %s", message.message_id, error)
            return Handled((Reply(DEGRADED),), "degraded")
        self._purge_when_due()
        return handled

    def _handle_locked(self, message: Message, quick: bool) -> Handled:
        if message.message_id:
            recorded = self.store.recorded(message.sender, message.message_id)
            if recorded is not None:
                return Handled(recorded, "duplicate")
        state = self.store.load(message.sender)
        # A quick turn runs before the message is counted: NeedsTime leaves nothing done.
        # A slow one runs after, so a flood never reaches the slow skills.
        turn = self.engine.respond(state, message, quick=True) if quick else None
        if self.rate_limit:
            count = self.store.count_message(message.sender)
            if count > self.rate_limit:
                # Say it once a minute; after that, stay quiet rather than add to the flood.
                first = count == self.rate_limit + 1
                return Handled((Reply(SLOW_DOWN),) if first else (), "limited")
        if turn is None:
            turn = self.engine.respond(state, message)
        if turn.forget:
            # Nothing is kept about this message either, so a redelivery forgets again.
            self.store.forget(message.sender)
            return Handled(turn.replies, "forgotten", turn)
        exchange = Exchange(
            message_id=message.message_id,
            at=self._clock(),
            channel=message.channel,
            text=message.text[:MAX_KEPT_TEXT],
            intent=turn.understanding.intent,
            confidence=round(turn.understanding.confidence, 3),
            replies=turn.replies,
        )
        if not self.store.commit(message.sender, turn.state, exchange):
            # Another worker recorded this message after our check (its lock had expired).
            recorded = self.store.recorded(message.sender, message.message_id)
            return Handled(recorded or turn.replies, "duplicate")
        return Handled(turn.replies, "answered", turn)

    def _purge_when_due(self) -> None:
        """Apply the retention period at most once an hour per process, in a background
        thread, so no reply waits for it."""
        if self._clock() < self._next_purge or not self._purging.acquire(blocking=False):
            return
        self._next_purge = self._clock() + PURGE_EVERY
        threading.Thread(target=self._purge, name="retention-purge", daemon=True).start()

    def _purge(self) -> None:
        try:
            deleted = self.store.purge()
            if deleted:
                log.info("retention purge deleted %d items", deleted)
        except StoreUnavailable as error:
            log.warning("retention purge failed, will retry within the hour: %s", error)
        finally:
            self._purging.release()


def _failed(message: Message) -> Handled:
    """The apology for a message whose handling raised; the traceback goes to the log."""
    log.exception("failed to answer message %s", message.message_id)
    return Handled((Reply(APOLOGY),), "failed")
