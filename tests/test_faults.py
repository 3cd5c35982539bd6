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
from tests.conftest import signature_for, whatsapp_form
from tests.servers import Server
from tests.stores import kept_state
from tests.test_followups import slow_joke

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


def test_a_worker_killed_mid_message_leaves_the_state_consistent(upstream, tmp_path):
    def slower_joke(request):
        time.sleep(2.5)
        return slow_joke(request)

    upstream.expect_request("/random_joke").respond_with_handler(slower_joke)
    server = live_server(upstream, tmp_path, BOT_REPLY_BUDGET="10")
    try:
        assert "Ana" in server.say("my name is Ana", From=SENDER)
        thread, outcome = post_in_background(server, "tell me a joke")
        time.sleep(1.0)  # the joke is being fetched, the user's lock is held
        for pid in workers_of(server):
            os.kill(pid, signal.SIGKILL)
        thread.join(30)
        assert "error" in outcome  # the request died with its worker
        # gunicorn starts new workers; the lock of the dead one does not hold the user up.
        deadline = time.monotonic() + 20
        while len(workers_of(server)) < 2:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        started = time.monotonic()
        assert server.say("what is my name", From=SENDER) == "Your name is Ana 😊"
        assert time.monotonic() - started < 4
    finally:
        server.stop()
    store = SqliteStore(tmp_path / "bot.db")
    history = [e.text for e in store.history(SENDER)]
    assert history == ["my name is Ana", "what is my name"]  # nothing half-done
    assert kept_state(store, SENDER).turns == 2
    store.close()


def test_sigterm_lets_a_request_in_flight_finish(upstream, tmp_path):
    upstream.expect_request("/random_joke").respond_with_handler(slow_joke)
    server = live_server(upstream, tmp_path, BOT_REPLY_BUDGET="5")
    try:
        thread, outcome = post_in_background(server, "tell me a joke")
        time.sleep(0.3)
        server.process.send_signal(signal.SIGTERM)
        thread.join(30)
        assert server.process.wait(timeout=30) == 0
    finally:
        server.stop()
    response = outcome["response"]
    assert response.status_code == 200
    assert "It had a budget." in response.text
