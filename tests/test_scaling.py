"""Memory outside the process, for real: gunicorn restarts on one SQLite file, two servers
share one Redis, and concurrent or redelivered messages lose nothing and count once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from engine.replies import render
from memory import RedisStore, SqliteStore
from pipeline import BUSY
from rules import DEMO_RULES
from ruletools import load
from tests.conftest import whatsapp_form
from tests.servers import Server
from tests.stores import kept_state

# The demo's greetings, as Sam (whatsapp_form's profile name) gets them.
GREETINGS = {
    render(r.text, {"profile_name": "Sam"}) for r in load(DEMO_RULES).intent("greet").responses
}


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path}/bot.db"


def test_a_restart_forgets_nothing(sqlite_url, tmp_path):
    first = Server(BOT_STORE_URL=sqlite_url, WEB_CONCURRENCY="2")
    try:
        assert "Ana" in first.say("my name is Ana", From="whatsapp:+15550001")
        assert first.say("weather", From="whatsapp:+15550002") == "Which city? 🌍"
    finally:
        first.stop()
    second = Server(BOT_STORE_URL=sqlite_url, WEB_CONCURRENCY="2")
    try:
        assert second.say("what is my name", From="whatsapp:+15550001") == "Your name is Ana 😊"
        assert "Lisbon" in second.say("Lisbon", From="whatsapp:+15550002")
    finally:
        second.stop()


def test_the_same_request_ten_times_at_once_counts_once(sqlite_url, tmp_path):
    server = Server(BOT_STORE_URL=sqlite_url, WEB_CONCURRENCY="2")
    form = whatsapp_form("tell me a joke", From="whatsapp:+15550003")
    try:
        with ThreadPoolExecutor(10) as pool:
            replies = list(pool.map(lambda _: server.post(form), range(10)))
    finally:
        server.stop()
    # Copies that came while the first was answered get an empty answer, later ones the
    # recorded reply: one joke, never a second one.
    assert len(set(replies) - {""}) == 1
    store = SqliteStore(tmp_path / "bot.db")
    assert kept_state(store, "whatsapp:+15550003").turns == 1
    assert [e.message_id for e in store.history("whatsapp:+15550003")] == [form["MessageSid"]]
    store.close()


def test_two_servers_sharing_redis_hold_one_conversation(redis_url):
    one = Server(BOT_STORE_URL=redis_url, WEB_CONCURRENCY="1")
    two = Server(BOT_STORE_URL=redis_url, WEB_CONCURRENCY="1")
    sender = {"From": "whatsapp:+15550004"}
    try:
        assert one.say("weather", **sender) == "Which city? 🌍"
        assert "Lisbon" in two.say("Lisbon", **sender)
        two.say("my name is Ana", **sender)
        assert one.say("what is my name", **sender) == "Your name is Ana 😊"

        # 20 messages at once, spread over both servers: every turn is counted.
        crowd = {"From": "whatsapp:+15550005"}
        servers = [one, two] * 10
        with ThreadPoolExecutor(20) as pool:
            replies = list(pool.map(lambda s: s.say("hello", **crowd), servers))
        # On a loaded machine a message may wait past the lock's 5 s and be told to send
        # again; every other one is a greeting, and is kept.
        greeted = [r for r in replies if r != BUSY]
        assert greeted
        assert set(greeted) <= GREETINGS

        # One redelivered request, ten times at once, half to each server: answered once.
        form = whatsapp_form("tell me a joke", From="whatsapp:+15550006")
        with ThreadPoolExecutor(10) as pool:
            jokes = list(pool.map(lambda s: s.post(form), servers[:10]))
        assert len(set(jokes) - {""}) == 1
    finally:
        one.stop()
        two.stop()
    store = RedisStore(redis_url)
    assert kept_state(store, crowd["From"]).turns == len(greeted)  # no update lost
    assert len(store.history(crowd["From"])) == len(greeted)
    assert kept_state(store, "whatsapp:+15550006").turns == 1
    store.close()
