"""One contract, every backend: memory, SQLite (a real file) and Redis (a real server)."""

from __future__ import annotations

import multiprocessing
import threading
import time
from dataclasses import replace

import pytest

from conversation import ConversationState, Pending, Reply, UserDocument
from memory import Conversation, Delivery, Exchange, MemoryStore, RedisStore, SqliteStore
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


# -- the operator console's list --------------------------------------------------------------


def talk(
    store, sender: str, at: float, text: str = "hi", human_since: float = 0.0, channel="whatsapp"
) -> None:
    """One more exchange from `sender` at `at`, their state saying who answers."""
    message_id = f"SM-{sender}-{at}"
    with store.turn(sender, message_id) as turn:
        kept = replace(turn.state, turns=turn.state.turns + 1, human_since=human_since)
        replies = (Reply("Hello!"),)
        turn.keep(kept, Exchange(message_id, at, channel, text, "greet", 0.9, replies))


def listed(store, limit: int = 200) -> list[tuple[str, float]]:
    return [(c.sender, c.human_since) for c in store.conversations(limit)]


def test_the_console_lists_people_first_longest_waiting_first_then_the_latest(store, clock):
    t = clock.now
    talk(store, "bot-old", t - 50, "first")
    talk(store, "waiting-short", t - 40, "agent please", human_since=t - 5)
    talk(store, "bot-new", t - 30, "weather?", channel="web")
    talk(store, "waiting-long", t - 20, "this is useless", human_since=t - 100)
    talk(store, "bot-old", t - 10, "again")  # now the latest of the rest
    assert store.conversations() == [
        Conversation("waiting-long", "whatsapp", t - 20, "this is useless", t - 100, 1),
        Conversation("waiting-short", "whatsapp", t - 40, "agent please", t - 5, 1),
        Conversation("bot-old", "whatsapp", t - 10, "again", 0.0, 2),
        Conversation("bot-new", "web", t - 30, "weather?", 0.0, 1),
    ]
    assert listed(store, limit=3) == [("waiting-long", t - 100), ("waiting-short", t - 5),
                                      ("bot-old", 0.0)]  # fmt: skip
    assert listed(store, limit=1) == [("waiting-long", t - 100)]
    assert listed(store, limit=0) == listed(store, limit=-1) == []


def test_the_console_list_follows_a_handoff_and_the_return_to_the_bot(store, clock):
    t = clock.now
    talk(store, "a", t - 30)
    talk(store, "b", t - 20)
    talk(store, "a", t - 10, "talk to a person", human_since=t - 10)
    assert listed(store) == [("a", t - 10), ("b", 0.0)]
    talk(store, "a", t - 5, "thanks", human_since=t - 10)  # still with the person
    assert listed(store) == [("a", t - 10), ("b", 0.0)]
    talk(store, "a", t, "ok bot", human_since=0.0)  # handed back
    assert listed(store) == [("a", 0.0), ("b", 0.0)]
    assert store.conversations()[0].messages == 4


def test_the_console_list_counts_at_most_the_history_kept(store, clock):
    for n in range(HISTORY_LIMIT + 5):
        talk(store, "a", clock.now + n, f"m{n}")
    [conversation] = store.conversations()
    assert (conversation.messages, conversation.last_text) == (
        HISTORY_LIMIT,
        f"m{HISTORY_LIMIT + 4}",
    )


def test_the_console_list_ties_go_by_sender(store, clock):
    for sender in ("b", "c", "a"):
        talk(store, sender, clock.now)
    for sender in ("y", "z", "x"):
        talk(store, sender, clock.now, human_since=clock.now - 9)
    assert [s for s, _ in listed(store)] == ["x", "y", "z", "c", "b", "a"]


def test_the_console_list_leaves_out_what_the_retention_period_dropped(store, clock):
    t = clock.now
    talk(store, "gone", t, "old")
    talk(store, "gone-person", t + 1, "help", human_since=t + 1)
    talk(store, "active", t + 2, "early")
    clock.now += 20 * DAY
    talk(store, "active", clock.now, "recent")
    clock.now += 11 * DAY  # "old", "help" and "early" are past the 30 days
    expected = [Conversation("active", "whatsapp", t + 20 * DAY, "recent", 0.0, 1)]
    assert store.conversations() == expected  # hidden at once...
    store.purge()
    assert store.conversations() == expected  # ...and still, once purged


