"""`redis://host:port/db`: the store for several workers or hosts sharing one Redis.

A sender has two keys under one hash tag, so a Lua script can change them together,
atomically, even on a cluster: `bot:{sender}:conv`, a hash of the state (`state`, `at`), a
version `v` bumped by every write, the lock (`lock`: "token expiry-ms"), this minute's count
(`w`, `c`), the reply record of each message id (`r:<id>`) and a ring of the last
`RECORD_LIMIT` ids (`s:<n mod RECORD_LIMIT>`, with `n` the message number), and the claim
on a message id waiting for a thread or the lock (`q:<id>`: "token expiry-ms"); and
`bot:{sender}:history`, a list of exchanges; and `bot:{sender}:docs`, the sender's latest
documents, newest first.

A turn is two round trips: one `HMGET` reads everything it needs, one script writes
everything at once (checking, for an optimistic turn, that the version is the one read and
nobody holds the lock or claims the message id). The history is trimmed ten entries at a time and read from its end,
and the keys' expiry is renewed once a day per sender, so a message costs about six
commands. Timeouts are short and retries few: a silent Redis costs a message about a
second, not a minute.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import redis
from redis.backoff import ExponentialBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from conversation import UserDocument
from memory import redis_scripts as scripts
from memory.base import (
    DAY,
    DOCUMENT_LIMIT,
    HISTORY_LIMIT,
    RECORD_LIMIT,
    Exchange,
    StoreUnavailable,
    state_from_json,
    state_to_json,
)
from memory.store import BUSY, IN_FLIGHT, TAKEN, StoreTurn, TurnStore, token_message

SOCKET_TIMEOUT = 0.5  # seconds; a URL's ?socket_timeout=… overrides it
CONNECT_TIMEOUT = 0.5
RETRIES = 1  # one quick retry covers a dropped pooled connection, not an outage
PREFIX = "bot:"
# What a turn reads from the `conv` hash, in this order (plus `r:<id>` for a message id).
_FIELDS = ("v", "lock", "at", "state", "w", "c", "n", "day")


def _keys(sender: str) -> list[str]:
    tag = f"{PREFIX}{{{sender}}}:"
    return [tag + "conv", tag + "history", tag + "docs"]


class RedisStore(TurnStore):
    """The store contract in Redis, shared by every worker and host that uses the URL."""

    def __init__(
        self,
        url: str,
        retention_days: int = 30,
        clock: Callable[[], float] = time.time,
        shown_url: str = "",
    ) -> None:
        super().__init__(shown_url or url, retention_days, clock)
        # Raises ValueError for a URL redis-py cannot read; no connection is made yet.
        self.client = redis.Redis.from_url(
            url,
            decode_responses=True,
            socket_timeout=SOCKET_TIMEOUT,
            socket_connect_timeout=CONNECT_TIMEOUT,
            retry=Retry(ExponentialBackoff(cap=0.1, base=0.02), RETRIES),
        )
        self._commit = self.client.register_script(scripts.COMMIT)
        self._lock = self.client.register_script(scripts.LOCK)
        self._claim_script = self.client.register_script(scripts.CLAIM)
        self._unlock = self.client.register_script(scripts.UNLOCK)
        self._forget = self.client.register_script(scripts.FORGET)
        self._tidy = self.client.register_script(scripts.TIDY)
        self._keep_document = self.client.register_script(scripts.KEEP_DOCUMENT)

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        try:
            yield
        except RedisError as error:
            kind = type(error).__name__
            raise StoreUnavailable(f"Redis {self.url}: {doing}: {kind}: {error}") from error

    def _ping(self) -> None:
        with self._errors("ping"):
            self.client.ping()

    # -- turns --------------------------------------------------------------------------------

    def _claim(self, sender: str, token: str, lease: float) -> bool:
        args = [token, max(1, int(lease * 1000)), token_message(token)]
        with self._errors("claim a message"):
            return bool(self._claim_script(keys=_keys(sender)[:1], args=args))

    def _acquire(self, sender: str, token: str, wait: float) -> str:
        lease_ms = max(1, int(self.lock_lease * 1000))
        args = [token, lease_ms, token_message(token)]
        deadline = time.monotonic() + wait
        delay = 0.002
        while True:
            with self._errors("lock"):
                taken = self._lock(keys=_keys(sender)[:1], args=args)
            if taken:
                return TAKEN if taken == 1 else IN_FLIGHT
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return BUSY
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, 0.05)

    def _release(self, sender: str, token: str) -> None:
        with self._errors("unlock"):
            self._unlock(keys=_keys(sender)[:1], args=[token, token_message(token)])

    def _read(self, turn: StoreTurn) -> None:
        fields = list(_FIELDS)
        if turn.message_id:
            fields += [f"r:{turn.message_id}", f"q:{turn.message_id}"]
        with self._errors("read the turn"):
            values = self.client.hmget(_keys(turn.sender)[0], fields)
        version, lock, at, state, window, count, number, day = values[: len(_FIELDS)]
        if turn.optimistic and _held(lock):
            self._holder(turn, lock.rpartition(" ")[0])
            return
        if turn.optimistic and _held(values[-1] if turn.message_id else None):
            turn.in_flight = True  # claimed by a delivery waiting for a thread or the lock
            return
        oldest = self._cutoff()
        turn.seen = (version or "", int(number or 0), day or "")
        kept = state if at is not None and float(at) >= oldest else None
        turn.state = state_from_json(kept)
        record = values[len(_FIELDS)] if turn.message_id else None
        if record is not None:
            exchange = Exchange.from_json(record)
            turn.recorded = exchange.for_redelivery if exchange.at >= oldest else None
        turn.counted = int(count or 0) if window == str(turn.window) else 0

    def _write(self, turn: StoreTurn) -> None:
        keys = _keys(turn.sender)
        if turn.forgetting:
            with self._errors("forget a sender"):
                self._forget(keys=keys)
            return
        version, number, day = turn.seen
        today = str(int(self._clock() // DAY))
        record = state = at = ""
        if turn.kept is not None:
            kept_state, exchange = turn.kept
            record, state, at = exchange.to_json(), state_to_json(kept_state), repr(exchange.at)
            number += 1
        args = [
            int(turn.optimistic),
            version,
            turn.message_id if turn.kept is not None else "",
            record,
            state,
            at,
            turn.window if turn.counting else "",
            turn.counted + 1,
            number,
            number % RECORD_LIMIT,
            HISTORY_LIMIT,
            today if day != today else "",  # renew the keys' expiry once a day
            int(self.retention_days * DAY + DAY) if self.retention_days else 0,
        ]
        with self._errors("save the turn"):
            result = self._commit(keys=keys, args=args)
        if result[0] == 0:
            turn.conflict = True
        elif result[0] == 2:
            turn.duplicate = Exchange.from_json(result[1]).for_redelivery

    # -- the rest of the contract -------------------------------------------------------------

    def keep_document(self, sender: str, document: UserDocument) -> None:
        key = _keys(sender)[2]
        with self._errors("keep a document"):
            self._keep_document(
                keys=[key],
                args=[
                    document.document_id,
                    document.to_json(),
                    DOCUMENT_LIMIT,
                    int(self.retention_days * DAY + DAY) if self.retention_days else 0,
                ],
            )

    def documents(self, sender: str) -> list[UserDocument]:
        with self._errors("read the documents"):
            raw = self.client.lrange(_keys(sender)[2], 0, -1)
        oldest = self._cutoff()
        return [d for d in map(UserDocument.from_json, raw) if d.at >= oldest]

    def history(self, sender: str) -> list[Exchange]:
        with self._errors("read the history"):
            raw = self.client.lrange(_keys(sender)[1], -HISTORY_LIMIT, -1)
        oldest = self._cutoff()
        return [e for e in map(Exchange.from_json, raw) if e.at >= oldest]

    def exchanges(self) -> Iterator[Exchange]:
        oldest = self._cutoff()
        with self._errors("read the history"):
            for key in self.client.scan_iter(match=f"{PREFIX}{{*}}:history", count=500):
                for raw in self.client.lrange(key, -HISTORY_LIMIT, -1):
                    exchange = Exchange.from_json(raw)
                    if exchange.at >= oldest:
                        yield exchange

    def forget(self, sender: str) -> None:
        with self._errors("forget a sender"):
            self._forget(keys=_keys(sender))

    def purge(self) -> int:
        """Drop what is older than the retention period now; expiry alone would wait for
        the keys' TTLs, which only a sender's silence lets run out."""
        if not self.retention_days:
            return 0
        dropped = 0
        seen: set[str] = set()
        oldest = self._cutoff()
        with self._errors("purge"):
            for suffix in ("conv", "history", "docs"):
                for key in self.client.scan_iter(match=f"{PREFIX}{{*}}:{suffix}", count=500):
                    sender = key[len(PREFIX) + 1 : -len(f"}}:{suffix}")]
                    if sender not in seen:
                        seen.add(sender)
                        dropped += int(self._tidy(keys=_keys(sender), args=[oldest]))
        return dropped

    def close(self) -> None:
        self._stop_releasing()
        self.client.close()


def _held(lock: str | None) -> bool:
    """Whether a `lock` field read from the hash is within its lease (by this host's clock;
    the commit script decides by Redis's own)."""
    if not lock:
        return False
    _, _, expiry = lock.rpartition(" ")
    return expiry.isdigit() and int(expiry) > time.time() * 1000
