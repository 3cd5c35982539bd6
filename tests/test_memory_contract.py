"""One contract, every backend: memory, SQLite (a real file) and Redis (a real server)."""

from __future__ import annotations

import multiprocessing
import threading
import time
from dataclasses import replace

import pytest

from engine import ConversationState, Reply
from engine.state import Pending
from memory import Exchange, MemoryStore, RedisStore, SqliteStore, StoreBusy
from memory.base import DAY, HISTORY_LIMIT, RECORD_LIMIT

T0 = 1_800_000_000.0  # a fixed "now", in seconds since 1970


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def make_store(kind: str, tmp_path, redis_url: str | None, clock, retention_days: int = 30):
    if kind == "memory":
        return MemoryStore(retention_days, clock)
    if kind == "sqlite":
        return SqliteStore(tmp_path / "bot.db", retention_days, clock)
    return RedisStore(redis_url, retention_days, clock)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture(params=["memory", "sqlite", "redis"])
def kind(request):
    return request.param


@pytest.fixture
def backend_url(kind, request):
    """The Redis URL when the backend is Redis (the fixture skips or fails without one)."""
    return request.getfixturevalue("redis_url") if kind == "redis" else None


@pytest.fixture
def store(kind, tmp_path, backend_url, clock):
    opened = make_store(kind, tmp_path, backend_url, clock)
    yield opened
    opened.close()


def exchange(message_id: str, at: float, text: str = "hi", reply: str = "Hello!") -> Exchange:
    return Exchange(message_id, at, "whatsapp", text, "greet", 0.95, (Reply(reply),))


def state(name: str = "", turns: int = 1) -> ConversationState:
    return ConversationState(
        last_intent="greet", variables={"name": name} if name else {}, turns=turns
    )


def test_an_unknown_sender_starts_fresh(store):
    assert store.load("whatsapp:+1555") == ConversationState()
    assert store.history("whatsapp:+1555") == []
    assert store.recorded("whatsapp:+1555", "SM1") is None


def test_a_commit_keeps_state_history_and_reply(store, clock):
    pending = Pending("weather", {"unit": "c"}, asking="city", attempts=1)
    kept = replace(state("Ana"), pending=pending, suggestion="joke", menu_open=True)
    reply = Reply("Hi Ana 👋 — ünïcödé & <xml>", ("https://example.com/a.png",))
    entry = Exchange("SM1", clock.now, "whatsapp", "hi, I'm Ana 🙂", "greet", 0.9, (reply,))
    assert store.commit("whatsapp:+1555", kept, entry) is True
    assert store.load("whatsapp:+1555") == kept
    assert store.history("whatsapp:+1555") == [entry]
    assert store.recorded("whatsapp:+1555", "SM1") == (reply,)
    store.check()


def test_a_recorded_message_changes_nothing_the_second_time(store, clock):
    assert store.commit("a", state("Ana", 1), exchange("SM1", clock.now, reply="first"))
    clock.now += 5
    assert store.commit("a", state("Bo", 2), exchange("SM1", clock.now, reply="second")) is False
    assert store.load("a") == state("Ana", 1)
    assert [e.replies[0].text for e in store.history("a")] == ["first"]
    assert store.recorded("a", "SM1") == (Reply("first"),)


def test_records_belong_to_their_sender(store, clock):
    store.commit("a", state(), exchange("SM1", clock.now))
    assert store.recorded("b", "SM1") is None
    assert store.commit("b", state(), exchange("SM1", clock.now)) is True


def test_messages_without_an_id_are_kept_but_not_recorded(store, clock):
    assert store.commit("a", state(turns=1), exchange("", clock.now))
    assert store.commit("a", state(turns=2), exchange("", clock.now + 1))
    assert len(store.history("a")) == 2
    assert store.load("a").turns == 2
    assert store.recorded("a", "") is None


def test_history_keeps_the_latest_exchanges_oldest_first(store, clock):
    for n in range(HISTORY_LIMIT + 7):
        store.commit("a", state(turns=n), exchange(f"SM{n}", clock.now + n, text=f"m{n}"))
    texts = [e.text for e in store.history("a")]
    assert texts == [f"m{n}" for n in range(7, HISTORY_LIMIT + 7)]


def test_reply_records_are_bounded_newest_kept(store, clock):
    for n in range(RECORD_LIMIT + 3):
        store.commit("a", state(), exchange(f"SM{n}", clock.now + n))
    assert store.recorded("a", "SM0") is None
    assert store.recorded("a", "SM2") is None
    assert store.recorded("a", "SM3") is not None
    assert store.recorded("a", f"SM{RECORD_LIMIT + 2}") is not None


def test_forget_deletes_everything_about_one_sender(store, clock):
    store.commit("a", state("Ana"), exchange("SM1", clock.now))
    store.commit("b", state("Bo"), exchange("SM2", clock.now))
    store.forget("a")
    assert store.load("a") == ConversationState()
    assert store.history("a") == []
    assert store.recorded("a", "SM1") is None
    assert store.commit("a", state("Ana"), exchange("SM1", clock.now)) is True
    assert store.load("b") == state("Bo")
    assert [e.message_id for e in store.exchanges()].count("SM2") == 1