def test_a_person_of_long_ago_is_forgotten_when_the_user_is_back(store, clock):
    talk(store, "a", clock.now, "help", human_since=clock.now)
    talk(store, "b", clock.now + 1)
    clock.now += 31 * DAY  # no purge meanwhile
    talk(store, "a", clock.now, "hello again")  # the state was past retention: the bot answers
    assert listed(store) == [("a", 0.0)]


def test_forgetting_a_sender_takes_them_off_the_console_list(store, clock):
    talk(store, "a", clock.now, human_since=clock.now)
    talk(store, "b", clock.now + 1)
    talk(store, "c", clock.now + 2)
    store.forget("a")
    with store.turn("b") as turn:  # as "forget me" does: inside the sender's turn
        turn.forget()
    assert listed(store) == [("c", 0.0)]


def test_a_turn_that_writes_nothing_leaves_the_console_list_alone(store, clock):
    talk(store, "a", clock.now)
    with store.turn("a", "SM2", optimistic=True) as late:
        late.keep(replace(late.state, human_since=clock.now), exchange("SM2", clock.now + 5))
        talk(store, "a", clock.now + 1, "overtaking")
    assert late.conflict

    def failing_turn() -> None:
        with store.turn("b") as turn:
            turn.keep(state(), exchange("SM3", clock.now + 9))
            raise RuntimeError("the engine failed")

    with pytest.raises(RuntimeError, match="the engine failed"):
        failing_turn()
    assert [(c.sender, c.last_text, c.human_since) for c in store.conversations()] == [
        ("a", "overtaking", 0.0)
    ]


def test_an_empty_store_lists_no_conversations(store):
    assert store.conversations() == []


# -- delivery statuses ------------------------------------------------------------------------


def test_a_sent_message_is_recorded_and_follows_its_callbacks(store, clock):
    t = clock.now
    store.record_delivery("SMout1", "queued", about="SM1", sender="whatsapp:+1555")
    clock.now += 1
    store.record_delivery("SMout1", "sent")
    clock.now += 1
    store.record_delivery("SMout1", "delivered")
    assert store.deliveries("whatsapp:+1555") == [
        Delivery("SMout1", "delivered", "", t + 2, "SM1", "whatsapp:+1555")
    ]
    store.record_delivery("SMout1", "read", at=t + 60)  # Twilio's own time, when given
    assert store.deliveries("whatsapp:+1555")[0].at == t + 60
    assert store.deliveries("whatsapp:+1666") == []


def test_a_late_or_repeated_callback_never_steps_a_status_back(store, clock):
    t = clock.now
    store.record_delivery("SMout1", "queued", about="SM1", sender="a", at=t)
    store.record_delivery("SMout1", "delivered", at=t + 5)
    store.record_delivery("SMout1", "sent", at=t + 6)  # late
    store.record_delivery("SMout1", "delivered", at=t + 7)  # again: the first one stays
    assert store.deliveries("a") == [Delivery("SMout1", "delivered", "", t + 5, "SM1", "a")]


def test_a_failure_is_final_and_keeps_its_error_code(store, clock):
    t = clock.now
    store.record_delivery("SMout1", "sent", sender="a", at=t)
    store.record_delivery("SMout1", "undelivered", "63016", at=t + 1)
    store.record_delivery("SMout1", "read", at=t + 2)  # a failure beats everything
    store.record_delivery("SMout1", "failed", "30008", at=t + 3)  # the first failure stays
    assert store.deliveries("a") == [Delivery("SMout1", "undelivered", "63016", t + 1, "", "a")]
    store.record_delivery("SMout2", "read", sender="a", at=t)
    store.record_delivery("SMout2", "failed", "30008", at=t + 1)
    assert store.deliveries("a")[1] == Delivery("SMout2", "failed", "30008", t + 1, "", "a")


def test_a_callback_before_the_bots_own_record_keeps_both(store, clock):
    t = clock.now
    store.record_delivery("SMout1", "sent", at=t)  # Twilio was quicker than our record
    store.record_delivery("SMout1", "queued", about="SM1", sender="a", at=t + 1)
    store.record_delivery("SMout1", "delivered", about="SMx", sender="b", at=t + 2)
    assert store.deliveries("a") == [Delivery("SMout1", "delivered", "", t + 2, "SM1", "a")]
    assert store.deliveries("b") == []


