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
(held by another message), and then nothing was read; `in_flight` says the lock is held by
this very message id, or claimed for it: a redelivery of a message still being answered,
which gets nothing.

A message that will wait (for a thread, then for its sender's lock) first *claims* its id:
`token = store.claim(sender, message_id)` (None when another delivery of it holds the claim
or the lock), then `store.turn(sender, message_id, token=token)`. The claim lasts until the
turn has the lock (which then names the id) or gives up waiting for it, or its lease ends.

A lock the store could not release (it hung, or restarted, at that moment) is not left to
its lease: the store keeps retrying the release until it answers again, and `check` fails
until then, so /health says the bot is degraded while those senders would be refused.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from conversation import ConversationState, Reply, UserDocument
from memory.base import (
    LOCK_LEASE,
    LOCK_WAIT,
    RATE_PERIOD,
    RELEASE_RETRY,
    Conversation,
    Delivery,
    Exchange,
    StoreUnavailable,
    cutoff,
)

log = logging.getLogger("bot.memory")

# What asking for a sender's lock can come to.
TAKEN, BUSY, IN_FLIGHT = "taken", "busy", "in_flight"


@dataclass
class StoreTurn:
    """What a turn read, the writes it asked for, and, after the block, how they went."""

    sender: str
    message_id: str
    window: int  # the rate-limit window this message falls in
    optimistic: bool
    busy: bool = False
    in_flight: bool = False  # this message id holds the sender's lock: another delivery of it
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

    def claim(self, sender: str, message_id: str) -> str | None:
        """Mark `message_id` as being answered before it waits: a lock token for `turn`, or
        None when another delivery of it holds the claim or the sender's lock."""

    def turn(
        self,
        sender: str,
        message_id: str = "",
        optimistic: bool = False,
        token: str | None = None,
    ) -> AbstractContextManager[StoreTurn]:
        """One message's unit of work with the sender's memory (see this module's docstring): what it
        reads when the block begins, and its writes, made together when the block ends.
        Locked by default, so one sender's messages are handled one at a time everywhere;
        `optimistic` for a block that waits for nothing, written only if nobody took or
        changed the sender meanwhile. `token`: the one `claim` gave."""

    def history(self, sender: str) -> list[Exchange]:
        """The sender's exchanges within the retention period, oldest first, at most
        `HISTORY_LIMIT`."""

    def keep_document(self, sender: str, document: UserDocument) -> None:
        """Keep a document the sender sent or linked (replacing one of the same id); only
        the latest `DOCUMENT_LIMIT` are kept."""

    def documents(self, sender: str) -> list[UserDocument]:
        """The sender's kept documents within the retention period, newest first."""

    def exchanges(self) -> Iterator[Exchange]:
        """Every sender's kept exchanges (for reports), in no particular order."""

    def conversations(self, limit: int = 200) -> list[Conversation]:
        """The operator console's list, at most `limit`: the conversations a person has
        first, who has waited longest (oldest `human_since`) first; then the rest, the
        latest exchange first (ties by sender: see `memory.base.console_order`). Only
        senders with an exchange within the retention period. Read through indexes the
        turns keep, so it costs the same with 10,000 conversations as with 10."""

    def record_delivery(
        self,
        sid: str,
        status: str,
        error_code: str = "",
        about: str = "",
        sender: str = "",
        at: float | None = None,
    ) -> None:
        """Record a status of the message `sid` the bot sent through Twilio's REST API, at
        `at` (the store's clock by default). Callbacks arrive out of order and twice: the
        most advanced status is kept (`memory.base.DELIVERY_RANKS`: failed and undelivered
        beat all, else the higher rank wins, an equal one keeps the first), with its error
        code and time; `about` (the exchange's message id) and `sender` are kept from the
        first record that has them. Atomic: two callbacks racing never step a status back.
        `ValueError` for an empty sid or status."""

    def deliveries(self, sender: str) -> list[Delivery]:
        """The deliveries recorded for `sender` within the retention period, oldest first
        (by when the store first heard of each; ties by sid)."""

    def delivery_counts(self, since: float) -> dict[str, int]:
        """How many messages have each status, counting those whose current status was
        recorded at or after `since` (and within the retention period); statuses with none
        are left out."""

    def forget(self, sender: str) -> None:
        """Delete the sender's state, history, reply records, documents and deliveries,
        and take them off the console's list."""

    def purge(self) -> int:
        """Delete everything older than the retention period (deliveries by the time of
        their status); the number of items deleted."""

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
        self.release_retry = RELEASE_RETRY
        self._clock = clock
        # Locks an outage kept us from releasing: (sender, token) -> when their lease ends.
        self._unreleased: dict[tuple[str, str], float] = {}
        self._unreleased_guard = threading.Lock()
        self._releaser: threading.Thread | None = None

    def claim(self, sender: str, message_id: str) -> str | None:
        token = lock_token(message_id)
        if not message_id:
            return token  # nothing to tell its copies apart by
        try:
            claimed = self._claim(sender, token, self.lock_lease)
        except StoreUnavailable:
            self._release_later(sender, token)  # the claim may land when the store wakes
            raise
        return token if claimed else None

    @contextmanager
    def turn(
        self,
        sender: str,
        message_id: str = "",
        optimistic: bool = False,
        token: str | None = None,
    ) -> Iterator[StoreTurn]:
        window = int(self._clock() // RATE_PERIOD)
        turn = StoreTurn(sender, message_id, window, optimistic)
        if optimistic:
            token = None
        else:
            token = token or lock_token(message_id)
            try:
                taken = self._acquire(sender, token, self.lock_wait)
            except StoreUnavailable:
                # The request may still reach the store and take the lock when it wakes.
                self._release_later(sender, token)
                raise
            if taken != TAKEN:
                turn.busy, turn.in_flight = taken == BUSY, taken == IN_FLIGHT
                if taken == BUSY:
                    self._let_go(sender, token)  # its claim: a redelivery may try again
                yield turn
                return
        try:
            self._read(turn)
            yield turn
            if not (turn.busy or turn.in_flight) and turn.writes:
                self._write(turn)
        finally:
            if token is not None:
                self._let_go(sender, token)

    def check(self) -> None:
        """Raise `StoreUnavailable` unless the store answers now and holds no lock an outage
        kept this process from releasing."""
        self._ping()
        self._release_unreleased()
        if self._unreleased:
            raise StoreUnavailable(
                f"{len(self._unreleased)} sender lock(s) left by an outage are not released yet"
            )

    def _cutoff(self) -> float:
        return cutoff(self._clock(), self.retention_days)

    def _holder(self, turn: StoreTurn, token: str | None) -> None:
        """Mark an optimistic turn that found the sender's lock held by `token`."""
        if token is not None:
            turn.busy = True
            turn.in_flight = bool(turn.message_id) and token_message(token) == turn.message_id

    # -- locks an outage left held --------------------------------------------------------

    def _let_go(self, sender: str, token: str) -> None:
        try:
            self._release(sender, token)
        except StoreUnavailable as error:
            log.warning("could not release a lock; retrying until the store answers: %s", error)
            self._release_later(sender, token)

    def _release_later(self, sender: str, token: str) -> None:
        """Keep releasing the lock in the background until the store answers or its lease
        is over, so the sender is not refused for the rest of the lease after an outage."""
        with self._unreleased_guard:
            self._unreleased[sender, token] = time.monotonic() + self.lock_lease
            if self._releaser is None or not self._releaser.is_alive():
                self._releaser = threading.Thread(
                    target=self._keep_releasing, name="lock-releaser", daemon=True
                )
                self._releaser.start()

    def _keep_releasing(self) -> None:
        while True:
            time.sleep(self.release_retry)
            self._release_unreleased()
            with self._unreleased_guard:
                if not self._unreleased:
                    self._releaser = None
                    return

    def _stop_releasing(self) -> None:
        """On close: stop retrying (the leases end the locks)."""
        with self._unreleased_guard:
            self._unreleased.clear()

    def _release_unreleased(self) -> None:
        with self._unreleased_guard:
            pending = list(self._unreleased.items())
        released = 0
        for (sender, token), lease_end in pending:
            if time.monotonic() < lease_end:  # else its lease is over: nothing to release
                try:
                    self._release(sender, token)
                except StoreUnavailable:
                    return  # still down: try again later
                released += 1
            with self._unreleased_guard:
                self._unreleased.pop((sender, token), None)
        if released:
            log.info("released %d sender lock(s) left by a store outage", released)

    # -- each store's own -----------------------------------------------------------------

    def _ping(self) -> None:
        """Raise `StoreUnavailable` unless the store answers now."""
        raise NotImplementedError

    def _claim(self, sender: str, token: str, lease: float) -> bool:
        """Claim `token_message(token)` for `token` for `lease` seconds, unless another token
        holds an unexpired claim on it or the sender's lock is held for it."""
        raise NotImplementedError

    def _acquire(self, sender: str, token: str, wait: float) -> str:
        """Take the sender's lock for `token`, waiting up to `wait` seconds while another
        message holds it: TAKEN (and `token`'s claim, if any, dropped), BUSY (held by
        another message all that time) or IN_FLIGHT (held for this very message id,
        `token_message(token)`, or the id claimed by another token)."""
        raise NotImplementedError

    def _release(self, sender: str, token: str) -> None:
        """Release the lock and the claim `token` holds, if it still does; raise
        `StoreUnavailable` if the store does not answer (the caller retries)."""
        raise NotImplementedError

    def _read(self, turn: StoreTurn) -> None:
        """Fill in what the turn reads; an optimistic turn finding the lock held is `busy`."""
        raise NotImplementedError

    def _write(self, turn: StoreTurn) -> None:
        """Make the turn's writes atomically, or set `duplicate` / `conflict` and make none."""
        raise NotImplementedError


def lock_token(message_id: str) -> str:
    """A fresh owner for a sender's lock: this process, a random part, and the message it is
    taken for, so another delivery of that message can tell it is being answered."""
    return f"{os.getpid()}:{uuid.uuid4().hex}:{message_id}"


def token_message(token: str) -> str:
    """The message id a lock token was taken for ("" if none)."""
    parts = token.split(":", 2)
    return parts[2] if len(parts) == 3 else ""
