"""Where conversations are kept between messages: one store, chosen by `BOT_STORE_URL`.

`sqlite:///instance/bot.db` (the default) for one machine, `redis://host:port/db` for several
workers or hosts, `memory://` for tests. A URL that cannot be used stops start-up with the
reason; nothing ever falls back to memory on its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from memory.base import Conversation, Delivery, Exchange, StoreError, StoreUnavailable
from memory.memory_store import MemoryStore
from memory.sqlite_store import SqliteStore
from memory.store import Store, StoreTurn

if TYPE_CHECKING:
    from memory.redis_store import RedisStore

__all__ = [
    "Conversation",
    "Delivery",
    "Exchange",
    "MemoryStore",
    "RedisStore",
    "SqliteStore",
    "Store",
    "StoreError",
    "StoreTurn",
    "StoreUnavailable",
    "open_store",
    "shown_url",
]

SCHEMES = ("sqlite", "redis", "rediss", "memory")


def __getattr__(name: str) -> Any:
    """`RedisStore` on first use: redis-py is imported only by bots that need it."""
    if name == "RedisStore":
        from memory.redis_store import RedisStore

        return RedisStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def shown_url(url: str) -> str:
    """The URL with any password replaced by `***`, fit for logs and /health."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
    except ValueError:
        return "<unreadable URL>"
    user = parts.username or ""
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    netloc = f"{user}:***@{host}{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def sqlite_path(url: str, root: Path) -> Path:
    """The file a `sqlite:///…` URL names; three slashes for a path relative to `root`,
    four for an absolute one (as in SQLAlchemy)."""
    parts = urlsplit(url)
    if parts.netloc or parts.query or parts.fragment:
        raise StoreError("write sqlite:///relative/path.db or sqlite:////absolute/path.db")
    path = parts.path[1:]
    if not path or path.endswith("/"):
        raise StoreError("name the database file, as in sqlite:///instance/bot.db")
    if path == ":memory:":
        raise StoreError("an in-memory SQLite database is not shared; use memory:// in tests")
    return root / path


def open_store(
    url: str, root: Path, retention_days: int, clock: Callable[[], float] = time.time
) -> Store:
    """The store `url` names, opened; `StoreError` says why a URL cannot be used.

    A Redis that is down is not an error here: the store answers `StoreUnavailable` until
    it is back. A SQLite file that cannot be created or written is.
    """
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in SCHEMES:
        raise StoreError(
            "use sqlite:///path/to/bot.db, redis://host:port/db (or rediss://), "
            "or memory:// (tests only)"
        )
    if scheme == "memory":
        if url.lower() != "memory://":
            raise StoreError("memory:// takes no host or path")
        return MemoryStore(retention_days, clock)
    if scheme == "sqlite":
        return SqliteStore(sqlite_path(url, root), retention_days, clock, url=url)
    database = urlsplit(url).path.strip("/")
    if database and not database.isdigit():
        # redis-py would quietly use database 0.
        raise StoreError(f"the database after the port must be a number, not {database!r}")
    from memory.redis_store import RedisStore

    try:
        return RedisStore(url, retention_days, clock, shown_url=shown_url(url))
    except ValueError as error:
        raise StoreError(f"not a Redis URL redis-py can use: {error}") from None
