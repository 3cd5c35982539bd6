"""Shared fixtures: the app, its test client and CLI runner, and a signed-WhatsApp helper."""

from __future__ import annotations

import itertools
import os
import shutil
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
import redis
import yaml
from pytest_httpserver import HTTPServer
from twilio.request_validator import RequestValidator
from werkzeug import Request, Response

from bot import create_app
from skills.services import UPSTREAM_URLS
from tests.redis_server import RedisServer, RedisUnavailable

TOKEN = "test-auth-token-5f2c9a"
SECRET_KEY = "test-secret-key-for-signed-web-chat-ids"
ACCOUNT = "AC" + "1" * 32
SENDER = "whatsapp:+14155550123"
BOT_NUMBER = "whatsapp:+14155238886"
LOCAL_URL = "http://localhost/bot"
HERE = Path(__file__).parent
_sids = itertools.count(1)
# CI sets BOT_REQUIRE_SERVICES=1: a missing Redis (or browser) fails the run instead of
# skipping tests.
REQUIRE_SERVICES = os.environ.get("BOT_REQUIRE_SERVICES", "") == "1"

LONG_REPLY = "\n\n".join(
    " ".join(
        f"Paragraph {p} sentence {s} says something about the weather today." for s in range(12)
    )
    for p in range(8)
)

# The demo rules' help reply: the menu, numbered, and what else can be sent.
HELP = """Here's what I can do. Reply with a number or just ask:
1. Weather in a city
2. Look something up on Wikipedia
3. An inspiring quote
4. A joke
5. A dog picture
6. A cat picture
7. Convert money between currencies
8. The date and time
9. Tell me your name
10. Delete everything I know about you

You can also share your location 📍 for the weather, or send me a link 🔗
and I'll tell you what the page is about."""


def base_settings(**overrides) -> dict:
    return {
        "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_ACCOUNT_SID": ACCOUNT,
        # Set, so no test app keeps a key in the checkout's instance folder.
        "SECRET_KEY": SECRET_KEY,
        "BOT_STORE_URL": "memory://",
        # Skills answer from their bundled data unless a test aims them at a local server.
        "BOT_OFFLINE": "true",
        # Tests send many messages from one sender; the rate limit has tests of its own.
        "BOT_RATE_LIMIT": "0",
        **overrides,
    }


@pytest.fixture
def app():
    return create_app(base_settings())


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def unavailable(reason: str) -> None:
    """Skip a test that needs a missing service, or fail it when services are required."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (BOT_REQUIRE_SERVICES=1, so this fails instead of skipping)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def _redis_server():
    """The URL of the Redis the tests may empty: the one BOT_TEST_REDIS_URL names, else a
    redis-server of the run's own on a free port, stopped when the run ends."""
    named = os.environ.get("BOT_TEST_REDIS_URL", "")
    if named:
        yield named
        return
    try:
        server = RedisServer()
        server.start()
    except RedisUnavailable as error:
        unavailable(f"{error}; or set BOT_TEST_REDIS_URL to a database the tests may empty")
    yield server.url
    server.stop()


