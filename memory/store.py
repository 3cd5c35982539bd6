"""The store interface (`Store`), and one message's unit of work with a sender's memory
(`StoreTurn`), the same for every store.

`with store.turn(sender, message_id, optimistic=...) as turn:` reads, when the block
begins, everything a message needs: the replies already recorded for its id, the sender's
state, and how many messages they sent in this minute. The block decides; its writes
(`count_message`, `keep`, `forget`) are made together, atomically, when it ends without an
exception, and not at all when it raises.

A turn is either *locked* or *optimistic*:

- locked (the default) holds the sender's lock for the whole block, waiting up to the
  store's `lock_wait` for it, so the block may take its time (a slow API call);
- optimistic takes no lock: it is for a block that waits for nothing. Its writes go in
  only if, at that moment, nobody holds the sender's lock and their state is still the one
  the turn read; else nothing is written and `conflict` says so.

Either way `busy` says, before the block does anything, that the lock was not to be had
(held by another message), and then nothing was read.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from conversation import ConversationState, Reply
from memory.base import LOCK_LEASE, LOCK_WAIT, RATE_PERIOD, Exchange, cutoff


@dataclass
class StoreTurn:
    """What a turn read, the writes it asked for, and, after the block, how they went."""

    sender: str
    message_id: str
    window: int  # the rate-limit window this message falls in
    optimistic: bool
    busy: bool = False
    recorded: tuple[Reply, ...] | None = None  # the replies already sent for this message id
    state: ConversationState = field(default_factory=ConversationState)
    counted: int = 0  # the sender's messages counted in this window before this one
    seen: Any = None  # what the store checks an optimistic turn against (its own business)
    # The writes, made when the block ends.
    counting: bool = False
    kept: tuple[ConversationState, Exchange] | None = None
    forgetting: bool = False
    # After the block.
    duplicate: tuple[Reply, ...] | None = None  # the id was recorded meanwhile: nothing kept
    conflict: bool = False  # optimistic: the sender was taken or changed: nothing written

    def count_message(self) -> int:
        """Count this message against the sender's rate; the count with it included."""
        self.counting = True
        return self.counted + 1

    def keep(self, state: ConversationState, exchange: Exchange) -> None:
        """Keep the new state, add the exchange to the history and record its replies
        under the message id (unless that id is recorded by then: see `duplicate`)."""
        self.kept = (state, exchange)

    def forget(self) -> None:
        """Delete everything about the sender (this message included)."""
        self.forgetting = True

    @property
    def writes(self) -> bool:
        return self.counting or self.kept is not None or self.forgetting


class Store(Protocol):
    """Conversation memory. Every method may raise `StoreUnavailable`. `url` is the store's
    address with any password hidden."""

    url: str

    def check(self) -> None:
        """Raise `StoreUnavailable` unless the store answers now."""

    def turn(
        self, sender: str, message_id: str = "", optimistic: bool = False
    ) -> AbstractContextManager[StoreTurn]:
        """One message's unit of work with the sender's memory (see this module's docstring): what it
        reads when the block begins, and its writes, made together when the block ends.
        Locked by default, so one sender's messages are handled one at a time everywhere;
        `optimistic` for a block that waits for nothing, written only if nobody took or
        changed the sender meanwhile."""

    def history(self, sender: str) -> list[Exchange]:
        """The sender's exchanges within the retention period, oldest first, at most
        `HISTORY_LIMIT`."""

    def exchanges(self) -> Iterator[Exchange]:
        """Every sender's kept exchanges (for reports), in no particular order."""

    def forget(self, sender: str) -> None:
        """Delete the sender's state, history and reply records."""

    def purge(self) -> int:
        """Delete everything older than the retention period; the number of items deleted."""

    def close(self) -> None:
        """Release connections."""


class TurnStore:
    """What the stores share: their settings, the retention cutoff, and `turn`, built on
    four steps each store provides: take and release the sender's lock, read, write."""

    def __init__(self, url: str, retention_days: int, clock: Any) -> None:
        self.url = url
        self.retention_days = retention_days
        self.lock_wait = LOCK_WAIT
        self.lock_lease = LOCK_LEASE
        self._clock = clock

    @contextmanager
    def turn(
        self, sender: str, message_id: str = "", optimistic: bool = False
    ) -> Iterator[StoreTurn]:
        window = int(self._clock() // RATE_PERIOD)
        turn = StoreTurn(sender, message_id, window, optimistic)
        held = None
        if not optimistic:
            held = self._acquire(sender, self.lock_wait)
            if held is None:
                turn.busy = True
                yield turn
                return
        try:
            self._read(turn)
            yield turn
            if not turn.busy and turn.writes:
                self._write(turn)
        finally:
            if held is not None:
                self._release(sender, held)

    def _cutoff(self) -> float:
        return cutoff(self._clock(), self.retention_days)

    # -- each store's own -----------------------------------------------------------------

    def _acquire(self, sender: str, wait: float) -> Any:
        """The sender's lock, waited for up to `wait` seconds: a token for `_release`, or
        None when another message held it all that time."""
        raise NotImplementedError

    def _release(self, sender: str, token: Any) -> None:
        raise NotImplementedError

    def _read(self, turn: StoreTurn) -> None:
        """Fill in what the turn reads; an optimistic turn finding the lock held is `busy`."""
        raise NotImplementedError

    def _write(self, turn: StoreTurn) -> None:
        """Make the turn's writes atomically, or set `duplicate` / `conflict` and make none."""
        raise NotImplementedError
