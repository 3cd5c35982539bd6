"""The Redis database a bench may use and empty: BOT_BENCH_REDIS_URL's (said aloud, emptied
before and after), else a redis-server of the bench's own, stopped afterwards; None when
there is neither, and the bench leaves its Redis rows out."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import redis

from memory import shown_url
from tests.redis_server import RedisServer, RedisUnavailable


@contextmanager
def bench_redis(script: str) -> Iterator[str | None]:
    """The URL for `script` (its name, for what it prints) to use, or None."""
    named = os.environ.get("BOT_BENCH_REDIS_URL", "")
    if named:
        print(f"{script}: emptying {shown_url(named)} (BOT_BENCH_REDIS_URL)", file=sys.stderr)
        try:
            yield named if emptied(named, script) else None
        finally:
            emptied(named, script)
        return
    server = RedisServer()
    try:
        server.start()
    except RedisUnavailable as error:
        print(f"{script}: no Redis rows: {error}", file=sys.stderr)
        yield None
        return
    try:
        yield server.url
    finally:
        server.stop()


def emptied(url: str, script: str) -> bool:
    """Empty the database at `url`; whether it answered."""
    client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
    try:
        client.flushdb()
        return True
    except redis.RedisError as error:
        print(f"{script}: no Redis rows: {shown_url(url)}: {error}", file=sys.stderr)
        return False
    finally:
        client.close()