@pytest.fixture
def redis_url(_redis_server):
    """The URL of a real, empty Redis database, emptied again afterwards."""
    client = redis.Redis.from_url(_redis_server, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        client.close()
        unavailable(f"no Redis at {_redis_server} ({error}); check BOT_TEST_REDIS_URL")
    client.flushdb()
    yield _redis_server
    client.flushdb()
    client.close()


@pytest.fixture(scope="session")
def _upstream_server():
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def upstream(_upstream_server):
    """A real HTTP server on 127.0.0.1 that plays the third-party APIs (and Twilio's REST
    API); threaded, so one hanging answer does not hold up the others. Each test starts
    with no expectations and an empty log."""
    _upstream_server.clear()
    yield _upstream_server
    _upstream_server.clear()


def live_settings(base_url: str, **overrides) -> dict:
    """Settings with the skills online, every upstream (and Twilio's API) at `base_url`."""
    live = {
        "BOT_OFFLINE": "false",
        "BOT_UPSTREAM_TIMEOUT": "1",
        "TWILIO_API_URL": base_url,
        **dict.fromkeys(UPSTREAM_URLS, base_url),
    }
    return base_settings(**{**live, **overrides})


@pytest.fixture
def edge_rules(tmp_path) -> Path:
    """A rule folder whose replies stress TwiML: control characters, RTL, media, 5000+ chars."""
    folder = tmp_path / "rules"
    folder.mkdir()
    shutil.copy(HERE / "rules" / "edge.yml", folder / "edge.yml")
    long_intent = {"name": "long", "examples": ["long reply"], "responses": [LONG_REPLY]}
    (folder / "long.yml").write_text(yaml.safe_dump({"intents": [long_intent]}), encoding="utf-8")
    return folder


@pytest.fixture
def edge_client(edge_rules):
    return create_app(base_settings(BOT_RULES=str(edge_rules))).test_client()


def whatsapp_form(body: str = "", **params: str) -> dict[str, str]:
    """A webhook form shaped like Twilio's, with a fresh MessageSid each time."""
    form = {
        "MessageSid": f"SM{next(_sids):032d}",
        "AccountSid": ACCOUNT,
        "From": SENDER,
        "To": BOT_NUMBER,
        "Body": body,
        "NumMedia": "0",
        "NumSegments": "1",
        "ProfileName": "Sam",
        "WaId": "14155550123",
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
        "MessageType": "text",
    }
    form.update(params)
    if "From" in params and "WaId" not in params:  # Twilio's WaId is From's number
        form["WaId"] = params["From"].rpartition("+")[2] if "+" in params["From"] else ""
    return form


def status_callback_form(sid: str, status: str = "delivered", **params: str | None) -> dict:
    """Twilio's StatusCallback form for message `sid`, which the bot sent to SENDER; a
    parameter given as None is left out."""
    form = {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": ACCOUNT,
        "From": BOT_NUMBER,
        "To": SENDER,
        "MessageStatus": status,
        "SmsStatus": status,
        "ApiVersion": "2010-04-01",
        "ChannelPrefix": "whatsapp",
    }
    form.update(params)
    return {name: value for name, value in form.items() if value is not None}


def signature_for(form: dict[str, str], url: str = LOCAL_URL, token: str = TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, form)


def post_whatsapp(client, body: str = "", *, url: str = LOCAL_URL, headers=None, **params):
    """POST a correctly signed WhatsApp webhook form to `/bot`."""
    form = whatsapp_form(body, **params)
    headers = {"X-Twilio-Signature": signature_for(form, url), **(headers or {})}
    return client.post("/bot", data=form, headers=headers)


def twiml_messages(response) -> list[tuple[str | None, list[str]]]:
    """Parse a TwiML answer into (body, media URLs) per <Message>; fails on invalid XML."""
    assert response.status_code == 200
    assert response.mimetype in {"text/xml", "application/xml"}
    return parse_twiml(response.data)


def parse_twiml(xml: bytes | str) -> list[tuple[str | None, list[str]]]:
    """(body, media URLs) for each <Message> of a TwiML document; fails on invalid XML."""
    root = ET.fromstring(xml.encode() if isinstance(xml, str) else xml)
    assert root.tag == "Response"
    messages = root.findall("Message")
    return [(m.findtext("Body"), [media.text for media in m.findall("Media")]) for m in messages]


def reply_text(response) -> str:
    return "\n".join(body or "" for body, _ in twiml_messages(response))


SAFETY = 30.0  # seconds a held fake waits at most: a broken test fails instead of hanging


class Gate:
    """Holds a fake upstream's answers until the test opens it, so "the API is slow" is an
    order of events the test controls rather than a sleep. `held(respond)` wraps a handler;
    `arrived` counts the requests that reached it."""

    def __init__(self) -> None:
        self.opened = threading.Event()
        self.arrived = 0
        self.first = threading.Event()  # set when the first request reaches the gate
        self.expired = 0  # requests let through by SAFETY rather than by the test
        self._serving: list[threading.Thread] = []  # the server's thread for each request
        self._lock = threading.Lock()

    def held(self, respond: Callable[[Request], Response]) -> Callable[[Request], Response]:
        def handler(request: Request) -> Response:
            with self._lock:
                self.arrived += 1
                self._serving.append(threading.current_thread())
            self.first.set()
            if not self.opened.wait(SAFETY):
                with self._lock:
                    self.expired += 1
            return respond(request)

        return handler

    def open(self) -> None:
        self.opened.set()

    def drain(self) -> None:
        """Open, and wait until the server is done with every held request (answered, and
        in its log), so none lands in the next test's log."""
        self.open()
        with self._lock:
            serving = list(self._serving)
        for thread in serving:  # one per request: the fake server closes every connection
            thread.join(SAFETY)
            assert not thread.is_alive(), "the fake server never finished a held request"
        assert self.expired == 0, "a held request was let through by the safety timeout"


@pytest.fixture
def gate():
    """A `Gate` for fake upstream handlers, opened and drained when the test ends."""
    held = Gate()
    yield held
    held.drain()


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        unavailable("no Chromium: install Debian's chromium package (.ci/run does)")
    return path


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, headless, driven by Playwright (the web chat's and the console's
    browser tests)."""
    executable = chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("Playwright for Python is not installed (requirements-dev.txt has it)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()
