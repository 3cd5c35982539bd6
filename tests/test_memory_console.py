"""How each store keeps the operator console's list and the delivery statuses: Redis's
sorted-set indexes (written by the turn's own script, mended by the purge, never a scan of
the keys), SQLite's indexes and its schema 6. What every store must do is in
test_memory_contract.py."""

from __future__ import annotations

import sqlite3
from dataclasses import replace

import pytest
import redis

from conversation import ConversationState, Reply
from memory import Conversation, Exchange, RedisStore, SqliteStore
from memory import sqlite_store as sqlite_queries
from memory.base import DAY
from memory.redis_store import DELIVERIES_OF, DELIVERY, PERSON, RECENT, STATUS, STATUSES
from memory.sqlite_schema import MIGRATIONS

T0 = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def client(redis_url):
    connection = redis.Redis.from_url(redis_url, decode_responses=True)
    yield connection
    connection.close()


@pytest.fixture
def redis_store(redis_url, clock):
    store = RedisStore(redis_url, 30, clock)
    yield store
    store.close()


def talk(store, sender: str, at: float, human_since: float = 0.0, optimistic=False) -> None:
    message_id = f"SM-{sender}-{at}"
    with store.turn(sender, message_id, optimistic=optimistic) as turn:
        turn.count_message()
        kept = replace(turn.state, turns=turn.state.turns + 1, human_since=human_since)
        entry = Exchange(message_id, at, "whatsapp", "hi", "greet", 0.9, (Reply("Hello!"),))
        turn.keep(kept, entry)
    assert not turn.conflict


def calls(client, *commands: str) -> dict[str, int]:
    """How many times Redis has run each command so far (script bodies included)."""
    stats = client.info("commandstats")
    return {c: stats.get(f"cmdstat_{c}", {}).get("calls", 0) for c in commands}


