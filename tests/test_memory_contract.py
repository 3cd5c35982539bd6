"""One contract, every backend: memory, SQLite (a real file) and Redis (a real server)."""

from __future__ import annotations

import multiprocessing
import threading
import time
from dataclasses import replace

import pytest

from conversation import ConversationState, Pending, Reply, UserDocument
from memory import Exchange, MemoryStore, RedisStore, SqliteStore
from memory.base import DAY, DOCUMENT_LIMIT, HISTORY_LIMIT, RECORD_LIMIT
from tests.conftest import SAFETY
from tests.stores import commit, counted, kept_state, recorded

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


def count(store, sender: str) -> int:
    """Count one more message from the sender, as the pipeline does; the count so far."""
    with store.turn(sender) as turn:
        return turn.count_message()


def state(name: str = "", turns: int = 1) -> ConversationState:
    return ConversationState(
        last_intent="greet", variables={"name": name} if name else {}, turns=turns
    )


def test_an_unknown_sender_starts_fresh(store):
    assert kept_state(store, "whatsapp:+1555") == ConversationState()
    assert store.history("whatsapp:+1555") == []
    assert recorded(store, "whatsapp:+1555", "SM1") is None


def test_a_commit_keeps_state_history_and_reply(store, clock):
    pending = Pending("weather", {"unit": "c"}, asking="city", attempts=1)
    kept = replace(state("Ana"), pending=pending, suggestion="joke", menu_open=True)
    reply = Reply("Hi Ana 👋 — ünïcödé & <xml>", ("https://example.com/a.png",))
    entry = Exchange("SM1", clock.now, "whatsapp", "hi, I'm Ana 🙂", "greet", 0.9, (reply,))
    assert commit(store, "whatsapp:+1555", kept, entry) is True
    assert kept_state(store, "whatsapp:+1555") == kept
    assert store.history("whatsapp:+1555") == [entry]
    assert recorded(store, "whatsapp:+1555", "SM1") == (reply,)
    store.check()


def test_a_recorded_message_changes_nothing_the_second_time(store, clock):
    assert commit(store, "a", state("Ana", 1), exchange("SM1", clock.now, reply="first"))
    clock.now += 5
    assert commit(store, "a", state("Bo", 2), exchange("SM1", clock.now, reply="second")) is False
    assert kept_state(store, "a") == state("Ana", 1)
    assert [e.replies[0].text for e in store.history("a")] == ["first"]
    assert recorded(store, "a", "SM1") == (Reply("first"),)


def test_records_belong_to_their_sender(store, clock):
    commit(store, "a", state(), exchange("SM1", clock.now))
    assert recorded(store, "b", "SM1") is None
    assert commit(store, "b", state(), exchange("SM1", clock.now)) is True


def test_messages_without_an_id_are_kept_but_not_recorded(store, clock):
    assert commit(store, "a", state(turns=1), exchange("", clock.now))
    assert commit(store, "a", state(turns=2), exchange("", clock.now + 1))
    assert len(store.history("a")) == 2
    assert kept_state(store, "a").turns == 2
    assert recorded(store, "a", "") is None


def test_history_keeps_the_latest_exchanges_oldest_first(store, clock):
    for n in range(HISTORY_LIMIT + 7):
        commit(store, "a", state(turns=n), exchange(f"SM{n}", clock.now + n, text=f"m{n}"))
    texts = [e.text for e in store.history("a")]
    assert texts == [f"m{n}" for n in range(7, HISTORY_LIMIT + 7)]


def test_reply_records_are_bounded_newest_kept(store, clock):
    for n in range(RECORD_LIMIT + 3):
        commit(store, "a", state(), exchange(f"SM{n}", clock.now + n))
    assert recorded(store, "a", "SM0") is None
    assert recorded(store, "a", "SM2") is None
    assert recorded(store, "a", "SM3") is not None
    assert recorded(store, "a", f"SM{RECORD_LIMIT + 2}") is not None


def test_forget_deletes_everything_about_one_sender(store, clock):
    commit(store, "a", state("Ana"), exchange("SM1", clock.now))
    commit(store, "b", state("Bo"), exchange("SM2", clock.now))
    store.forget("a")
    assert kept_state(store, "a") == ConversationState()
    assert store.history("a") == []
    assert recorded(store, "a", "SM1") is None
    assert commit(store, "a", state("Ana"), exchange("SM1", clock.now)) is True
    assert kept_state(store, "b") == state("Bo")
    assert [e.message_id for e in store.exchanges()].count("SM2") == 1


