"""Signed web-chat user ids: made by the server, refused when bare, edited or signed under
another key; /chat and POST /chat/id keep a good one and replace any other; and without
SECRET_KEY a key is kept in the instance folder, with a warning that says to set it."""

from __future__ import annotations

import logging
import re
import stat
from pathlib import Path

import pytest

from bot import create_app
from channels.webchat_ids import COOKIE, MAX_AGE, new_token, user_id
from tests.conftest import base_settings

KEY = "a-test-secret-key-for-the-web-chat"
OTHER_KEY = "another-hosts-secret-key"
ID = re.compile(r"[0-9a-f]{32}")
OWN_ORIGIN = {"Origin": "http://localhost"}


@pytest.fixture
def keyed_client():
    return create_app(base_settings(SECRET_KEY=KEY)).test_client()


def test_a_token_is_a_random_id_and_its_signature():
    token = new_token(KEY)
    uid, dot, signature = token.partition(".")
    assert ID.fullmatch(uid)
    assert dot == "."
    assert len(signature) == 43  # HMAC-SHA256, base64 without padding
    assert user_id(token, KEY) == uid
    assert user_id(new_token(KEY), KEY) != uid


def edited(token: str) -> str:
    """The same signature on the id next door: what guessing a user's id looks like."""
    uid, _, signature = token.partition(".")
    last = "0" if uid[-1] != "0" else "1"
    return f"{uid[:-1]}{last}.{signature}"


# Ways to come by a token without being given it, each from a token this server gave.
FORGED = {
    "bare id": lambda token: token.partition(".")[0],  # as store keys and logs show it
    "other key": lambda token: new_token(OTHER_KEY),
    "id with another key's signature": lambda token: (
        f"{token.partition('.')[0]}.{new_token(OTHER_KEY).partition('.')[2]}"
    ),
    "edited id": edited,
    # Its first character: the last one of unpadded base64 carries bits that are dropped,
    # so two spellings of it can decode to the same signature.
    "edited signature": lambda token: f"{token[:33]}{'A' if token[33] != 'A' else 'B'}{token[34:]}",
    "not an id": lambda token: f"{'x' * 32}.{token.partition('.')[2]}",
    "junk": lambda token: "not-a-token",
    "empty": lambda token: "",
}


@pytest.mark.parametrize("forge", FORGED.values(), ids=FORGED.keys())
def test_an_id_this_server_did_not_sign_is_refused(forge):
    assert user_id(forge(new_token(KEY)), KEY) is None


def cookie_of(response) -> str:
    """The bot_uid cookie `response` sets, after checking how it is set."""
    (header,) = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{COOKIE}=")]
    assert f"Max-Age={MAX_AGE}" in header
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header
    return header.partition(";")[0].partition("=")[2]


def test_the_page_gives_a_new_browser_a_signed_id(keyed_client):
    token = cookie_of(keyed_client.get("/chat"))
    assert ID.fullmatch(user_id(token, KEY) or "")


def test_the_page_keeps_a_good_id(keyed_client):
    token = new_token(KEY)
    keyed_client.set_cookie(COOKIE, token)
    assert cookie_of(keyed_client.get("/chat")) == token


@pytest.mark.parametrize("forge", FORGED.values(), ids=FORGED.keys())
def test_the_page_replaces_an_id_it_did_not_sign(keyed_client, forge):
    token = new_token(KEY)
    keyed_client.set_cookie(COOKIE, forge(token))
    given = cookie_of(keyed_client.get("/chat"))
    assert user_id(given, KEY) not in {None, user_id(token, KEY)}


def test_asking_for_an_id_keeps_a_good_one_and_replaces_a_bad_one(keyed_client):
    token = new_token(KEY)
    keyed_client.set_cookie(COOKIE, token)
    kept = keyed_client.post("/chat/id", headers=OWN_ORIGIN)
    assert kept.status_code == 204
    assert cookie_of(kept) == token
    keyed_client.set_cookie(COOKIE, new_token(OTHER_KEY))  # this server's key changed
    renewed = keyed_client.post("/chat/id", headers=OWN_ORIGIN)
    assert renewed.status_code == 204
    assert user_id(cookie_of(renewed), KEY) is not None


@pytest.mark.parametrize("origin", [None, "http://evil.example", "null"])
def test_only_the_chat_page_may_ask_for_an_id(keyed_client, origin):
    headers = {"Origin": origin} if origin else {}
    refused = keyed_client.post("/chat/id", headers=headers)
    assert refused.status_code == 403
    assert "Set-Cookie" not in refused.headers


def webchat_log(caplog) -> list[tuple[str, str]]:
    return [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "bot.webchat"]


def test_without_secret_key_a_local_run_keeps_one_and_says_to_set_it(caplog):
    with caplog.at_level(logging.WARNING, logger="bot"):
        # Like `make run` without SECRET_KEY: the key is kept in the checkout's instance folder.
        first, second = (create_app(base_settings(SECRET_KEY="")) for _ in range(2))
    kept = Path(first.instance_path) / "secret-key"
    assert first.config["SECRET_KEY"] == kept.read_text().strip()
    assert len(first.config["SECRET_KEY"]) >= 32
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    warning = (
        "WARNING",
        f"SECRET_KEY is not set: the web chat signs its user ids with a key kept in {kept}. "
        "Set SECRET_KEY in production, the same on every host.",
    )
    assert [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "bot"].count(
        warning
    ) == 2
    # An id from before the restart is still this server's: the browser keeps its memory.
    token = cookie_of(first.test_client().get("/chat"))
    assert user_id(token, second.config["SECRET_KEY"]) is not None


def test_a_set_secret_key_is_used_as_it_is(caplog):
    with caplog.at_level(logging.WARNING, logger="bot"):
        app = create_app(base_settings(SECRET_KEY=KEY))
    assert app.config["SECRET_KEY"] == KEY
    assert webchat_log(caplog) == []
    assert user_id(cookie_of(app.test_client().get("/chat")), KEY) is not None
