"""`redis://host:port/db`: the store for several workers or hosts sharing one Redis.

A sender has three keys under one hash tag, so a Lua script can change them together,
atomically: `bot:{sender}:conv`, a hash of the state (`state`, `at`), a
version `v` bumped by every write, the lock (`lock`: "token expiry-ms"), this minute's count
(`w`, `c`), the reply record of each message id (`r:<id>`) and a ring of the last
`RECORD_LIMIT` ids (`s:<n mod RECORD_LIMIT>`, with `n` the message number), and the claim
on a message id waiting for a thread or the lock (`q:<id>`: "token expiry-ms"); and
`bot:{sender}:history`, a list of exchanges; and `bot:{sender}:docs`, the sender's latest
documents, newest first.

The operator console's list comes from two sorted sets of senders, so it never scans the
keys: `bot:index:{conversations}:recent`, every sender by the time of their last exchange,
and `bot:index:{conversations}:person`, those a person has, by `human_since`. The turn's
script keeps them (one `ZADD` a message; the `person` set changes only when a person takes
or hands back the conversation), `forget` takes the sender out, and the purge trims them
and sets each sender's entries from their keys, mending anything that went astray.

Delivery statuses are under their own hash tag: `bot:delivery:{deliveries}:sid:<sid>`, a
hash per message the bot sent (status, rank, error, at, about, sender, first);
`…:sender:<sender>`, a sorted set of that user's sids by when the store first heard of
them; `…:status:<status>`, a sorted set of sids by when they reached that status (for the
overview's counts and the purge); `…:statuses`, the statuses seen. A Lua script records
each status, so two callbacks racing cannot step a status back.

The indexes live under hash tags of their own, so the turn's script touches keys of more
than one slot: the store wants one Redis server (with replicas if you like), not a Redis
Cluster, which would refuse that script (redis-py's `Redis` client, used here, does not
speak Cluster either).

A turn is two round trips: one `HMGET` reads everything it needs, one script writes
everything at once (checking, for an optimistic turn, that the version is the one read and
nobody holds the lock or claims the message id). The history is trimmed ten entries at a
time and read from its end, and the keys' expiry is renewed once a day per sender, so a
message costs about seven commands (one the console's `ZADD`). Timeouts are short and retries few: a silent Redis
costs a message about a second, not a minute.
"""

from __future__ import annotations

import itertools
import json
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
    Conversation,
    Delivery,
    Exchange,
    StoreUnavailable,
    check_delivery,
    delivery_rank,
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
# The console's indexes of senders (see the module's docstring).
RECENT = f"{PREFIX}index:{{conversations}}:recent"
PERSON = f"{PREFIX}index:{{conversations}}:person"
# Delivery statuses: prefixes of a delivery's hash, a sender's index, a status's index.
DELIVERY = f"{PREFIX}delivery:{{deliveries}}:sid:"
DELIVERIES_OF = f"{PREFIX}delivery:{{deliveries}}:sender:"
STATUS = f"{PREFIX}delivery:{{deliveries}}:status:"
STATUSES = f"{PREFIX}delivery:{{deliveries}}:statuses"
_DELIVERY_FIELDS = ("sid", "status", "error", "at", "about", "sender")
PURGE_BATCH = 500  # deliveries per purge script, so Redis is never held up for long


def _keys(sender: str) -> list[str]:
    tag = f"{PREFIX}{{{sender}}}:"
    return [tag + "conv", tag + "history", tag + "docs"]