def test_exchanges_lists_every_sender(store, clock):
    commit(store, "a", state(), exchange("SM1", clock.now, text="one"))
    commit(store, "b", state(), exchange("SM2", clock.now, text="two"))
    assert sorted(e.text for e in store.exchanges()) == ["one", "two"]


def test_data_older_than_the_retention_period_is_gone(store, clock):
    commit(store, "old", state("Old"), exchange("SM1", clock.now, text="old"))
    commit(store, "active", state("A"), exchange("SM2", clock.now, text="early"))
    clock.now += 20 * DAY
    commit(store, "active", state("A", 2), exchange("SM3", clock.now, text="recent"))
    clock.now += 11 * DAY  # "old" and "early" are 31 days old, "recent" 11
    # Invisible at once, even before a purge runs...
    assert kept_state(store, "old") == ConversationState()
    assert recorded(store, "old", "SM1") is None
    assert [e.text for e in store.history("active")] == ["recent"]
    # ...and deleted by the purge.
    assert store.purge() >= 3
    assert store.purge() == 0
    assert sorted(e.text for e in store.exchanges()) == ["recent"]
    assert kept_state(store, "active") == state("A", 2)
    assert recorded(store, "active", "SM3") is not None


def test_retention_zero_keeps_everything(kind, tmp_path, backend_url, clock):
    store = make_store(kind, tmp_path, backend_url, clock, retention_days=0)
    commit(store, "a", state("Ana"), exchange("SM1", clock.now))
    clock.now += 5000 * DAY
    assert store.purge() == 0
    assert kept_state(store, "a") == state("Ana")
    assert len(store.history("a")) == 1
    store.close()


def announcing(store):
    """`store`, whose turns set `store.asking` when they start asking for a sender's lock."""
    store.asking = threading.Event()
    acquire = store._acquire

    def _acquire(sender, token, wait):
        store.asking.set()
        return acquire(sender, token, wait)

    store._acquire = _acquire
    return store


def test_one_senders_messages_wait_for_each_other(store):
    order = []
    with store.turn("a"):
        announcing(store)
        thread = threading.Thread(target=lambda: order.append(next_turn(store, "a")))
        thread.start()
        assert store.asking.wait(30)  # the second turn asks for the lock while it is held
        order.append("first")
    thread.join(30)
    assert order == ["first", "second"]


def next_turn(store, sender: str) -> str:
    with store.turn(sender) as turn:
        return "busy" if turn.busy else "second"


def test_a_turn_that_waits_in_vain_is_busy_and_reads_nothing(store, clock):
    commit(store, "a", state("Ana"), exchange("SM1", clock.now))
    store.lock_wait = 0.05
    with store.turn("a") as first:
        with store.turn("b") as other:  # other senders go ahead
            assert (other.busy, other.state) == (False, ConversationState())
        with store.turn("a", "SM1") as second:
            assert (second.busy, second.state, second.recorded) == (True, ConversationState(), None)
        assert first.state == state("Ana")


def test_an_optimistic_turn_writes_at_its_end(store, clock):
    with store.turn("a", "SM1", optimistic=True) as turn:
        assert (turn.busy, turn.count_message()) == (False, 1)
        turn.keep(state("Ana"), exchange("SM1", clock.now))
        assert recorded(store, "a", "SM1") is None  # nothing written before the end
    assert (turn.conflict, turn.duplicate) == (False, None)
    assert kept_state(store, "a") == state("Ana")
    assert recorded(store, "a", "SM1") == (Reply("Hello!"),)
    assert counted(store, "a") == 1


def test_an_optimistic_turn_never_waits_for_a_held_lock(store):
    store.lock_wait = 30.0  # a turn that waited would time the test out
    with store.turn("a"), store.turn("a", optimistic=True) as turn:
        assert turn.busy
    with store.turn("a", optimistic=True) as turn:  # free again
        assert not turn.busy


