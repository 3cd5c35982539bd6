"""The console's WebSocket against a real gunicorn server, with a real WebSocket client: who
may open it (a signed-in operator, from our page, with the session's CSRF token), what it
hears, that the web chat's socket hears none of it and cannot pass for an operator, and a
handoff taken on one host seen and returned on another through Redis."""

from __future__ import annotations

import json
import re

import pytest
import requests
import websocket

from tests.conftest import SENDER
from tests.servers import Server
from tests.test_console import HANDOVER, OPERATORS, PASSWORD
from tests.test_webchat import connect as connect_chat
from tests.test_webchat import new_user, say


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("console")
    # One worker: its hub serves this process alone, as a SQLite deployment's does.
    running = Server(
        BOT_STORE_URL=f"sqlite:///{folder}/bot.db", BOT_OPERATORS=OPERATORS, WEB_CONCURRENCY="1"
    )
    yield running
    running.stop()


def operator_session(base: str) -> requests.Session:
    """Signed in through the form, as a browser would be."""
    session = requests.Session()
    page = session.get(f"{base}/console/login", timeout=5).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)[1]
    form = {"name": "ana", "password": PASSWORD, "csrf": csrf}
    assert session.post(f"{base}/console/login", data=form, timeout=5).status_code == 200
    return session


def page_token(session: requests.Session, base: str) -> str:
    return re.search(r'name="csrf" content="([^"]+)"', session.get(f"{base}/console").text)[1]


def open_console(base: str, cookie: str, origin: str | None = None) -> websocket.WebSocket:
    return websocket.create_connection(
        base.replace("http://", "ws://") + "/console/ws",
        cookie=cookie,
        origin=origin or base,
        timeout=10,
    )


def live_console(base: str, watch: str = "") -> websocket.WebSocket:
    """A signed-in console socket that said hello and is ready."""
    session = operator_session(base)
    ws = open_console(base, f"bot_console={session.cookies['bot_console']}")
    ws.send(json.dumps({"type": "hello", "csrf": page_token(session, base), "watch": watch}))
    assert json.loads(ws.recv()) == {"type": "ready"}
    return ws


def next_of(ws: websocket.WebSocket, kind: str) -> dict:
    while True:
        frame = json.loads(ws.recv())
        if frame["type"] == kind:
            return frame


def test_the_socket_needs_a_signed_in_operator(server):
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        open_console(server.base, "")
    assert refused.value.status_code == 401


def test_a_web_chat_user_cannot_pass_for_an_operator(server):
    token = new_user(server.base)
    # The chat's own cookie, or its signed id put where the console's session goes.
    for cookie in (f"bot_uid={token}", f"bot_console={token}"):
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            open_console(server.base, cookie)
        assert refused.value.status_code == 401
    assert (
        requests.get(
            f"{server.base}/console",
            cookies={"bot_console": token},
            allow_redirects=False,
            timeout=5,
        ).status_code
        == 302
    )
    # A hello on the chat's socket is no more than an unknown frame there.
    chat = connect_chat(server.base, token)
    chat.send(json.dumps({"type": "hello", "csrf": "anything", "watch": ""}))
    assert json.loads(chat.recv())["type"] == "error"
    chat.close()


def test_a_page_elsewhere_cannot_open_the_socket(server):
    session = operator_session(server.base)
    cookie = f"bot_console={session.cookies['bot_console']}"
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        open_console(server.base, cookie, origin="http://evil.example")
    assert refused.value.status_code == 403


def test_the_socket_needs_the_sessions_csrf_token(server):
    session = operator_session(server.base)
    ws = open_console(server.base, f"bot_console={session.cookies['bot_console']}")
    ws.send(json.dumps({"type": "hello", "csrf": "forged", "watch": ""}))
    opcode, data = ws.recv_data(control_frame=True)
    assert opcode == websocket.ABNF.OPCODE_CLOSE
    assert int.from_bytes(data[:2], "big") == 1008  # policy violation, and nothing else
    ws.close()


def test_the_socket_hears_each_message_and_the_web_chat_hears_none_of_it(server):
    console = live_console(server.base)
    chat = connect_chat(server.base, new_user(server.base))
    server.say("hello from whatsapp")
    heard = next_of(console, "message")
    assert heard["sender"] == SENDER
    assert heard["text"] == "hello from whatsapp"
    assert heard["intent"] == "greet"
    assert heard["with_person"] is False
    # The chat user's frames: their typing and their reply, nothing of the console's (it
    # was published before the chat user wrote, in this one process).
    say(chat, "hi")
    while True:
        frame = json.loads(chat.recv())
        assert "sender" not in frame, frame
        assert frame["type"] not in {"handoff", "returned", "forgotten", "list", "ready"}
        if frame["type"] == "message":
            break
    # The console heard the chat user too, under their web key.
    web = next_of(console, "message")
    assert web["channel"] == "web"
    assert web["sender"].startswith("web:")
    chat.close()
    console.close()


def test_a_handoff_on_one_host_is_seen_and_returned_on_another(redis_url, tmp_path):
    shared = {
        "BOT_STORE_URL": redis_url,
        "BOT_OPERATORS": OPERATORS,
        "WEB_CONCURRENCY": "1",
    }
    first, second = Server(**shared), Server(**shared)
    try:
        console = live_console(second.base)
        assert HANDOVER in first.say("talk to a person")
        heard = next_of(console, "message")
        assert heard["sender"] == SENDER
        assert heard["with_person"] is True
        handoff = next_of(console, "handoff")
        assert handoff["sender"] == SENDER
        assert first.say("hello?") == ""  # a person has it
        # The operator on the second host returns it; the first host's bot answers again.
        session = operator_session(second.base)
        history = session.get(f"{second.base}/console/c/{handoff['ref']}").text
        assert "With a person since" in history
        csrf = re.search(r'name="csrf" value="([^"]+)"', history)[1]
        returned = session.post(
            f"{second.base}/console/c/{handoff['ref']}/return", data={"csrf": csrf}, timeout=10
        )
        assert "The bot has the conversation again." in returned.text
        assert next_of(console, "returned")["sender"] == SENDER
        assert "Here's what I can do" in first.say("help")
        console.close()
    finally:
        first.stop()
        second.stop()
