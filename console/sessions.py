"""The operator's session: Flask's signed session cookie (SECRET_KEY), used by the console
alone, so it is named and scoped for it: `bot_console`, path /console, HttpOnly,
SameSite=Strict (every console flow starts on a console page: a link from elsewhere lands on
the sign-in page, which then works), and Secure when the request came over https or
BOT_PUBLIC_URL is https.

The session holds the operator's name, when they signed in, a CSRF token, and a short digest
of their password hash: a new password in BOT_OPERATORS ends their sessions everywhere. A
session is rotated at sign-in (everything before it is dropped, the CSRF token is new) and
lasts LIFETIME, or until the browser closes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from typing import Any

from flask import Flask, has_request_context, request, session
from flask.sessions import SecureCookieSessionInterface

COOKIE = "bot_console"
PATH = "/console"
LIFETIME = 12 * 3600.0  # seconds a sign-in lasts


class ConsoleSessions(SecureCookieSessionInterface):
    """Flask's cookie sessions, Secure also when this request came over https."""

    def get_cookie_secure(self, app: Flask) -> bool:
        over_https = has_request_context() and request.is_secure
        return bool(app.config["SESSION_COOKIE_SECURE"]) or over_https


def configure(app: Flask) -> None:
    """Set the session cookie's name, scope and flags on `app` (only the console uses it)."""
    app.config.update(
        SESSION_COOKIE_NAME=COOKIE,
        SESSION_COOKIE_PATH=PATH,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=app.config["BOT_PUBLIC_URL"].lower().startswith("https://"),
    )
    app.session_interface = ConsoleSessions()


def password_digest(hashed: str) -> str:
    """A short digest of an operator's password hash, kept in their session."""
    return hashlib.sha256(hashed.encode()).hexdigest()[:16]


def sign_in(name: str, hashed: str, now: float) -> None:
    """A new session for `name`: whatever the browser had is dropped first."""
    session.clear()
    session.update(
        operator=name, since=now, csrf=secrets.token_urlsafe(32), key=password_digest(hashed)
    )


def sign_out() -> None:
    session.clear()


def operator(operators: dict[str, str], now: float | None = None) -> str | None:
    """The signed-in operator's name, or None: no session, an operator no longer in
    BOT_OPERATORS or with another password since, or a sign-in older than LIFETIME."""
    name = session.get("operator")
    hashed = operators.get(name) if isinstance(name, str) else None
    if hashed is None or session.get("key") != password_digest(hashed):
        return None
    since = session.get("since")
    now = time.time() if now is None else now
    if not isinstance(since, int | float) or not 0 <= now - since < LIFETIME:
        return None
    return name


def csrf_token() -> str:
    """This session's CSRF token, made now for a browser that has none yet (the sign-in
    form's, before anyone signed in)."""
    token = session.get("csrf")
    if not isinstance(token, str):
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def csrf_matches(given: Any) -> bool:
    """Whether `given` is this session's CSRF token (compared in constant time)."""
    token = session.get("csrf")
    if not isinstance(token, str) or not isinstance(given, str):
        return False
    return hmac.compare_digest(given.encode(), token.encode())
