"""One message through the bot, in one turn with the sender's memory: a redelivery is
answered from its record; else the engine plans the answer from the state, the message is
counted against the rate limit, the plan is carried out, and the new state, the exchange
and the reply record are kept together when the turn ends.

Every channel reaches `Pipeline.handle` (through `channels.answering`), so WhatsApp, the
terminal and the web chat share one engine and one memory. When the memory or the engine
fails, the user still gets a friendly sentence: this is the one place that says sorry.

With a reply `budget`, a message first gets an *optimistic* turn on the caller's thread:
nothing locked, the engine's plan made, and, when the plan waits for nothing (most do: the
engine takes microseconds), its writes made in one go. A plan whose action may wait for the
network, or a sender whose previous message still holds the lock (or who changed meanwhile),
goes to this process's thread pool for a *locked* turn, and `handle` waits at most `budget`
seconds for it: a slow skill then gets "one moment…" at once, and its answer goes to the
channel's `later` callback when it is ready (a Twilio REST message, a WebSocket frame). The
message is understood once: the locked turn reuses the plan when the state is unchanged.

Each message id is answered once. A redelivery of a message still being answered (its id
claimed before it waited for a thread or the lock, or the lock held for it, here or on
another host) gets no reply at all; one already
answered gets the recorded replies again if they went in the webhook's answer, and nothing
if they went out as a follow-up. Whether a late answer goes in the webhook's answer or as
a follow-up is settled once, before it is recorded: the locked turn asks the caller
(`_Job.settle`), and a caller that is told the answer is on its way waits for it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from conversation import Message, Reply
from engine import Engine, Plan, Turn
from memory import Exchange, Store, StoreTurn, StoreUnavailable

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
    the budget and cannot follow) or limited (over the sender's rate limit). `turn` is the
    engine's turn when the engine ran."""

    replies: tuple[Reply, ...]
    outcome: str
    turn: Turn | None = None


Later = Callable[[Message, Handled], None]


@dataclass(frozen=True)
class Deferred:
    """A message the optimistic turn left for a locked one, with the plan made so far."""

    plan: Plan | None = None


@dataclass
class _Job:
    """One message on the pool: its result, and whether the caller stopped waiting for it
    (`late`: the answer goes to `later`) or was bound to wait for it (`promised`)."""

    done: threading.Event = field(default_factory=threading.Event)
    guard: threading.Lock = field(default_factory=threading.Lock)
    result: Handled | None = None
    late: bool = False
    promised: bool = False
    can_follow: bool = True  # the channel has a `later` to send a late answer with
    token: str | None = None  # the message's claim, for its locked turn

    def settle(self) -> bool:
        """Whether the answer about to be recorded goes out later; if not, the caller is
        now bound to wait for it, whatever its budget says. A late answer that no `later`
        can send did not go out at all: it is recorded as if it went in the webhook's
        answer, so a redelivery gets it."""
        with self.guard:
            self.promised = not self.late
            return self.late and self.can_follow

    def give_up(self) -> bool:
        """Stop waiting, unless the answer is already there or promised: whether the caller
        gave up (the answer will go to `later`)."""
        with self.guard:
            self.late = self.result is None and not self.promised
            return self.late


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
            return self._handle(message, optimistic=False)
        first = self._handle(message, optimistic=True)
        if isinstance(first, Handled):
            return first
        # Claimed before it waits for a thread and the sender's lock, so a redelivery that
        # comes meanwhile, here or on another host, is told it is in flight.
        try:
            token = self.store.claim(message.sender, message.message_id)
        except StoreUnavailable as error:
            log.error("message %s answered without memory: %s", message.message_id, error)
            return Handled((Reply(DEGRADED),), "degraded")
        if token is None:
            return Handled((), "duplicate")
        job = _Job(can_follow=later is not None, token=token)
        self._executor().submit(self._run, message, first.plan, job, later)
        if job.done.wait(budget) or not job.give_up():
            job.done.wait()  # promised: being recorded now, a store call's time at most
            return job.result
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

    def _run(self, message: Message, plan: Plan | None, job: _Job, later: Later | None) -> None:
        handled = self._handle(message, optimistic=False, plan=plan, job=job)
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

    def _handle(
        self, message: Message, optimistic: bool, plan: Plan | None = None, job: _Job | None = None
    ) -> Handled | Deferred:
        """The message handled in one turn with the sender's memory; a failing store or
        engine becomes a friendly reply here, and nowhere else."""
        try:
            token = job.token if job is not None else None
            with self.store.turn(message.sender, message.message_id, optimistic, token) as turn:
                handled = self._turn(message, turn, plan, job)
        except StoreUnavailable as error:
            log.error("message %s answered without memory: %s", message.message_id, error)
            return Handled((Reply(DEGRADED),), "degraded")
        except Exception:
            log.exception("failed to answer message %s", message.message_id)
            return Handled((Reply(APOLOGY),), "failed")
        self._purge_when_due()
        if turn.conflict:  # another message of the sender's got there first: nothing was kept
            return Deferred()
        if turn.duplicate is not None:  # recorded by another worker since the turn read
            return Handled(turn.duplicate, "duplicate")
        return handled

    def _turn(
        self, message: Message, turn: StoreTurn, plan: Plan | None, job: _Job | None
    ) -> Handled | Deferred:
        if turn.in_flight:  # another delivery of this message is answering it: say nothing
            return Handled((), "duplicate")
        if turn.busy:
            if turn.optimistic:
                return Deferred(plan)
            log.warning(
                "message %s not handled: the sender's lock stayed taken", message.message_id
            )
            return Handled((Reply(BUSY),), "busy")
        if turn.recorded is not None:
            return Handled(turn.recorded, "duplicate")
        if plan is None or plan.state != turn.state:
            plan = self.engine.plan(turn.state, message)
        if turn.optimistic and plan.may_wait:
            return Deferred(plan)  # nothing written: a locked turn on the pool carries it out
        if self.rate_limit:
            # Counted before any action runs, so a flood never reaches the slow skills.
            count = turn.count_message()
            if count > self.rate_limit:
                # Say it once a minute; after that, stay quiet rather than add to the flood.
                first = count == self.rate_limit + 1
                return Handled((Reply(SLOW_DOWN),) if first else (), "limited")
        # Only an action that reads documents, for a user who has one, costs this read.
        documents = tuple(self.store.documents(message.sender)) if plan.reads_documents else ()
        answer = self.engine.carry_out(plan, documents)
        if answer.document is not None:  # read now: the user may ask about it next
            self.store.keep_document(message.sender, answer.document)
        if answer.forget:
            # Nothing is kept about this message either, so a redelivery forgets again.
            turn.forget()
            return Handled(answer.replies, "forgotten", answer)
        later = job is not None and job.settle()
        turn.keep(answer.state, self._exchange(message, answer, later))
        return Handled(answer.replies, "answered", answer)

    def _exchange(self, message: Message, answer: Turn, later: bool = False) -> Exchange:
        return Exchange(
            message_id=message.message_id,
            at=self._clock(),
            channel=message.channel,
            text=message.text[:MAX_KEPT_TEXT],
            intent=answer.understanding.intent,
            confidence=round(answer.understanding.confidence, 3),
            replies=answer.replies,
            later=later,
        )

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
