"""One message through the bot: lock the sender, answer a redelivery from its record, else
load the state, run the engine, and keep the state, history and reply in one commit.

Every channel calls `Pipeline.handle`, so WhatsApp, the terminal and the web chat share one
engine and one memory. When the memory fails, the user still gets a friendly sentence.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from engine import Engine, Message, Reply, Turn
from memory import Exchange, Store, StoreBusy, StoreUnavailable

log = logging.getLogger("bot.pipeline")

DEGRADED = "I can't reach my memory right now 🧠 Please try again in a minute."
BUSY = "I'm still answering your previous message ⏳ Please send this one again in a moment."
PURGE_EVERY = 3600.0  # seconds between retention purges in one process
MAX_KEPT_TEXT = 2000  # characters of a message kept in the history


@dataclass(frozen=True)
class Handled:
    """What became of a message: the replies to send, and an `outcome` for logs and metrics:
    answered, duplicate (a redelivery, answered from its record), forgotten, busy or
    degraded. `turn` is the engine's turn when the engine ran."""

    replies: tuple[Reply, ...]
    outcome: str
    turn: Turn | None = None


class Pipeline:
    """The engine plus the memory it needs between messages."""

    def __init__(self, engine: Engine, store: Store, clock: Callable[[], float] = time.time):
        self.engine = engine
        self.store = store
        self._clock = clock
        self._next_purge = 0.0
        self._purging = threading.Lock()

    def handle(self, message: Message) -> Handled:
        try:
            with self.store.lock(message.sender):
                handled = self._handle_locked(message)
        except StoreBusy as error:
            log.warning("message %s not handled: %s", message.message_id, error)
            return Handled((Reply(BUSY),), "busy")
        except StoreUnavailable as error:
            log.error("message %s answered without memory: %s", message.message_id, error)
            return Handled((Reply(DEGRADED),), "degraded")
        self._purge_when_due()
        return handled

    def _handle_locked(self, message: Message) -> Handled:
        if message.message_id:
            recorded = self.store.recorded(message.sender, message.message_id)
            if recorded is not None:
                return Handled(recorded, "duplicate")
        turn = self.engine.respond(self.store.load(message.sender), message)
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
