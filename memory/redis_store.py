"""`redis://host:port/db`: the store for several workers or hosts sharing one Redis.

Each sender's data sits in four keys under one hash tag (`bot:{sender}:…`), so a Lua script
can update them together, atomically, even on a cluster. Keys expire after the retention
period; the script also drops older history and reply records whenever it writes. Timeouts
are short and retries few: a silent Redis costs a message about a second, not a minute.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import redis
from redis.backoff import ExponentialBackoff
from redis.exceptions import LockError, RedisError
from redis.retry import Retry

from engine import ConversationState, Reply
from memory.base import (
    DAY,
    HISTORY_LIMIT,
    LOCK_LEASE,
    LOCK_WAIT,
    RECORD_LIMIT,
    Exchange,
    StoreBusy,
    StoreUnavailable,
    cutoff,
    state_from_json,
    state_to_json,
)

log = logging.getLogger("bot.memory")

SOCKET_TIMEOUT = 0.5  # seconds; a URL's ?socket_timeout=… overrides it
CONNECT_TIMEOUT = 0.5
RETRIES = 1  # one quick retry covers a dropped pooled connection, not an outage
PREFIX = "bot:"

# Drop what is older than `oldest` (or over the limits) from one sender's keys, then set their
# expiry to `ttl` seconds (0: keep). KEYS: state, history, replies, reply order. The four
# arguments start after the first B; each script below says what B is.
_TIDY_BODY = """
local oldest, ttl = tonumber(ARGV[B+1]), tonumber(ARGV[B+2])
local history_limit, record_limit = tonumber(ARGV[B+3]), tonumber(ARGV[B+4])
local dropped = 0
local state = redis.call('GET', KEYS[1])
if state and cjson.decode(state).at < oldest then
  redis.call('DEL', KEYS[1]); dropped = dropped + 1
end
local excess = redis.call('LLEN', KEYS[2]) - history_limit
if excess > 0 then redis.call('LTRIM', KEYS[2], excess, -1) end
while true do
  local head = redis.call('LINDEX', KEYS[2], 0)
  if not head or cjson.decode(head).at >= oldest then break end
  redis.call('LPOP', KEYS[2]); dropped = dropped + 1
