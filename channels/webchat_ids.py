"""Web-chat user ids: made by the server, signed with SECRET_KEY, and checked on every socket.

A browser's id names its memory (`web:<id>` in the store), so knowing an id must not be
enough to open a chat as that user: ids show up in store keys, Redis channels and exports.
The cookie holds `<id>.<signature>` (itsdangerous, HMAC-SHA256 under SECRET_KEY and a salt
of its own, so no other signed value of the app passes for one); a bare id, a changed one,
or one signed under another key is refused. The cookie is HttpOnly and SameSite=Lax: the
page's script never reads it, and the WebSocket handshake, a same-site request, carries it
like any other, so the token is never in a URL and never in an access log.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets

from flask import Flask, Request, Response
from itsdangerous import BadSignature, Signer

log = logging.getLogger("bot.webchat")

COOKIE = "bot_uid"
SALT = "bot.webchat.user-id"
MAX_AGE = 365 * 24 * 3600  # seconds; each visit to /chat starts the year again
_ID = re.compile(r"[0-9a-f]{32}")


def use_secret_key(app: Flask) -> None:
    """Keep SECRET_KEY, or for a local run make one now (and say what that costs).

    gunicorn preloads the app, so its workers fork with the key made here and share it.
    """
    if app.config["SECRET_KEY"]:
        return
    app.config["SECRET_KEY"] = secrets.token_urlsafe(32)
    log.warning(
        "SECRET_KEY is not set, so the web chat signs its user ids with a key made at "
        "start-up: after a restart every browser gets a new id and loses its memory. Set "
        "SECRET_KEY in production, the same on every host."
    )


def _signer(key: str) -> Signer:
    return Signer(key, salt=SALT, digest_method=hashlib.sha256)


def new_token(key: str) -> str:
    """A fresh random id, signed: what goes in the cookie."""
    return _signer(key).sign(secrets.token_hex(16)).decode()


def user_id(token: str, key: str) -> str | None:
    """The id in `token` when this server signed it with `key`, else None."""
    try:
        uid = _signer(key).unsign(token).decode()
    except (BadSignature, UnicodeError):
        return None
    return uid if _ID.fullmatch(uid) else None


def browser_id(request: Request, key: str) -> str | None:
    """The signed id this browser's cookie carries, or None."""
    return user_id(request.cookies.get(COOKIE, ""), key)


def give_id(request: Request, response: Response, key: str) -> None:
    """Keep the browser's id for another year, or give it a new one when it has none that
    this server signed."""
    token = request.cookies.get(COOKIE, "")
    if user_id(token, key) is None:
        token = new_token(key)
    response.set_cookie(
        COOKIE, token, max_age=MAX_AGE, httponly=True, samesite="Lax", secure=request.is_secure
    )
