"""The pipeline: state per sender, one reply per message id, forget-me, and no crash when the
memory fails."""

from __future__ import annotations

import logging
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest

from conversation import ActionContext, Message, Outcome, Skill
from memory import MemoryStore, SqliteStore, StoreUnavailable
from pipeline import APOLOGY, BUSY, DEGRADED, SLOW_DOWN, Pipeline, _Job
from ruletools import engine_for, load
from tests.stores import kept_state, recorded


def message(sender: str, body: str, message_id: str = "") -> Message:
    return Message("test", sender, body=body, message_id=message_id)


@pytest.fixture
def store(tmp_path):
    opened = SqliteStore(tmp_path / "bot.db")
    yield opened
    opened.close()


@pytest.fixture
def pipeline(store):
    return Pipeline(engine_for(load()), store)


def test_state_is_kept_per_sender(pipeline):
    pipeline.handle(message("a", "my name is Ana"))
    pipeline.handle(message("b", "my name is Bo"))
    assert pipeline.handle(message("a", "whats my name")).replies[0].text == "Your name is Ana 😊"
    assert kept_state(pipeline.store, "b").variables == {"name": "Bo"}


def test_each_exchange_is_kept_in_the_history(pipeline):
    pipeline.handle(message("a", "tell me a joke", "SM1"))
    pipeline.handle(message("a", "blorp fizzle", "SM2"))
    [joke, nonsense] = pipeline.store.history("a")
    assert (joke.message_id, joke.text, joke.intent) == ("SM1", "tell me a joke", "joke")
    assert (nonsense.intent, nonsense.channel) == (None, "test")


def test_a_redelivered_message_gets_the_first_reply_and_no_second_turn(pipeline):
    first = pipeline.handle(message("a", "tell me a joke", "SM1"))
    again = [pipeline.handle(message("a", "tell me a joke", "SM1")) for _ in range(5)]
    assert first.outcome == "answered"
    assert {h.outcome for h in again} == {"duplicate"}
    assert {h.replies for h in again} == {first.replies}
    assert kept_state(pipeline.store, "a").turns == 1
    assert len(pipeline.store.history("a")) == 1


def test_the_same_message_ten_times_at_once_is_answered_once(store):
    # Jokes are picked at random, so a second run of the engine would likely differ.
    pipeline = Pipeline(engine_for(load(), rng=random.Random()), store)
    with ThreadPoolExecutor(10) as pool:
        results = list(pool.map(lambda _: pipeline.handle(message("a", "joke", "SM7")), range(10)))
    assert sorted(h.outcome for h in results) == ["answered"] + ["duplicate"] * 9
    # A copy that came while the first was being answered gets nothing; one that came
    # after gets the recorded replies; none gets an answer of its own.
    assert len({h.replies for h in results} - {()}) == 1
    assert kept_state(store, "a").turns == 1


def test_forget_me_deletes_state_history_and_records(pipeline):
    pipeline.handle(message("a", "call me Jo", "SM1"))
    pipeline.handle(message("b", "call me Bo", "SM2"))
    handled = pipeline.handle(message("a", "delete my data", "SM3"))
    assert handled.outcome == "forgotten"
    assert "forgotten" in handled.replies[0].text.lower() or "deleted" in handled.replies[0].text
    assert kept_state(pipeline.store, "a").variables == {}
    assert pipeline.store.history("a") == []
    assert recorded(pipeline.store, "a", "SM1") is None
    assert kept_state(pipeline.store, "b").variables == {"name": "Bo"}


class BrokenStore(MemoryStore):
    """A real store whose server has gone away after start-up."""

    def _read(self, turn):
        raise StoreUnavailable("Redis redis://127.0.0.1:1/0: read the turn: ConnectionError")


def test_a_failing_store_gets_the_degraded_reply_and_a_log_line(caplog):
    pipeline = Pipeline(engine_for(load()), BrokenStore())
    with caplog.at_level(logging.ERROR, logger="bot.pipeline"):
        handled = pipeline.handle(message("whatsapp:+14155550123", "hi", "SM9"))
    assert (handled.outcome, handled.replies[0].text) == ("degraded", DEGRADED)
    assert "SM9" in caplog.text
    assert "read the turn: ConnectionError" in caplog.text


def test_a_message_behind_a_stuck_one_gets_the_busy_reply():
    store = MemoryStore()
    store.lock_wait = 0.1
    pipeline = Pipeline(engine_for(load()), store)
    with store.turn("a"):  # another message's turn, holding the sender's lock
        handled = pipeline.handle(message("a", "hi", "SM1"))
    assert (handled.outcome, handled.replies[0].text) == ("busy", BUSY)
    # Not recorded: the same message sent again later is answered normally.
    assert pipeline.handle(message("a", "hi", "SM1")).outcome == "answered"


def test_the_retention_purge_runs_once_an_hour_in_the_background(tmp_path):
    now = [1_800_000_000.0]
    purged = threading.Event()
    calls = []

    class CountingStore(MemoryStore):
        def purge(self):
            calls.append(now[0])
            purged.set()
            return super().purge()

    pipeline = Pipeline(engine_for(load()), CountingStore(), clock=lambda: now[0])
    pipeline.handle(message("a", "hi"))
    assert purged.wait(5)
    purged.clear()
    now[0] += 1800
    pipeline.handle(message("a", "hi"))
    now[0] += 1801
    pipeline.handle(message("a", "hi"))
    assert purged.wait(5)
    assert calls == [1_800_000_000.0, 1_800_003_601.0]