end
local old = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', '(' .. ARGV[B+1])
excess = redis.call('ZCARD', KEYS[4]) - #old - record_limit
if excess > 0 then
  for _, id in ipairs(redis.call('ZRANGE', KEYS[4], #old, #old + excess - 1)) do
    table.insert(old, id)
  end
end
for _, id in ipairs(old) do
  redis.call('HDEL', KEYS[3], id); redis.call('ZREM', KEYS[4], id); dropped = dropped + 1
end
for _, key in ipairs(KEYS) do
  if ttl > 0 then redis.call('EXPIRE', key, ttl) else redis.call('PERSIST', key) end
end
return dropped
"""
_TIDY = _TIDY_BODY.replace("B+", "0+")

# Record the exchange ARGV[3] under message id ARGV[1] at time ARGV[2], unless that id is
# recorded already (then return 0); keep the state ARGV[4], append the exchange to the
# history, then tidy with ARGV[5..8].
_COMMIT = """
local id = ARGV[1]
if id ~= '' then
  if redis.call('HSETNX', KEYS[3], id, ARGV[3]) == 0 then return 0 end
  redis.call('ZADD', KEYS[4], ARGV[2], id)
end
redis.call('SET', KEYS[1], ARGV[4])
redis.call('RPUSH', KEYS[2], ARGV[3])
""" + _TIDY_BODY.replace("B+", "4+").replace("return dropped", "return 1")


def _keys(sender: str) -> list[str]:
    tag = f"{PREFIX}{{{sender}}}:"
    return [tag + "state", tag + "history", tag + "replies", tag + "order"]


class RedisStore:
    """The store contract in Redis, shared by every worker and host that uses the URL."""

    def __init__(
        self,
        url: str,
        retention_days: int = 30,
        clock: Callable[[], float] = time.time,
        shown_url: str = "",
    ) -> None:
        self.url = shown_url or url
        self.retention_days = retention_days
        self.lock_wait = LOCK_WAIT
        self.lock_lease = LOCK_LEASE
        self._clock = clock
        # Raises ValueError for a URL redis-py cannot read; no connection is made yet.
        self.client = redis.Redis.from_url(
            url,
            decode_responses=True,
            socket_timeout=SOCKET_TIMEOUT,
            socket_connect_timeout=CONNECT_TIMEOUT,
            retry=Retry(ExponentialBackoff(cap=0.1, base=0.02), RETRIES),
        )
        self._commit = self.client.register_script(_COMMIT)
        self._tidy = self.client.register_script(_TIDY)

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        try:
            yield
        except RedisError as error:
            kind = type(error).__name__
            raise StoreUnavailable(f"Redis {self.url}: {doing}: {kind}: {error}") from error

    def _limits(self) -> list[float | int]:
        ttl = int(self.retention_days * DAY)
        # Times are seconds since 1970, so 0 stands for "keep everything" (Lua has no -inf).
        return [max(self._cutoff(), 0.0), ttl, HISTORY_LIMIT, RECORD_LIMIT]

    def check(self) -> None:
        with self._errors("ping"):
            self.client.ping()

    @contextmanager
    def lock(self, sender: str, wait: float | None = None) -> Iterator[None]:
        wait = self.lock_wait if wait is None else wait
        lock = self.client.lock(
            f"{PREFIX}{{{sender}}}:lock",
            timeout=self.lock_lease,
            sleep=0.005,
            blocking_timeout=wait,
            thread_local=False,
        )
        with self._errors("lock"):
            taken = lock.acquire(blocking=wait > 0)
        if not taken:
            raise StoreBusy(f"the sender's previous message held the lock for {wait:g} s")
        try:
            yield
        finally:
            try:
                lock.release()
            except (LockError, RedisError) as error:
                log.warning("could not release a lock (it expires by itself): %s", error)

    def recorded(self, sender: str, message_id: str) -> tuple[Reply, ...] | None:
        with self._errors("read a reply record"):
            raw = self.client.hget(_keys(sender)[2], message_id)
        if raw is None:
            return None
        exchange = Exchange.from_json(raw)
        return exchange.replies if exchange.at >= self._cutoff() else None

    def load(self, sender: str) -> ConversationState:
        with self._errors("load the state"):
            raw = self.client.get(_keys(sender)[0])
        if raw is None:
            return ConversationState()
        kept = json.loads(raw)
        if kept.get("at", 0.0) < self._cutoff():
            return ConversationState()
        return state_from_json(json.dumps(kept.get("state") or {}))

    def commit(self, sender: str, state: ConversationState, exchange: Exchange) -> bool:
        kept = f'{{"at":{exchange.at!r},"state":{state_to_json(state)}}}'
        args = [exchange.message_id, exchange.at, exchange.to_json(), kept, *self._limits()]
        with self._errors("save the turn"):
            return bool(self._commit(keys=_keys(sender), args=args))

    def history(self, sender: str) -> list[Exchange]:
        with self._errors("read the history"):
            raw = self.client.lrange(_keys(sender)[1], 0, -1)
        oldest = self._cutoff()
        return [e for e in map(Exchange.from_json, raw) if e.at >= oldest]

    def exchanges(self) -> Iterator[Exchange]:
        oldest = self._cutoff()
        with self._errors("read the history"):
            for key in self.client.scan_iter(match=f"{PREFIX}{{*}}:history", count=500):
                for raw in self.client.lrange(key, 0, -1):
                    exchange = Exchange.from_json(raw)
                    if exchange.at >= oldest:
                        yield exchange

    def count_message(self, sender: str, period: int = 60) -> int:
        window = int(self._clock() // period)
        key = f"{PREFIX}{{{sender}}}:count:{window}"
        with self._errors("count a message"):
            pipe = self.client.pipeline(transaction=True)
            pipe.incr(key)
            pipe.expire(key, 2 * period)
            count, _ = pipe.execute()
        return int(count)

    def forget(self, sender: str) -> None:
        with self._errors("forget a sender"):
            # The message counter expires on its own within two minutes.
            self.client.delete(*_keys(sender))

    def purge(self) -> int:
        """Tidy every sender's keys now; expiry alone would wait for their TTLs."""
        dropped = 0
        limits = self._limits()
        seen: set[str] = set()
        with self._errors("purge"):
            for suffix in ("history", "state", "order"):
                for key in self.client.scan_iter(match=f"{PREFIX}{{*}}:{suffix}", count=500):
                    sender = key[len(PREFIX) + 1 : -len(f"}}:{suffix}")]
                    if sender not in seen:
                        seen.add(sender)
                        dropped += int(self._tidy(keys=_keys(sender), args=limits))
        return dropped

    def close(self) -> None:
        self.client.close()

    def _cutoff(self) -> float:
        return cutoff(self._clock(), self.retention_days)
