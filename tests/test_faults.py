"""Faults under a real gunicorn: a worker killed in the middle of a message leaves the
user's state as it was, and SIGTERM lets a request in flight finish."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time

import requests

from memory import SqliteStore
from tests.conftest import SAFETY, parse_twiml, signature_for, whatsapp_form
from tests.servers import Server
from tests.stores import kept_state
from tests.test_followups import JOKE, JOKE_TEXT, answer

SENDER = "whatsapp:+15550007777"


def workers_of(server: Server) -> list[int]:
    out = subprocess.run(
        ["pgrep", "-P", str(server.process.pid)], capture_output=True, text=True, check=False
    )
    return [int(pid) for pid in out.stdout.split()]


def live_server(upstream, tmp_path, **settings) -> Server:
    base = upstream.url_for("").rstrip("/")
    return Server(
        BOT_STORE_URL=f"sqlite:///{tmp_path}/bot.db",
        BOT_OFFLINE="false",
        BOT_UPSTREAM_TIMEOUT="5",
        JOKES_URL=base,
        **settings,
    )


def post_in_background(server: Server, text: str) -> tuple[threading.Thread, dict]:
    form = whatsapp_form(text, From=SENDER)
    headers = {"X-Twilio-Signature": signature_for(form, f"{server.base}/bot")}
    outcome: dict = {}

    def post():
        try:
            outcome["response"] = requests.post(
                f"{server.base}/bot", data=form, headers=headers, timeout=30
            )
        except requests.RequestException as error:
            outcome["error"] = error

    thread = threading.Thread(target=post)
    thread.start()
    return thread, outcome


def wait_for_workers(server: Server, count: int) -> None:
    """Until gunicorn has `count` workers again (it restarts killed ones on its own)."""
    deadline = time.monotonic() + SAFETY  # a safety net, not a speed requirement
    while len(workers_of(server)) < count:
        assert time.monotonic() < deadline, "gunicorn did not restart its workers"
        time.sleep(0.05)


def test_a_worker_killed_mid_message_leaves_the_state_consistent(upstream, gate, tmp_path):
    upstream.expect_request("/random_joke").respond_with_handler(gate.held(answer(JOKE)))
    server = live_server(upstream, tmp_path, BOT_REPLY_BUDGET="10")
    try:
        assert server.say("my name is Ana", From=SENDER) in {
            "Nice to meet you, Ana! 😊 I'll remember that.",
            "Got it, Ana. I'll remember your name.",
        }
        thread, outcome = post_in_background(server, "tell me a joke")
        assert gate.first.wait(SAFETY)  # the joke is being fetched, the user's lock is held
        for pid in workers_of(server):
            os.kill(pid, signal.SIGKILL)
        thread.join(SAFETY)
        assert "error" in outcome  # the request died with its worker
        wait_for_workers(server, 2)
        # The dead worker's lock does not hold the user up: had it to wait for the lease,
        # the answer would be "I'm still answering your previous message".
        assert server.say("what is my name", From=SENDER) == "Your name is Ana 😊"
    finally:
        server.stop()
    store = SqliteStore(tmp_path / "bot.db")
    history = [e.text for e in store.history(SENDER)]
    assert history == ["my name is Ana", "what is my name"]  # nothing half-done
    assert kept_state(store, SENDER).turns == 2
    store.close()


def test_sigterm_lets_a_request_in_flight_finish(upstream, gate, tmp_path):
    upstream.expect_request("/random_joke").respond_with_handler(gate.held(answer(JOKE)))
    server = live_server(upstream, tmp_path, BOT_REPLY_BUDGET="10")
    try:
        thread, outcome = post_in_background(server, "tell me a joke")
        assert gate.first.wait(SAFETY)  # the message is in flight, waiting for the joke
        server.process.send_signal(signal.SIGTERM)
        gate.open()
        thread.join(SAFETY)
        assert server.process.wait(timeout=SAFETY) == 0
    finally:
        server.stop()
    response = outcome["response"]
    assert response.status_code == 200
    assert parse_twiml(response.content) == [(JOKE_TEXT, [])]
