"""Slow clients cannot starve the webhook behind the production front: nginx, started from
deploy/nginx.conf.template, before gunicorn as the Procfile runs it.

Seventy sockets trickle request bodies and headers a byte at a time, paced by the test, while
genuine signed messages go through nginx: every one is answered with TwiML, and the slow
sockets are still open and unanswered afterwards. Without the front the same traffic holds
all of gunicorn's threads and genuine messages time out: bench/slow_clients.py measures both.
"""

from __future__ import annotations

import http.client
import itertools
import select
import shutil
import socket
import statistics
import subprocess
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
import requests

from bot import MAX_BODY_BYTES
from tests.conftest import HELP, SAFETY, parse_twiml, signature_for, unavailable, whatsapp_form
from tests.helpers import closed_port
from tests.servers import ROOT, Server
from tests.test_webchat import connect, new_user, next_frame, say

TEMPLATE = ROOT / "deploy" / "nginx.conf.template"
SLOW_BODIES = 50  # headers sent, then the body a byte at a time
SLOWLORIS = 20  # the request line, then headers a byte at a time, never finished
# 70 in all, more than gunicorn's 2 x 32 threads. They come from other loopback addresses
# than the genuine requests, at most 14 from each, under nginx's limit of 32 an address.
SLOW_ADDRESSES = [f"127.0.0.{n}" for n in range(2, 7)]
PER_ADDRESS = 32  # limit_conn per_address in the template
GENUINE = 20
PACE = 1.0  # seconds between two bytes of a slow client
MAX_ROUNDS = 25  # the trickle stops by itself after this many bytes
# A form longer than the trickle could ever finish; signed wrongly, so the app refuses it.
SLOW_FORM = urlencode(whatsapp_form("x" * 200)).encode()


def nginx_binary() -> str:
    """nginx from PATH or Debian's /usr/sbin (not on a normal user's PATH)."""
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
    if found is None:
        unavailable("nginx is not installed (Debian: apt-get install nginx)")
    return found


def render(template: str, **values: str) -> str:
    """The template with each `${NAME}` replaced, as `envsubst '${NAME} ...'` does: nginx's
    own `$variables` stay as they are."""
    for name, value in values.items():
        template = template.replace(f"${{{name}}}", value)
    assert "${" not in template, "a placeholder of the template was left unfilled"
    return template


class Nginx:
    """nginx with the shipped config in `prefix` (pid, temp folders, log), on a free port."""

    def __init__(self, prefix: Path, upstream: str) -> None:
        self.port = closed_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = prefix / "nginx.log"
        conf = prefix / "nginx.conf"
        listen = f"127.0.0.1:{self.port}"
        conf.write_text(render(TEMPLATE.read_text(), NGINX_LISTEN=listen, BOT_UPSTREAM=upstream))
        command = [nginx_binary(), "-p", f"{prefix}/", "-c", str(conf), "-g", "daemon off;"]
        with self.log.open("w") as log:  # a file, not a pipe nobody reads: nginx never blocks
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        self._wait_until_healthy()

    def _wait_until_healthy(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"nginx exited early:\n{self.log.read_text()}")
            try:
                if requests.get(f"{self.base}/health", timeout=1).status_code == 200:
                    return
            except (requests.ConnectionError, requests.Timeout):  # not listening yet
                time.sleep(0.05)
        self.stop()
        pytest.fail(f"nginx did not answer /health within 30 s:\n{self.log.read_text()}")

    def stop(self) -> str:
        """Stop at once (SIGTERM is nginx's fast shutdown); what nginx logged."""
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        return self.log.read_text()


@pytest.fixture(scope="module")
def front(tmp_path_factory):
    """gunicorn as the Procfile runs it, trusting one proxy, and nginx in front of it."""
    store = tmp_path_factory.mktemp("store") / "bot.db"
    bot = Server(BOT_STORE_URL=f"sqlite:///{store}", BOT_TRUSTED_PROXIES="1")
    try:
        nginx = Nginx(tmp_path_factory.mktemp("nginx"), f"127.0.0.1:{bot.port}")
    except BaseException:
        bot.stop()
        raise
    yield nginx
    log = nginx.stop()
    bot.stop()
    assert "[emerg]" not in log, log
    assert "[alert]" not in log, log


class SlowClient:
    """A socket that sends the start of a request at once and the rest a byte at a time."""

    def __init__(self, port: int, source: str, start: bytes, rest: bytes) -> None:
        self.sock = socket.create_connection(
            ("127.0.0.1", port), timeout=SAFETY, source_address=(source, 0)
        )
        self.sock.sendall(start)
        self.rest = rest

    @classmethod
    def body(cls, port: int, source: str) -> SlowClient:
        """Whole headers, then the body trickles."""
        head = (
            f"POST /bot HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(SLOW_FORM)}\r\nX-Twilio-Signature: bm90IHNpZ25lZA==\r\n\r\n"
        )
        return cls(port, source, head.encode() + SLOW_FORM[:1], SLOW_FORM[1:])

    @classmethod
    def loris(cls, port: int, source: str) -> SlowClient:
        """The request line, then one header that never ends."""
        start = f"POST /bot HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Slow: ".encode()
        return cls(port, source, start, b"a" * MAX_ROUNDS)

    def trickle(self) -> None:
        """Send the next byte; a socket the server closed is left for `answered` to see."""
        if self.rest:
            try:
                self.sock.send(self.rest[:1])
            except OSError:
                return
            self.rest = self.rest[1:]

    def finish(self) -> int:
        """Send the rest of the request at once; the status of the answer."""
        self.sock.sendall(self.rest)
        response = http.client.HTTPResponse(self.sock)
        response.begin()
        response.read()
        return response.status

    def close(self) -> None:
        self.sock.close()


