"""The web chat's protocol, with a real WebSocket client against a real gunicorn server:
replies, memory, error frames that leave the socket open, refused origins and unsigned ids,
streaming of slow skills, and frames crossing hosts through Redis."""

from __future__ import annotations

import json
import signal
import time

import pytest
import requests
import websocket

from channels.webchat_frames import MAX_FRAME
from pipeline import ONE_MOMENT
from tests.conftest import ACCOUNT, HELP, SAFETY
from tests.servers import ROOT, Server
from tests.test_followups import JOKE, JOKE_TEXT, answer

CHAT_PAGE = ROOT / "static" / "chat.html"
# The demo greeting and name replies come in variants; a browser has no profile name.
GREETINGS = {
    "Hi there! 👋 I'm a demo bot. Type *help* to see what I can do.",
    "Hello there! Type *help* for the list of things I understand.",
}
NAME_KEPT = {
    "Nice to meet you, Ana! 😊 I'll remember that.",
    "Got it, Ana. I'll remember your name.",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    running = Server(BOT_STORE_URL=f"sqlite:///{tmp_path_factory.mktemp('chat')}/bot.db")
    yield running
    running.stop()


def new_user(base: str) -> str:
    """Open the page as a new browser would; the signed user id it was given."""
    response = requests.get(f"{base}/chat", timeout=5)
    assert response.status_code == 200
    assert response.content == CHAT_PAGE.read_bytes()
    return response.cookies["bot_uid"]


def connect(base: str, token: str, origin: str | None = None) -> websocket.WebSocket:
    return websocket.create_connection(
        base.replace("http://", "ws://") + "/ws",
        cookie=f"bot_uid={token}",
        origin=origin or base,
        timeout=10,
    )


def say(ws: websocket.WebSocket, text: str) -> None:
    ws.send(json.dumps({"type": "message", "text": text}))


def next_frame(ws: websocket.WebSocket, kind: str) -> dict:
    """The next frame of `kind`, skipping typing frames."""
    while True:
        frame = json.loads(ws.recv())
        if frame["type"] == kind:
            return frame
        assert frame["type"] == "typing", frame


def message_containing(ws: websocket.WebSocket, part: str) -> dict:
    """The next message frame whose text holds `part`, skipping others still on the way."""
    while True:
        frame = next_frame(ws, "message")
        if part in frame["text"]:
            return frame


def test_a_message_gets_typing_then_the_reply(server):
    ws = connect(server.base, new_user(server.base))
    say(ws, "what can you do")
    assert json.loads(ws.recv()) == {"type": "typing"}
    frame = json.loads(ws.recv())
    assert isinstance(frame.pop("time"), float)
    assert frame == {
        "type": "message",
        "text": HELP,
        "media": [],
        "understood": {"intent": "help", "confidence": 1.0, "slots": {}},
    }
    ws.close()


def test_what_was_understood_shows_a_place_by_its_name(server):
    ws = connect(server.base, new_user(server.base))
    say(ws, "will it rain in Porto tomorrow?")
    frame = next_frame(ws, "message")
    assert frame["understood"]["intent"] == "weather"
    assert frame["understood"]["slots"] == {"city": "Porto", "date": "tomorrow"}
    ws.close()


def test_memory_across_messages_and_reconnects(server):
    token = new_user(server.base)
    ws = connect(server.base, token)
    say(ws, "my name is Ana")
    assert next_frame(ws, "message")["text"] in NAME_KEPT
    ws.close()
    again = connect(server.base, token)  # a reload, or the server restarted
    say(again, "what is my name")
    reply = next_frame(again, "message")
    assert reply["text"] == "Your name is Ana 😊"
    assert reply["understood"] == {"intent": "name_get", "confidence": 1.0, "slots": {}}
    again.close()


@pytest.mark.parametrize(
    ("frame", "error"),
    [
        ("hello there", 'Frames must be JSON, like {"type": "message", "text": "hi"}.'),
        ("[1, 2]", """Unknown frame type 'list': send {"type": "message", "text": "..."}."""),
        (
            '{"type": "subscribe"}',
            """Unknown frame type 'subscribe': send {"type": "message", "text": "..."}.""",
        ),
        ('{"type": "message"}', 'A message frame needs "text", a string.'),
        ('{"type": "message", "text": 42}', 'A message frame needs "text", a string.'),
        (
            json.dumps({"type": "message", "text": "x" * 5000}),
            f"That message is too long: frames are limited to {MAX_FRAME} bytes.",
        ),
    ],
)
def test_a_bad_frame_gets_an_error_and_the_socket_stays_open(server, frame, error):
    ws = connect(server.base, new_user(server.base))
    ws.send(frame)
    assert json.loads(ws.recv()) == {"type": "error", "text": error}
    say(ws, "hello")
    assert next_frame(ws, "message")["text"] in GREETINGS
    ws.close()


def test_too_many_messages_too_fast_are_refused_politely(server):
    ws = connect(server.base, new_user(server.base))
    for _ in range(10):
        say(ws, "hi")
        next_frame(ws, "message")
    say(ws, "hi")
    assert json.loads(ws.recv()) == {
        "type": "error",
        "text": "You're sending messages too fast. 🙂 Wait a few seconds.",
    }
    ws.close()


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1:1"])
def test_a_foreign_origin_is_refused_before_the_handshake(server, origin):
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        connect(server.base, new_user(server.base), origin=origin)
    assert refused.value.status_code == 403


def test_a_socket_without_a_user_id_is_refused(server):
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        connect(server.base, "not-a-real-id")
    assert refused.value.status_code == 403


def test_knowing_a_users_id_does_not_open_their_chat(server):
    token = new_user(server.base)
    ws = connect(server.base, token)
    say(ws, "my name is Ana")
    assert next_frame(ws, "message")["text"] in NAME_KEPT
    ws.close()
    # The bare id (as store keys show it), or another id under this one's signature.
    uid, _, signature = token.partition(".")
    neighbour = f"{uid[:-1]}{'0' if uid[-1] != '0' else '1'}.{signature}"
    for stolen in (uid, neighbour, f"{uid}.{'A' * len(signature)}"):
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            connect(server.base, stolen)
        assert refused.value.status_code == 403


def test_an_extra_allowed_origin(tmp_path):
    extra = Server(
        BOT_STORE_URL=f"sqlite:///{tmp_path}/bot.db",
        BOT_ALLOWED_ORIGINS="https://bot.example.com, http://localhost:3000",
    )
    try:
        ws = connect(extra.base, new_user(extra.base), origin="https://bot.example.com")
        say(ws, "hi")
        assert next_frame(ws, "message")["text"] in GREETINGS
        ws.close()
    finally:
        extra.stop()


def connect_once_freed(base: str, token: str) -> websocket.WebSocket:
    """Connect as soon as the server has freed the slot of a chat the client closed.

    The server frees it after answering the close, when the socket is already gone, so
    nothing the client can see marks the moment: ask again until it is let in. SAFETY only
    stops a broken server from hanging the test; a working one lets it in within a few tries.
    """
    deadline = time.monotonic() + SAFETY
    while True:
        try:
            return connect(base, token)
        except websocket.WebSocketBadStatusException as refused:
            status = refused.status_code
        assert status == 503
        assert time.monotonic() < deadline, "the closed chat's slot was never freed"
        time.sleep(0.05)  # a pause between tries, not a wait for anything


def test_open_chats_are_capped_so_the_webhook_keeps_its_threads(tmp_path):
    capped = Server(
        BOT_STORE_URL=f"sqlite:///{tmp_path}/bot.db", WEB_CONCURRENCY="1", BOT_CHAT_MAX_SOCKETS="1"
    )
    try:
        token = new_user(capped.base)
        first = connect(capped.base, token)
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            connect(capped.base, token)
        assert refused.value.status_code == 503
        assert capped.say("what can you do") == HELP
        first.close()
        second = connect_once_freed(capped.base, token)
        say(second, "hi")
        assert next_frame(second, "message")["text"] in GREETINGS
        second.close()
    finally:
        capped.stop()


def test_a_slow_skill_streams_one_moment_then_the_answer(upstream, gate, tmp_path):
    base = upstream.url_for("").rstrip("/")
    upstream.expect_request("/random_joke").respond_with_handler(gate.held(answer(JOKE)))
    live = Server(
        BOT_STORE_URL=f"sqlite:///{tmp_path}/bot.db",
        BOT_OFFLINE="false",
        BOT_REPLY_BUDGET="0.3",
        BOT_UPSTREAM_TIMEOUT="10",
        TWILIO_ACCOUNT_SID=ACCOUNT,
        JOKES_URL=base,
    )
    try:
        ws = connect(live.base, new_user(live.base))
        say(ws, "tell me a joke")
        # The joke API has not answered (the gate is shut), and the browser hears from us.
        assert next_frame(ws, "message")["text"] == ONE_MOMENT
        gate.open()
        late = next_frame(ws, "message")
        assert late["text"] == JOKE_TEXT
        assert late["understood"] == {"intent": "joke", "confidence": 1.0, "slots": {}}
        ws.close()
    finally:
        gate.open()
        live.stop()


def test_frames_reach_the_browser_on_another_host_through_redis(redis_url):
    # Every host signs and checks user ids with the same SECRET_KEY.
    shared = {"BOT_STORE_URL": redis_url, "WEB_CONCURRENCY": "1", "SECRET_KEY": "shared-key"}
    one, two = Server(**shared), Server(**shared)
    try:
        token = new_user(one.base)
        here, there = connect(one.base, token), connect(two.base, token)  # two tabs, two hosts
        for tab in (here, there):  # a tab listens once it has heard its own first answer
            say(tab, "hi")
            next_frame(tab, "message")
        say(here, "my name is Ana")
        kept = message_containing(here, "Ana")["text"]
        assert kept in NAME_KEPT
        assert message_containing(there, "Ana")["text"] == kept
        say(there, "what is my name")
        assert message_containing(here, "name is")["text"] == "Your name is Ana 😊"
        here.close()
        there.close()
    finally:
        one.stop()
        two.stop()


def test_a_deploy_closes_open_chats_instead_of_waiting_for_them(tmp_path):
    # A graceful timeout far past the wait below: a worker the chat held would still be
    # there when the wait gives up, rather than be killed and pass for one that stopped.
    running = Server(
        BOT_STORE_URL=f"sqlite:///{tmp_path}/bot.db", GUNICORN_CMD_ARGS="--graceful-timeout 300"
    )
    try:
        ws = connect(running.base, new_user(running.base))
        say(ws, "hi")
        next_frame(ws, "message")
        running.process.send_signal(signal.SIGTERM)
        opcode, data = ws.recv_data(control_frame=True)  # the browser hears "going away"
        assert opcode == websocket.ABNF.OPCODE_CLOSE
        assert int.from_bytes(data[:2], "big") == 1001
        assert running.process.wait(timeout=SAFETY) == 0
    finally:
        if running.process.poll() is None:
            running.process.kill()
        running.stop()


def test_with_a_person_the_chat_gets_a_quiet_frame_not_a_reply(tmp_path):
    from werkzeug.security import generate_password_hash

    operators = f"sam={generate_password_hash('a long operator password')}"
    running = Server(BOT_STORE_URL=f"sqlite:///{tmp_path}/bot.db", BOT_OPERATORS=operators)
    try:
        ws = connect(running.base, new_user(running.base))
        say(ws, "can i talk to a person please")
        assert "asked someone from the team" in next_frame(ws, "message")["text"]
        say(ws, "hello, anyone there?")
        assert json.loads(ws.recv()) == {"type": "typing"}
        assert json.loads(ws.recv()) == {"type": "quiet"}
        ws.close()
    finally:
        running.stop()
