"""The Procfile's command, run for real: gunicorn serves the factory over HTTP."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
from pathlib import Path
from urllib.parse import urlencode

import pytest
import requests

from tests.conftest import TOKEN, parse_twiml, signature_for, whatsapp_form
from tests.servers import Server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    running = Server(BOT_STORE_URL=f"sqlite:///{tmp_path_factory.mktemp('store')}/bot.db")
    yield running.base, running.process
    running.stop()


def test_health_over_http(server):
    base, _ = server
    response = requests.get(f"{base}/health", timeout=5)
    assert response.json()["status"] == "ok"


def test_signed_message_over_http(server):
    base, _ = server
    form = whatsapp_form("what can you do")
    signature = signature_for(form, f"{base}/bot")
    response = requests.post(
        f"{base}/bot", data=form, headers={"X-Twilio-Signature": signature}, timeout=5
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/xml")
    [(body, _)] = parse_twiml(response.content)
    assert body.startswith("Here's what I can do")


def test_a_question_and_its_answer_over_http(server):
    base, _ = server
    sender = "whatsapp:+15550009999"
    answers = []
    for text in ["weather", "Lisbon"]:
        form = whatsapp_form(text, From=sender)
        headers = {"X-Twilio-Signature": signature_for(form, f"{base}/bot")}
        response = requests.post(f"{base}/bot", data=form, headers=headers, timeout=5)
        [(body, _)] = parse_twiml(response.content)
        answers.append(body)
    assert answers[0] == "Which city? 🌍"
    assert "Lisbon" in answers[1]


def test_unsigned_message_over_http_is_refused(server):
    base, _ = server
    response = requests.post(f"{base}/bot", data=whatsapp_form("hi"), timeout=5)
    assert response.status_code == 403


def test_chunked_oversized_body_gets_413(server):
    base, _ = server
    host, port = base.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    chunks = (b"Body=" + b"x" * 1024 if i == 0 else b"x" * 1024 for i in range(100))
    connection.request(
        "POST",
        "/bot",
        body=chunks,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        encode_chunked=True,
    )
    assert connection.getresponse().status == 413


def test_signed_chunked_body_under_the_limit_is_answered(server):
    base, _ = server
    form = whatsapp_form("help " + "x" * 20_000)
    body = urlencode(form).encode()
    host, port = base.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.request(
        "POST",
        "/bot",
        body=(body[i : i + 4096] for i in range(0, len(body), 4096)),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature_for(form, f"{base}/bot"),
        },
        encode_chunked=True,
    )
    response = connection.getresponse()
    assert response.status == 200
    [(text, _)] = parse_twiml(response.read())
    assert text.startswith("Here's what I can do")


@pytest.mark.skipif(
    not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
    reason="needs Linux and two cores",
)
def test_each_worker_keeps_to_a_core_of_its_own(server):
    _, process = server
    pids = subprocess.run(
        ["pgrep", "-P", str(process.pid)], capture_output=True, text=True, check=True
    ).stdout.split()
    allowed = sorted(
        line.split(":")[1].strip()
        for pid in pids
        for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if line.startswith("Cpus_allowed_list:")
    )
    assert allowed == [str(core) for core in sorted(os.sched_getaffinity(0))[:2]]


def test_sigterm_stops_gunicorn_cleanly(server):
    _, process = server
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    output = process.stdout.read()
    assert "Shutting down: Master" in output
    assert TOKEN not in output
