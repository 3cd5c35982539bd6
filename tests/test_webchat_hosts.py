"""The web chat answers only under its own host names, so a DNS-rebinding page (whose Host
and Origin agree, both the attacker's) is refused before the WebSocket handshake, while
BOT_PUBLIC_URL's host, BOT_ALLOWED_HOSTS and loopback names pass."""

from __future__ import annotations

import json

import pytest
import requests
import websocket

from bot import create_app
from channels.webchat_hosts import host_allowed
from config import settings_from
from tests.conftest import base_settings
from tests.servers import Server

PUBLIC_URL = "https://bot.example.com"
ALLOWED_HOSTS = "chat.example.org, intranet:8080"
SETTINGS = settings_from({}, {"BOT_PUBLIC_URL": PUBLIC_URL, "BOT_ALLOWED_HOSTS": ALLOWED_HOSTS})


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("bot.example.com", True),  # BOT_PUBLIC_URL's
        ("BOT.Example.COM", True),
        ("bot.example.com:8443", True),  # a name without a port: any port
        ("chat.example.org", True),  # BOT_ALLOWED_HOSTS
        ("intranet:8080", True),
        ("intranet:9090", False),  # a name with a port: that port only
        ("intranet", False),
        ("localhost", True),
        ("localhost:5000", True),
        ("127.0.0.1:8000", True),
        ("[::1]:8000", True),
        ("[::1]", True),
        ("evil.example", False),
        ("bot.example.com.evil.example", False),
        ("evil.example@bot.example.com", False),
        ("bot.example.com/evil", False),
        ("127.0.0.2", False),
        ("", False),
    ],
)
def test_the_host_names_the_web_chat_answers_under(host, allowed):
    assert host_allowed(host, SETTINGS) is allowed


def test_without_settings_only_loopback_is_allowed():
    bare = settings_from({}, {})
    assert host_allowed("localhost:5000", bare)
    assert not host_allowed("bot.example.com", bare)


@pytest.mark.parametrize(
    ("base_url", "status"),
    [("http://evil.example", 403), ("http://chat.example.org", 200), ("http://localhost", 200)],
)
def test_the_page_is_refused_under_a_foreign_host(base_url, status):
    client = create_app(base_settings(BOT_ALLOWED_HOSTS=ALLOWED_HOSTS)).test_client()
    response = client.get("/chat", base_url=base_url)
    assert response.status_code == status
    assert ("Set-Cookie" in response.headers) is (status == 200)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    running = Server(
        BOT_STORE_URL=f"sqlite:///{tmp_path_factory.mktemp('hosts')}/bot.db",
        BOT_PUBLIC_URL=PUBLIC_URL,
        BOT_ALLOWED_HOSTS=ALLOWED_HOSTS,
    )
    yield running
    running.stop()


def open_chat(server: Server, host: str, origin: str) -> websocket.WebSocket:
    """Open the page and its socket as a browser would under `host`, from a page at `origin`."""
    page = requests.get(f"{server.base}/chat", headers={"Host": host}, timeout=5)
    assert page.status_code == 200
    return websocket.create_connection(
        f"ws://127.0.0.1:{server.port}/ws",
        host=host,
        origin=origin,
        cookie=f"bot_uid={page.cookies['bot_uid']}",
        timeout=10,
    )


def test_a_dns_rebinding_page_is_refused(server):
    token = requests.get(f"{server.base}/chat", timeout=5).cookies["bot_uid"]
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(
            f"ws://127.0.0.1:{server.port}/ws",
            host="evil.example",
            origin="http://evil.example",
            cookie=f"bot_uid={token}",
            timeout=10,
        )
    assert refused.value.status_code == 403


@pytest.mark.parametrize(
    ("host", "origin"),
    [
        ("chat.example.org", "http://chat.example.org"),  # BOT_ALLOWED_HOSTS
        ("bot.example.com", PUBLIC_URL),  # BOT_PUBLIC_URL, TLS ended by a proxy
        ("localhost:{port}", "http://localhost:{port}"),
        ("[::1]:{port}", "http://[::1]:{port}"),
    ],
)
def test_an_allowed_host_chats(server, host, origin):
    host, origin = host.format(port=server.port), origin.format(port=server.port)
    ws = open_chat(server, host, origin)
    ws.send(json.dumps({"type": "message", "text": "what can you do"}))
    assert json.loads(ws.recv()) == {"type": "typing"}
    assert json.loads(ws.recv())["understood"]["intent"] == "help"
    ws.close()


def test_an_allowed_host_with_another_hosts_origin_is_refused(server):
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        open_chat(server, "chat.example.org", "http://intranet:8080")
    assert refused.value.status_code == 403