def test_an_optimistic_turn_overtaken_by_another_writes_nothing(store, clock):
    with store.turn("a", "SM2", optimistic=True) as late:
        late.count_message()
        late.keep(state("Bo"), exchange("SM2", clock.now))
        assert commit(store, "a", state("Ana"), exchange("SM1", clock.now))
    assert late.conflict
    assert kept_state(store, "a") == state("Ana")
    assert recorded(store, "a", "SM2") is None
    assert counted(store, "a") == 0
    assert [e.message_id for e in store.history("a")] == ["SM1"]


def test_an_optimistic_turn_yields_to_a_lock_taken_meanwhile(store, clock):
    with store.turn("a", "SM2", optimistic=True) as late:
        late.keep(state("Bo"), exchange("SM2", clock.now))
        held = store.turn("a")
        held.__enter__()  # another message takes the sender and is still at work
    assert late.conflict
    held.__exit__(None, None, None)
    assert kept_state(store, "a") == ConversationState()


def test_a_turn_that_raises_writes_nothing(store, clock):
    store.lock_wait = 0.2

    def failing_turn(optimistic: bool) -> None:
        with store.turn("a", "SM1", optimistic) as turn:
            turn.count_message()
            turn.keep(state("Ana"), exchange("SM1", clock.now))
            raise RuntimeError("the engine failed")

    for optimistic in (False, True):
        with pytest.raises(RuntimeError, match="the engine failed"):
            failing_turn(optimistic)
    assert (kept_state(store, "a"), counted(store, "a")) == (ConversationState(), 0)
    assert recorded(store, "a", "SM1") is None
    with store.turn("a") as turn:  # and the lock is free again
        assert not turn.busy


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_a_message_recorded_behind_a_turns_back_makes_it_a_duplicate(store, clock):
    store.lock_lease, store.lock_wait = 0.1, 30.0
    with store.turn("a", "SM1") as slow:
        assert slow.recorded is None
        slow.keep(state("Bo"), exchange("SM1", clock.now, reply="second"))
        # The slow turn outlives its lease; another worker takes the sender over and
        # answers the same message first (until the lease is over, it is told the message
        # is in flight, and writes nothing).
        deadline = time.monotonic() + SAFETY
        while True:
            with store.turn("a", "SM1") as other:
                if not other.in_flight:
                    other.keep(state("Ana"), exchange("SM1", clock.now, reply="first"))
                    break
            assert time.monotonic() < deadline, "the slow turn's lease never ended"
        assert other.duplicate is None
    assert slow.duplicate == (Reply("first"),)
    assert kept_state(store, "a") == state("Ana")
    assert [e.replies[0].text for e in store.history("a")] == ["first"]


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_a_lock_left_by_a_dead_worker_expires(store):
    store.lock_lease, store.lock_wait = 0.3, 30.0
    abandoned = store.turn("a")
    abandoned.__enter__()  # the worker dies here and never releases the lock
    with store.turn("a") as turn:
        assert not turn.busy  # taken over once the lease ran out, well within lock_wait