def test_an_unknown_status_is_kept_as_given_and_ranks_lowest(store, clock):
    store.record_delivery("SMout1", "partially_delivered", sender="a")
    assert [d.status for d in store.deliveries("a")] == ["partially_delivered"]
    store.record_delivery("SMout1", "queued")
    store.record_delivery("SMout1", "Bogus")
    assert [d.status for d in store.deliveries("a")] == ["queued"]


def test_a_senders_deliveries_come_oldest_first(store, clock):
    t = clock.now
    store.record_delivery("SMb", "queued", sender="a", at=t + 2)
    store.record_delivery("SMc", "queued", sender="b", at=t + 1)
    store.record_delivery("SMa", "queued", sender="a", at=t + 3)
    store.record_delivery("SMb", "read", at=t + 9)  # a later status does not reorder
    store.record_delivery("SMz", "queued", sender="a", at=t + 1)
    store.record_delivery("SMy", "queued", sender="a", at=t + 1)  # same time: by sid
    assert [d.sid for d in store.deliveries("a")] == ["SMy", "SMz", "SMb", "SMa"]


def test_delivery_counts_go_by_the_time_of_each_current_status(store, clock):
    t = clock.now
    for n, status in enumerate(["queued", "sent", "delivered", "delivered", "read", "failed"]):
        store.record_delivery(f"SM{n}", status, sender="a", at=t + n)
    assert store.delivery_counts(t) == {
        "queued": 1, "sent": 1, "delivered": 2, "read": 1, "failed": 1
    }  # fmt: skip
    assert store.delivery_counts(t + 3) == {"delivered": 1, "read": 1, "failed": 1}
    store.record_delivery("SM0", "read", at=t + 10)  # moved on: counted as read, at t + 10
    assert store.delivery_counts(t + 5) == {"read": 1, "failed": 1}
    assert store.delivery_counts(t + 11) == {}


def test_forgetting_a_sender_deletes_their_deliveries(store, clock):
    store.record_delivery("SM1", "queued", sender="a")
    store.record_delivery("SM2", "delivered", sender="b")
    with store.turn("a") as turn:
        turn.forget()
    assert store.deliveries("a") == []
    assert store.delivery_counts(0.0) == {"delivered": 1}
    store.record_delivery("SM3", "sent", sender="b")
    store.forget("b")
    assert (store.deliveries("b"), store.delivery_counts(0.0)) == ([], {})


def test_deliveries_older_than_the_retention_period_are_purged(store, clock):
    t = clock.now
    store.record_delivery("SMold", "delivered", sender="a", at=t)
    store.record_delivery("SMnew", "queued", sender="a", at=t)
    store.record_delivery("SMnew", "read", at=t + 20 * DAY)
    clock.now += 35 * DAY
    assert [d.sid for d in store.deliveries("a")] == ["SMnew"]  # hidden at once
    assert store.delivery_counts(0.0) == {"read": 1}
    assert store.purge() >= 1
    clock.now -= 35 * DAY  # even looking back, SMold is gone for good
    assert [d.sid for d in store.deliveries("a")] == ["SMnew"]
    assert store.delivery_counts(0.0) == {"read": 1}


def test_a_delivery_needs_a_sid_and_a_status(store):
    for sid, status in (("", "sent"), ("SM1", "")):
        with pytest.raises(ValueError, match="sid and a status"):
            store.record_delivery(sid, status)
    assert store.delivery_counts(0.0) == {}


STATUSES = ["queued", "sending", "sent", "delivered", "read", "failed", "undelivered"]


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_callbacks_racing_on_several_connections_keep_the_most_advanced(
    kind, tmp_path, backend_url, clock
):
    first = make_store(kind, tmp_path, backend_url, clock)
    stores = [first] + [make_store(kind, tmp_path, backend_url, clock) for _ in STATUSES[1:]]
    start = threading.Barrier(len(stores))
    errors = []

    def callbacks(store, n: int) -> None:
        try:
            start.wait(SAFETY)
            for message in range(30):
                # Each message's statuses land in another order on each thread.
                status = STATUSES[(n + message) % len(STATUSES)]
                store.record_delivery(f"SM{message}", status, sender="a", at=T0 + n)
        except Exception as error:  # reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=callbacks, args=(s, n)) for n, s in enumerate(stores)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(SAFETY)
    assert errors == []
    kept = first.deliveries("a")
    assert len(kept) == 30
    # Every message ends failed or undelivered: whichever of the two came first.
    assert {d.status for d in kept} <= {"failed", "undelivered"}
    assert sum(first.delivery_counts(0.0).values()) == 30
    for store in stores:
        store.close()