def since(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {c: after[c] - before[c] for c in after}


# -- Redis ------------------------------------------------------------------------------------


def test_a_message_to_the_bot_adds_one_command_to_the_turns_script(redis_store, client, clock):
    talk(redis_store, "a", clock.now)  # keys made, expiry renewed for today
    before = calls(client, "zadd", "zrem", "eval")
    for n in range(1, 11):
        talk(redis_store, "a", clock.now + n, optimistic=n % 2 == 0)
    # One ZADD a message, inside the script a turn already ran (no EVAL: nothing new).
    assert since(before, calls(client, "zadd", "zrem", "eval")) == {
        "zadd": 10,
        "zrem": 0,
        "eval": 0,
    }
    assert client.zscore(RECENT, "a") == clock.now + 10


def test_the_person_index_changes_only_with_the_handoff(redis_store, client, clock):
    t = clock.now
    talk(redis_store, "a", t)
    before = calls(client, "zadd", "zrem")
    talk(redis_store, "a", t + 1, human_since=t + 1)  # taken by a person
    assert client.zscore(PERSON, "a") == t + 1
    talk(redis_store, "a", t + 2, human_since=t + 1)
    talk(redis_store, "a", t + 3)  # handed back
    assert client.zscore(PERSON, "a") is None
    assert since(before, calls(client, "zadd", "zrem")) == {"zadd": 3 + 1, "zrem": 1}


def test_listing_the_conversations_never_scans_the_keys(redis_store, client, clock):
    for n in range(50):
        talk(redis_store, f"u{n}", clock.now + n, human_since=clock.now if n % 10 == 0 else 0.0)
    before = calls(client, "scan", "keys", "zrange", "zrevrangebyscore")
    listed = redis_store.conversations(20)
    assert since(before, calls(client, "scan", "keys", "zrange", "zrevrangebyscore")) == {
        "scan": 0, "keys": 0, "zrange": 1, "zrevrangebyscore": 1
    }  # fmt: skip
    assert [c.sender for c in listed[:5]] == ["u0", "u10", "u20", "u30", "u40"]
    assert [c.sender for c in listed[5:]] == [f"u{n}" for n in range(49, 0, -1) if n % 10][:15]


def test_the_purge_mends_the_indexes(redis_store, client, clock):
    t = clock.now
    talk(redis_store, "a", t, human_since=t)
    talk(redis_store, "b", t + 1)
    expected = redis_store.conversations()
    # Conversations kept before the indexes existed (or entries gone astray)...
    client.delete(RECENT, PERSON)
    client.zadd(RECENT, {"ghost": t - 40 * DAY, "ghost-recent": t})  # keys long expired
    client.zadd(PERSON, {"ghost": t - 40 * DAY, "ghost-recent": t, "b": t})
    assert redis_store.conversations() == []  # ...are missing (and ghosts are skipped)
    redis_store.purge()
    assert redis_store.conversations() == expected
    assert client.zrange(RECENT, 0, -1) == ["a", "ghost-recent", "b"]  # "ghost" was too old
    # "b" taken out by its state, "ghost" with no exchange; "ghost-recent" waits for the
    # purge that finds it past the retention period.
    assert client.zrange(PERSON, 0, -1) == ["a", "ghost-recent"]


def test_many_stale_people_do_not_hide_the_rest(redis_store, client, clock):
    talk(redis_store, "a", clock.now)
    client.zadd(PERSON, {f"stale{n}": clock.now for n in range(30)})
    assert [c.sender for c in redis_store.conversations(limit=4)] == ["a"]


def test_the_keys_follow_the_scheme_and_forget_leaves_none(redis_store, client, clock):
    talk(redis_store, "whatsapp:+1555", clock.now, human_since=clock.now)
    redis_store.record_delivery("SMout", "queued", about="SM1", sender="whatsapp:+1555")
    redis_store.record_delivery("SMout", "delivered")
    assert set(client.keys("*")) == {
        "bot:{whatsapp:+1555}:conv",
        "bot:{whatsapp:+1555}:history",
        "bot:index:{conversations}:recent",
        "bot:index:{conversations}:person",
        "bot:delivery:{deliveries}:sid:SMout",
        "bot:delivery:{deliveries}:sender:whatsapp:+1555",
        "bot:delivery:{deliveries}:status:delivered",
        "bot:delivery:{deliveries}:statuses",
    }
    assert client.hgetall(DELIVERY + "SMout") == {
        "sid": "SMout",
        "status": "delivered",
        "rank": "4",
        "error": "",
        "at": repr(T0),
        "about": "SM1",
        "sender": "whatsapp:+1555",
        "first": repr(T0),
    }
    assert client.zrange(STATUS + "queued", 0, -1) == []  # moved on to `delivered`
    redis_store.forget("whatsapp:+1555")
    assert set(client.keys("*")) == {STATUSES}  # the statuses seen, and nothing of the user
    assert redis_store.purge() == 0
    assert client.keys("*") == []  # the purge drops the statuses no message has


def test_delivery_keys_expire_a_day_after_the_retention_period(redis_url, client, clock):
    for retention, expected in ((30, 31 * DAY), (0, -1)):
        store = RedisStore(redis_url, retention, clock)
        store.record_delivery(f"SM{retention}", "queued", sender=f"u{retention}")
        for key in (DELIVERY + f"SM{retention}", DELIVERIES_OF + f"u{retention}"):
            assert expected - 5 <= client.ttl(key) <= expected
        store.close()


def test_the_purge_deletes_old_deliveries_in_batches(redis_store, client, clock, monkeypatch):
    monkeypatch.setattr("memory.redis_store.PURGE_BATCH", 3)
    for n in range(7):
        redis_store.record_delivery(f"SM{n}", "sent" if n % 2 else "read", sender=f"u{n % 2}")
    redis_store.record_delivery("SMnew", "sent", sender="u0", at=clock.now + 10 * DAY)
    clock.now += 35 * DAY
    assert redis_store.purge() == 7
    assert [d.sid for d in redis_store.deliveries("u0")] == ["SMnew"]
    assert client.zrange(DELIVERIES_OF + "u1", 0, -1) == []
    assert client.smembers(STATUSES) == {"sent"}


# -- SQLite -----------------------------------------------------------------------------------


def test_the_console_list_is_read_through_indexes(tmp_path):
    SqliteStore(tmp_path / "bot.db").close()
    with sqlite3.connect(tmp_path / "bot.db") as db:
        for query, index in (
            (sqlite_queries._WITH_PERSON, "conversations_with_person"),
            (sqlite_queries._WITH_BOT, "conversations_by_age"),
        ):
            plan = db.execute(f"EXPLAIN QUERY PLAN {query}", {"oldest": 0, "limit": 9})
            steps = [row[3] for row in plan]
            assert f"SEARCH c USING INDEX {index}" in steps[0]
            assert not any("TEMP B-TREE" in step or step.startswith("SCAN") for step in steps)


def test_a_version_5_database_gets_the_console_and_deliveries(tmp_path):
    path = tmp_path / "bot.db"
    with sqlite3.connect(path) as db:
        for migration in MIGRATIONS[:5]:
            db.executescript(migration.read_text())
        waiting = '{"turns": 3, "human_since": 1800000000.5}'
        for sender, state, at in (("a", '{"turns": 1}', T0), ("b", waiting, T0 - 1)):
            db.execute("INSERT INTO conversations VALUES (?, ?, ?)", (sender, state, at))
            entry = Exchange(f"SM{sender}", at, "whatsapp", f"from {sender}", None, 0.0, ())
            db.execute("INSERT INTO history (sender, at, exchange) VALUES (?, ?, ?)",
                       (sender, at, entry.to_json()))  # fmt: skip
        db.execute("PRAGMA user_version = 5")
    store = SqliteStore(path, 30, Clock())
    assert store.conversations() == [
        Conversation("b", "whatsapp", T0 - 1, "from b", 1800000000.5, 1),
        Conversation("a", "whatsapp", T0, "from a", 0.0, 1),
    ]
    store.record_delivery("SM1", "sent", sender="a")
    assert [d.status for d in store.deliveries("a")] == ["sent"]
    store.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 6


def test_a_conversation_kept_by_an_old_state_has_no_person(tmp_path):
    store = SqliteStore(tmp_path / "bot.db", 30, Clock())
    talk(store, "a", T0)
    with sqlite3.connect(tmp_path / "bot.db") as db:  # a state from before human_since
        db.execute("UPDATE conversations SET state = '{\"turns\": 1}'")
    assert [(c.sender, c.human_since) for c in store.conversations()] == [("a", 0.0)]
    with store.turn("a") as turn:
        assert turn.state == ConversationState(turns=1)
    store.close()