def _count_up(kind: str, location: str, sender: str, times: int) -> None:
    """In another process: read-modify-write the sender's turn counter under the lock."""
    store = SqliteStore(location) if kind == "sqlite" else RedisStore(location)
    for n in range(times):
        message_id = f"SM-{multiprocessing.current_process().pid}-{n}"
        with store.turn(sender, message_id) as turn:
            assert not turn.busy
            turn.keep(
                replace(turn.state, turns=turn.state.turns + 1), exchange(message_id, time.time())
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
    assert kept_state(store, "whatsapp:+1555").turns == 100
    assert len(store.history("whatsapp:+1555")) == HISTORY_LIMIT
    store.close()


def test_messages_are_counted_per_sender_and_minute(store, clock):
    assert [count(store, "a") for _ in range(3)] == [1, 2, 3]
    assert count(store, "b") == 1
    clock.now += 60
    assert count(store, "a") == 1
    clock.now += 60
    store.forget("a")
    assert count(store, "a") == 1


def test_another_delivery_of_the_message_holding_the_lock_is_told_it_is_in_flight(store):
    store.lock_wait = 30.0  # told at once, not after waiting for the lock
    with store.turn("a", "SM1") as first:
        assert (first.busy, first.in_flight) == (False, False)
        for optimistic in (False, True):
            with store.turn("a", "SM1", optimistic=optimistic) as copy:
                assert (copy.in_flight, copy.recorded) == (True, None)
                copy.keep(state("Bo"), exchange("SM1", 0.0))  # ignored: nothing is written
        store.lock_wait = 0.05
        with store.turn("a", "SM2") as other:  # another message of the sender's waits
            assert (other.busy, other.in_flight) == (True, False)
        first.keep(state("Ana"), exchange("SM1", first.window * 60.0))
    assert kept_state(store, "a") == state("Ana")
    assert [e.message_id for e in store.history("a")] == ["SM1"]


def test_an_answer_that_went_out_later_is_not_given_to_a_redelivery(store, clock):
    late = replace(exchange("SM1", clock.now, reply="the joke"), later=True)
    assert commit(store, "a", state("Ana"), late)
    with store.turn("a", "SM1") as copy:
        assert copy.recorded == ()
    assert store.history("a")[0].replies == (Reply("the joke"),)  # the history keeps it


def test_a_claimed_message_is_in_flight_for_every_other_delivery_until_it_is_answered(store):
    token = store.claim("a", "SM1")
    assert token is not None
    assert store.claim("a", "SM1") is None  # a redelivery, meanwhile
    assert store.claim("a", "SM2") is not None  # another message is not held up
    with store.turn("a", "SM1", optimistic=True) as copy:
        assert copy.in_flight
        copy.keep(state("Bo"), exchange("SM1", 0.0))  # ignored: nothing is written
    assert copy.conflict is False
    assert recorded(store, "a", "SM1") is None
    with store.turn("a", "SM1", token=token) as first:  # the claimant takes the lock
        assert (first.busy, first.in_flight) == (False, False)
        assert store.claim("a", "SM1") is None  # the lock names the message now
        first.keep(state("Ana"), exchange("SM1", first.window * 60.0))
    assert kept_state(store, "a") == state("Ana")


def test_a_claim_that_gave_up_waiting_for_the_lock_lets_a_redelivery_try_again(store):
    token = store.claim("a", "SM1")
    store.lock_wait = 0.05
    # Another message of the sender's holds the lock all the while.
    with store.turn("a", "SM0"), store.turn("a", "SM1", token=token) as waited:
        assert (waited.busy, waited.in_flight) == (True, False)
    assert store.claim("a", "SM1") is not None


def document(document_id: str, at: float, text: str = "Refunds within 30 days.") -> UserDocument:
    return UserDocument(document_id, at, f"Doc {document_id}", "pdf", "menu.pdf", ((1, text),))


def test_a_senders_latest_documents_are_kept_newest_first(store, clock):
    for n in range(DOCUMENT_LIMIT + 1):
        store.keep_document("a", document(f"MM{n}", clock.now + n))
    store.keep_document("b", document("MMb", clock.now))
    assert [d.document_id for d in store.documents("a")] == ["MM3", "MM2", "MM1"]
    assert store.documents("a")[0] == document("MM3", clock.now + 3)  # pages and all
    store.keep_document("a", document("MM2", clock.now + 9, "Replaced."))  # the same id again
    assert [d.document_id for d in store.documents("a")] == ["MM2", "MM3", "MM1"]
    assert store.documents("a")[0].pages == ((1, "Replaced."),)
    assert [d.document_id for d in store.documents("b")] == ["MMb"]


def test_forgetting_a_sender_deletes_their_documents(store, clock):
    store.keep_document("a", document("MM1", clock.now))
    store.keep_document("b", document("MM2", clock.now))
    store.forget("a")
    assert store.documents("a") == []
    assert [d.document_id for d in store.documents("b")] == ["MM2"]


def test_documents_older_than_the_retention_period_are_purged(store, clock):
    store.keep_document("a", document("MM1", clock.now))
    clock.now += 20 * DAY
    store.keep_document("a", document("MM2", clock.now))
    clock.now += 15 * DAY  # MM1 is 35 days old, MM2 15
    assert [d.document_id for d in store.documents("a")] == ["MM2"]  # hidden at once
    assert store.purge() >= 1
    clock.now -= 35 * DAY  # even looking back, MM1 is gone for good
    assert [d.document_id for d in store.documents("a")] == ["MM2"]