def _indexed(sender: str) -> list[str]:
    """The sender's keys and the console's indexes, for the scripts that keep both."""
    return [*_keys(sender), RECENT, PERSON]


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
        self._trim_indexes = self.client.register_script(scripts.TRIM_INDEXES)
        self._last_exchanges_script = self.client.register_script(scripts.LAST_EXCHANGES)
        self._record_delivery = self.client.register_script(scripts.RECORD_DELIVERY)
        self._count_deliveries = self.client.register_script(scripts.COUNT_DELIVERIES)
        self._forget_deliveries = self.client.register_script(scripts.FORGET_DELIVERIES)
        self._purge_deliveries = self.client.register_script(scripts.PURGE_DELIVERIES)

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
        if turn.forgetting:
            self.forget(turn.sender)
            return
        version, number, day = turn.seen
        today = str(int(self._clock() // DAY))
        record = state = at = person = ""
        if turn.kept is not None:
            kept_state, exchange = turn.kept
            record, state, at = exchange.to_json(), state_to_json(kept_state), repr(exchange.at)
            number += 1
            if kept_state.human_since != turn.state.human_since:
                person = repr(kept_state.human_since) if kept_state.with_person else "0"
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
            self._expiry(),
            turn.sender,
            person,
        ]
        with self._errors("save the turn"):
            result = self._commit(keys=_indexed(turn.sender), args=args)
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
                    self._expiry(),
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
            keys = self.client.scan_iter(match=f"{PREFIX}{{*}}:history", count=500)
            # A pipeline of LRANGEs per batch of SCAN's keys: one round trip per 500 senders,
            # not one per sender (the console's overview reads every history).
            while batch := list(itertools.islice(keys, 500)):
                pipe = self.client.pipeline(transaction=False)
                for key in batch:
                    pipe.lrange(key, -HISTORY_LIMIT, -1)
                for history in pipe.execute():
                    for raw in history:
                        exchange = Exchange.from_json(raw)
                        if exchange.at >= oldest:
                            yield exchange

    def conversations(self, limit: int = 200) -> list[Conversation]:
        if limit < 1:
            return []
        oldest = self._cutoff()
        window = limit
        while True:
            listed, complete = self._listed(window, oldest)
            if len(listed) >= limit or complete:
                return listed[:limit]
            window *= 2  # entries that went stale were skipped: look further

    def _listed(self, window: int, oldest: float) -> tuple[list[Conversation], bool]:
        """The console's list from the first `window` entries of each index, and whether
        those were all there are. Two round trips: the indexes, then the senders' keys."""
        with self._errors("list the conversations"):
            pipe = self.client.pipeline(transaction=False)
            pipe.zrange(PERSON, 0, window - 1)
            pipe.zrevrangebyscore(RECENT, "+inf", oldest, start=0, num=window)
            people, recent = pipe.execute()
            rest = _leading(recent, set(people), window - len(people))
            found = self._last_exchanges(people, rest, oldest)
        listed = []
        for sender in people:
            last, messages, since = found[sender]
            if last is not None and since > 0:  # else the entry is stale: the purge mends it
                listed.append(_conversation(sender, last, since, messages))
        with_person = {c.sender for c in listed}
        for sender in rest:
            last, messages, _ = found[sender]
            if last is not None and sender not in with_person:
                listed.append(_conversation(sender, last, 0.0, messages))
        complete = len(people) < window and len(rest) == len(recent) < window
        return listed, complete

    def _last_exchanges(
        self, people: list[str], rest: list[str], oldest: float
    ) -> dict[str, tuple[Exchange | None, int, float]]:
        """Each sender's last exchange within the retention period (or None), how many are
        kept, and (for `people` alone: it costs reading their state) their human_since;
        read by one script."""
        senders = list(dict.fromkeys(people + rest))
        if not senders:
            return {}
        keys = [key for sender in senders for key in _keys(sender)[:2]]
        wanted = set(people)
        states = ["1" if sender in wanted else "" for sender in senders]
        found = self._last_exchanges_script(keys=keys, args=[oldest, HISTORY_LIMIT, *states])
        read = {}
        for n, sender in enumerate(senders):
            last, messages, at, state = found[4 * n : 4 * n + 4]
            exchange = Exchange.from_json(last) if last else None
            if exchange is None or exchange.at < oldest:
                read[sender] = (None, 0, 0.0)
                continue
            kept = state if at is not None and float(at) >= oldest else None
            read[sender] = (exchange, int(messages), _human_since(kept))
        return read

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
        when = self._clock() if at is None else at
        args = [sid, status, delivery_rank(status), error_code, repr(when), about, sender]
        keys = [DELIVERY + sid, STATUSES, DELIVERIES_OF + sender]
        with self._errors("record a delivery status"):
            self._record_delivery(keys=keys, args=[*args, STATUS, self._expiry()])

    def deliveries(self, sender: str) -> list[Delivery]:
        oldest = self._cutoff()
        with self._errors("read the deliveries"):
            sids = self.client.zrange(DELIVERIES_OF + sender, 0, -1)
            pipe = self.client.pipeline(transaction=False)
            for sid in sids:
                pipe.hmget(DELIVERY + sid, _DELIVERY_FIELDS)
            rows = pipe.execute()
        found = [_delivery(row) for row in rows if row[1] is not None]  # else it expired
        return [d for d in found if d.sender == sender and d.at >= oldest]

    def delivery_counts(self, since: float) -> dict[str, int]:
        since = max(since, self._cutoff())
        with self._errors("count the deliveries"):
            flat = self._count_deliveries(keys=[STATUSES], args=[repr(since), STATUS])
        return {flat[i]: int(flat[i + 1]) for i in range(0, len(flat), 2)}

    def forget(self, sender: str) -> None:
        with self._errors("forget a sender"):
            self._forget(keys=_indexed(sender), args=[sender])
            self._forget_deliveries(keys=[DELIVERIES_OF + sender], args=[DELIVERY, STATUS])

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
                        tidied = self._tidy(keys=_indexed(sender), args=[oldest, sender])
                        dropped += int(tidied)
            self._trim_indexes(keys=[RECENT, PERSON], args=[repr(oldest)])
            while True:
                args = [repr(oldest), PURGE_BATCH, DELIVERY, DELIVERIES_OF, STATUS]
                count = int(self._purge_deliveries(keys=[STATUSES], args=args))
                dropped += count
                if count < PURGE_BATCH:
                    break
        return dropped

    def _expiry(self) -> int:
        """Seconds a key is kept after its last write: a day past the retention period
        (0: for ever)."""
        return int(self.retention_days * DAY + DAY) if self.retention_days else 0

    def close(self) -> None:
        self._stop_releasing()
        self.client.close()


def _leading(recent: list[str], people: set[str], count: int) -> list[str]:
    """The start of `recent` that holds `count` senders not among `people` (those people
    are listed already, unless their entry is stale)."""
    others = 0
    for n, sender in enumerate(recent):
        if others == count:
            return recent[:n]
        others += sender not in people
    return recent


def _human_since(state: str | None) -> float:
    """The `human_since` of a kept state (0.0 when none)."""
    return float(json.loads(state).get("human_since") or 0.0) if state else 0.0


def _conversation(sender: str, last: Exchange, since: float, messages: int) -> Conversation:
    return Conversation(sender, last.channel, last.at, last.text, since, messages)


def _delivery(row: list[str]) -> Delivery:
    sid, status, error, at, about, sender = row
    return Delivery(sid or "", status, error or "", float(at or 0.0), about or "", sender or "")


def _held(lock: str | None) -> bool:
    """Whether a `lock` field read from the hash is within its lease (by this host's clock;
    the commit script decides by Redis's own)."""
    if not lock:
        return False
    _, _, expiry = lock.rpartition(" ")
    return expiry.isdigit() and int(expiry) > time.time() * 1000