def test_a_sender_over_the_rate_limit_is_told_once_then_ignored(tmp_path):
    now = [1_800_000_000.0]
    shared = tmp_path / "bot.db"
    # Two pipelines on one file stand for two workers: the limit is shared.
    one = Pipeline(engine_for(load()), SqliteStore(shared, clock=lambda: now[0]), rate_limit=3)
    two = Pipeline(engine_for(load()), SqliteStore(shared, clock=lambda: now[0]), rate_limit=3)
    outcomes = [p.handle(message("a", "hi")).outcome for p in (one, two, one)]
    assert outcomes == ["answered"] * 3
    told = two.handle(message("a", "hi"))
    assert (told.outcome, told.replies[0].text) == ("limited", SLOW_DOWN)
    quiet = one.handle(message("a", "hi"))
    assert (quiet.outcome, quiet.replies) == ("limited", ())
    assert one.handle(message("b", "hi")).outcome == "answered"  # others are not affected
    now[0] += 60
    assert two.handle(message("a", "hi")).outcome == "answered"


def threads_seen(quick: bool) -> tuple[Pipeline, list[str]]:
    """A pipeline whose only action, `where`, notes the thread it runs on; `quick` says
    whether it promises never to wait."""
    seen: list[str] = []

    def where(context: ActionContext) -> Outcome:
        seen.append(threading.current_thread().name)
        return Outcome()

    rules = load()
    rules = replace(rules, intents=tuple(replace(i, action="where") for i in rules.intents))
    engine = engine_for(rules, actions={"where": Skill(where, quick=quick)})
    return Pipeline(engine, MemoryStore()), seen


def test_a_quick_turn_is_answered_on_the_callers_thread():
    pipeline, seen = threads_seen(quick=True)
    handled = pipeline.handle(message("a", "hi", "SM1"), budget=1)
    assert handled.outcome == "answered"
    assert seen == [threading.current_thread().name]


def test_a_turn_with_an_action_that_may_wait_runs_on_the_pool():
    pipeline, seen = threads_seen(quick=False)
    handled = pipeline.handle(message("a", "hi", "SM1"), budget=1)
    assert handled.outcome == "answered"
    assert len(seen) == 1
    assert seen[0].startswith("message")
    # Without a budget (the terminal) everything runs on the caller's thread.
    pipeline.handle(message("a", "hi", "SM2"))
    assert seen[1] == threading.current_thread().name
    pipeline.close()


def test_a_slow_turn_is_counted_once_against_the_rate_limit():
    pipeline, seen = threads_seen(quick=False)
    pipeline.rate_limit = 2
    outcomes = [pipeline.handle(message("a", "hi", f"SM{n}"), budget=1).outcome for n in range(3)]
    assert outcomes == ["answered", "answered", "limited"]
    assert len(seen) == 2  # the limited message never reached the action
    pipeline.close()


class WaitingStore(MemoryStore):
    """A real store that says when a turn starts waiting for a sender's lock."""

    def __init__(self):
        super().__init__()
        self.waiting = threading.Event()

    def _acquire(self, sender, token, wait):
        if self._lock(sender).locked():
            self.waiting.set()
        return super()._acquire(sender, token, wait)


def test_a_message_behind_a_busy_one_waits_its_turn_within_the_budget():
    store = WaitingStore()
    pipeline = Pipeline(engine_for(load()), store)
    held = threading.Event()
    order = []

    def hold_the_lock():
        with store.turn("a"):
            held.set()
            store.waiting.wait(30)  # until the message below waits for this very lock
            order.append("released")

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    assert held.wait(30)
    handled = pipeline.handle(message("a", "hi", "SM1"), budget=30)
    order.append(handled.outcome)
    holder.join()
    assert order == ["released", "answered"]
    assert kept_state(store, "a").turns == 1
    pipeline.close()


def test_a_failing_quick_turn_gets_the_apology(monkeypatch, caplog):
    pipeline = Pipeline(engine_for(load()), MemoryStore())

    def explode(state, message):
        raise RuntimeError("a rule blew up")

    monkeypatch.setattr(pipeline.engine, "plan", explode)
    handled = pipeline.handle(message("a", "hi", "SM1"), budget=1)
    assert (handled.outcome, handled.replies[0].text) == ("failed", APOLOGY)
    assert "RuntimeError: a rule blew up" in caplog.text
    # Nothing was kept of the failed turn: the message, sent again, is new.
    assert recorded(pipeline.store, "a", "SM1") is None


def test_a_message_whose_action_may_wait_is_understood_once(monkeypatch):
    pipeline, seen = threads_seen(quick=False)
    plans = []
    plan = pipeline.engine.plan

    def counting(state, message):
        plans.append(message.text)
        return plan(state, message)

    monkeypatch.setattr(pipeline.engine, "plan", counting)
    handled = pipeline.handle(message("a", "hi", "SM1"), budget=30)
    pipeline.close()
    assert handled.outcome == "answered"
    assert seen[0].startswith("message")  # carried out on the pool, from the first plan
    assert plans == ["hi"]


def test_a_late_answer_is_promised_to_the_caller_or_to_later_never_both():
    recorded_first = _Job()
    assert recorded_first.settle() is False  # the caller had not given up: it must wait
    assert recorded_first.give_up() is False
    gave_up_first = _Job()
    assert gave_up_first.give_up() is True
    assert gave_up_first.settle() is True  # recorded as sent later: a redelivery gets nothing


def test_a_late_answer_nothing_can_send_is_recorded_for_a_redelivery():
    job = _Job(can_follow=False)
    assert job.give_up() is True  # the caller said "that took too long"
    assert job.settle() is False  # so the answer, never sent, is the redelivery's to get
