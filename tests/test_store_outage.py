"""A Redis of the test's own hangs (SIGSTOP) or restarts (shutdown, AOF kept) while a message
holds its sender's lock: the user gets the degraded reply, /health says 503 while Redis is
away, and the sender is answered normally as soon as Redis answers again, not when the
lock's 30 s lease runs out."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import threading
import time

import pytest
import redis

from memory import SqliteStore, StoreUnavailable
from pipeline import BUSY, DEGRADED, TOO_SLOW
from tests.conftest import SAFETY, live_settings, post_whatsapp, reply_text, unavailable
from tests.helpers import closed_port
from tests.test_followups import JOKE, JOKE_TEXT, answer

NAMES = {"Nice to meet you, Ana! 😊 I'll remember that.", "Got it, Ana. I'll remember your name."}


class OwnRedis:
    """A redis-server on a free loopback port, appending every write to its AOF in `folder`,
    so a restart brings back what it held (the senders' locks included)."""

    def __init__(self, folder) -> None:
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            unavailable("redis-server is not installed")
        self.folder = folder
        self.port = closed_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        command = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        command += ["--appendonly", "yes", "--appendfsync", "always", "--dir", str(self.folder)]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url, socket_timeout=1)
        deadline = time.monotonic() + SAFETY  # a safety net: it starts within a second
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                assert self.process.poll() is None, "redis-server exited"
                time.sleep(0.02)
        client.close()

    def hang(self) -> None:
        os.kill(self.process.pid, signal.SIGSTOP)

    def wake(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)

    def shut_down(self) -> None:
        """SIGTERM: Redis flushes its AOF and exits."""
        self.process.terminate()
        self.process.wait(SAFETY)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.wake()
            self.process.kill()
            self.process.wait(SAFETY)


@pytest.fixture
def own_redis(tmp_path):
    server = OwnRedis(tmp_path)
    yield server
    server.stop()


def post_in_background(client, text: str) -> tuple[threading.Thread, dict]:
    outcome: dict = {}

    def post():
        outcome["reply"] = reply_text(post_whatsapp(client, text))

    thread = threading.Thread(target=post)
    thread.start()
    return thread, outcome


def answered_after(client, text: str, since: float) -> tuple[str, float]:
    reply = reply_text(post_whatsapp(client, text))
    return reply, time.monotonic() - since


def outage_app(upstream, gate, own_redis):
    from bot import create_app

    upstream.expect_request("/random_joke").respond_with_handler(gate.held(answer(JOKE)))
    base = upstream.url_for("").rstrip("/")
    # A budget longer than the outage: the request waits for its own answer.
    settings = live_settings(base, BOT_STORE_URL=own_redis.url, BOT_REPLY_BUDGET="14")
    return create_app(settings).test_client()


def test_a_sender_whose_message_was_in_flight_during_a_hang_is_answered_when_redis_wakes(
    upstream, gate, own_redis
):
    client = outage_app(upstream, gate, own_redis)
    assert reply_text(post_whatsapp(client, "my name is Ana")) in NAMES
    thread, outcome = post_in_background(client, "tell me a joke")
    assert gate.first.wait(SAFETY)  # the joke is being fetched: the sender's lock is held
    own_redis.hang()
    gate.open()
    thread.join(SAFETY)
    assert outcome["reply"] == DEGRADED  # its answer could not be kept
    assert client.get("/health").status_code == 503

    own_redis.wake()
    woke = time.monotonic()
    reply, waited = answered_after(client, "what is my name", woke)
    assert reply == "Your name is Ana 😊"
    assert reply not in {BUSY, TOO_SLOW, DEGRADED}
    assert client.get("/health").status_code == 200
    print(f"answered {waited:.2f} s after Redis woke")


def test_a_lock_kept_through_a_redis_restart_is_released_when_it_is_back(upstream, gate, own_redis):
    client = outage_app(upstream, gate, own_redis)
    assert reply_text(post_whatsapp(client, "my name is Ana")) in NAMES
    thread, outcome = post_in_background(client, "tell me a joke")
    assert gate.first.wait(SAFETY)
    own_redis.shut_down()  # the lock is in the AOF, with most of its 30 s lease to go
    gate.open()
    thread.join(SAFETY)
    assert outcome["reply"] == DEGRADED
    assert client.get("/health").status_code == 503

    own_redis.start()
    back = time.monotonic()
    reply, waited = answered_after(client, "what is my name", back)
    assert reply == "Your name is Ana 😊"
    assert client.get("/health").status_code == 200
    print(f"answered {waited:.2f} s after Redis restarted")
    # And the joke the outage swallowed can be asked for again.
    assert reply_text(post_whatsapp(client, "tell me a joke")) == JOKE_TEXT


def test_health_fails_while_a_lock_waits_to_be_released(tmp_path):
    # SQLite in WAL mode: another connection holding the write lock lets the store read (its
    # ping answers) but not release the sender's lock, as a store that half answers would.
    store = SqliteStore(tmp_path / "bot.db")
    store.release_retry = SAFETY  # the test releases it through `check`, not the background
    blocker = sqlite3.connect(tmp_path / "bot.db", isolation_level=None)
    with store.turn("a", "SM1"):
        blocker.execute("BEGIN IMMEDIATE")
    with pytest.raises(StoreUnavailable, match="1 sender lock"):
        store.check()
    blocker.execute("COMMIT")
    store.check()  # released now
    with store.turn("a", "SM2") as turn:
        assert (turn.busy, turn.in_flight) == (False, False)
    blocker.close()
    store.close()