def answered(clients: list[SlowClient]) -> list[SlowClient]:
    """The clients whose socket the server answered or closed (readable without blocking)."""
    readable, _, _ = select.select([c.sock for c in clients], [], [], 0)
    return [c for c in clients if c.sock in readable]


class Trickle:
    """The test's own pace: a thread sends every slow client its next byte each PACE seconds,
    until stopped or after MAX_ROUNDS rounds. `first_round` is set when all have sent one."""

    def __init__(self, clients: list[SlowClient]) -> None:
        self.clients = clients
        self.stopped = threading.Event()
        self.first_round = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        for _ in range(MAX_ROUNDS):
            if self.stopped.wait(PACE):
                return
            for client in self.clients:
                client.trickle()
            self.first_round.set()

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(SAFETY)
        assert not self.thread.is_alive()


def genuine_message(base: str) -> float:
    """Post one signed message to nginx; the seconds until its TwiML answer."""
    form = whatsapp_form("what can you do")
    headers = {"X-Twilio-Signature": signature_for(form, f"{base}/bot")}
    started = time.perf_counter()
    response = requests.post(f"{base}/bot", data=form, headers=headers, timeout=10)
    latency = time.perf_counter() - started
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/xml")
    assert parse_twiml(response.content) == [(HELP, [])]
    return latency


def test_genuine_messages_are_answered_while_seventy_slow_clients_trickle(front):
    sources = itertools.cycle(SLOW_ADDRESSES)
    bodies = [SlowClient.body(front.port, next(sources)) for _ in range(SLOW_BODIES)]
    lorises = [SlowClient.loris(front.port, next(sources)) for _ in range(SLOWLORIS)]
    slow = bodies + lorises
    trickle = Trickle(slow)
    try:
        assert trickle.first_round.wait(SAFETY)
        assert answered(slow) == [], "nginx refused or closed a slow client before the test"

        latencies = [genuine_message(front.base) for _ in range(GENUINE)]

        # Every slow client is still connected and waiting: they were there all along.
        assert answered(slow) == []
    finally:
        trickle.stop()
    try:
        # The slow bodies were real requests all along: once complete, nginx passes each
        # to the bot, which refuses its made-up signature.
        assert [client.finish() for client in bodies] == [403] * SLOW_BODIES
    finally:
        for client in slow:
            client.close()
    print(
        f"\n{len(slow)} slow clients connected throughout; {len(latencies)}/{GENUINE} genuine "
        f"messages answered, median {statistics.median(latencies) * 1000:.1f} ms, "
        f"max {max(latencies) * 1000:.1f} ms"
    )


def test_one_address_holds_at_most_its_share_of_requests(front):
    extra = 5
    clients = [SlowClient.body(front.port, "127.0.0.9") for _ in range(PER_ADDRESS + extra)]
    try:
        refused: list[SlowClient] = []
        deadline = time.monotonic() + SAFETY  # hang guard only
        while len(refused) < extra and time.monotonic() < deadline:
            select.select([c.sock for c in clients], [], [], 1)
            refused = answered(clients)
        assert len(refused) == extra
        for client in refused:
            response = http.client.HTTPResponse(client.sock)
            response.begin()
            assert response.status == 429
        # The others are still held by nginx, and other addresses are answered meanwhile.
        assert answered([c for c in clients if c not in refused]) == []
        genuine_message(front.base)
    finally:
        for client in clients:
            client.close()


def test_forwarded_headers_come_from_nginx_not_the_client(front):
    """The URL the bot checks the signature against is the one the client really called,
    whatever X-Forwarded-* headers the client sends."""
    spoofed = {
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "evil.example",
        "X-Forwarded-Port": "443",
        "X-Forwarded-Prefix": "/evil",
        "X-Forwarded-Ssl": "on",  # gunicorn would refuse the request (400) as contradictory
    }
    form = whatsapp_form("what can you do")
    forged = signature_for(form, "https://evil.example/evil/bot")
    response = requests.post(
        f"{front.base}/bot",
        data=form,
        headers={**spoofed, "X-Twilio-Signature": forged},
        timeout=10,
    )
    assert response.status_code == 403

    genuine = signature_for(form, f"{front.base}/bot")
    response = requests.post(
        f"{front.base}/bot",
        data=form,
        headers={**spoofed, "X-Twilio-Signature": genuine},
        timeout=10,
    )
    assert response.status_code == 200
    assert parse_twiml(response.content) == [(HELP, [])]


def test_a_body_over_the_bots_limit_is_refused_by_nginx(front):
    form = whatsapp_form("x" * MAX_BODY_BYTES)
    response = requests.post(
        f"{front.base}/bot",
        data=form,
        headers={"X-Twilio-Signature": signature_for(form, f"{front.base}/bot")},
        timeout=10,
    )
    assert response.status_code == 413
    assert response.headers["Content-Type"].startswith("text/html")  # nginx's page, not the bot's


def test_the_web_chat_works_through_nginx(front):
    ws = connect(front.base, new_user(front.base))
    try:
        say(ws, "what can you do")
        assert next_frame(ws, "message")["text"] == HELP
    finally:
        ws.close()