def test_exchanges_lists_every_sender(store, clock):
    store.commit("a", state(), exchange("SM1", clock.now, text="one"))
    store.commit("b", state(), exchange("SM2", clock.now, text="two"))
    assert sorted(e.text for e in store.exchanges()) == ["one", "two"]


def test_data_older_than_the_retention_period_is_gone(store, clock):
    store.commit("old", state("Old"), exchange("SM1", clock.now, text="old"))
    store.commit("active", state("A"), exchange("SM2", clock.now, text="early"))
    clock.now += 20 * DAY
    store.commit("active", state("A", 2), exchange("SM3", clock.now, text="recent"))
    clock.now += 11 * DAY  # "old" and "early" are 31 days old, "recent" 11
    # Invisible at once, even before a purge runs...
    assert store.load("old") == ConversationState()
    assert store.recorded("old", "SM1") is None
    assert [e.text for e in store.history("active")] == ["recent"]
    # ...and deleted by the purge.
    assert store.purge() >= 3
    assert store.purge() == 0
    assert sorted(e.text for e in store.exchanges()) == ["recent"]
    assert store.load("active") == state("A", 2)
    assert store.recorded("active", "SM3") is not None


def test_retention_zero_keeps_everything(kind, tmp_path, backend_url, clock):
    store = make_store(kind, tmp_path, backend_url, clock, retention_days=0)
    store.commit("a", state("Ana"), exchange("SM1", clock.now))
    clock.now += 5000 * DAY
    assert store.purge() == 0
    assert store.load("a") == state("Ana")
    assert len(store.history("a")) == 1
    store.close()


def test_one_senders_messages_wait_for_each_other(store):
    order = []
    holding = threading.Event()

    def second():
        holding.wait()
        with store.lock("a"):
            order.append("second")

    thread = threading.Thread(target=second)
    thread.start()
    with store.lock("a"):
        holding.set()
        time.sleep(0.2)
        order.append("first")
    thread.join(5)
    assert order == ["first", "second"]


def test_different_senders_do_not_wait(store):
    store.lock_wait = 0.2
    with store.lock("a"):
        with store.lock("b"):
            pass
        with pytest.raises(StoreBusy), store.lock("a"):
            pass  # pragma: no cover -- the lock is held


def test_a_lock_asked_for_with_no_wait_is_tried_once(store):
    store.lock_wait = 3.0
    with store.lock("a"):
        started = time.monotonic()
        with pytest.raises(StoreBusy, match="for 0 s"), store.lock("a", wait=0):
            pass  # pragma: no cover -- the lock is held
        assert time.monotonic() - started < 0.5  # not the 3 s lock_wait
    with store.lock("a", wait=0):  # free again: taken at the first try
        pass


def test_the_lock_is_free_again_after_an_error(store):
    store.lock_wait = 0.2
    with pytest.raises(RuntimeError), store.lock("a"):
        raise RuntimeError("the engine failed")
    with store.lock("a"):
        pass


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_a_lock_left_by_a_dead_worker_expires(store):
    store.lock_lease, store.lock_wait = 0.3, 3.0
    abandoned = store.lock("a")
    abandoned.__enter__()  # the worker dies here and never releases the lock
    started = time.monotonic()
    with store.lock("a"):
        waited = time.monotonic() - started
    assert waited >= 0.25


def _count_up(kind: str, location: str, sender: str, times: int) -> None:
    """In another process: read-modify-write the sender's turn counter under the lock."""
    store = SqliteStore(location) if kind == "sqlite" else RedisStore(location)
    for n in range(times):
        with store.lock(sender):
            current = store.load(sender)
            kept = replace(current, turns=current.turns + 1)
            store.commit(
                sender,
                kept,
                exchange(f"SM-{multiprocessing.current_process().pid}-{n}", time.time()),
            )
    store.close()


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_four_processes_lose_no_update(kind, tmp_path, backend_url):
    location = str(tmp_path / "bot.db") if kind == "sqlite" else backend_url
    if kind == "sqlite":
        SqliteStore(location).close()  # create the schema once, as start-up does
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_count_up, args=(kind, location, "whatsapp:+1555", 25))
        for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    store = SqliteStore(location) if kind == "sqlite" else RedisStore(location)
    assert store.load("whatsapp:+1555").turns == 100
    assert len(store.history("whatsapp:+1555")) == HISTORY_LIMIT
    store.close()


def test_messages_are_counted_per_sender_and_minute(store, clock):
    assert [store.count_message("a") for _ in range(3)] == [1, 2, 3]
    assert store.count_message("b") == 1
    clock.now += 60
    assert store.count_message("a") == 1
    clock.now += 60
    store.forget("a")
    assert store.count_message("a") == 1
