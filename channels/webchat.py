"""The web chat: a page at GET /chat and a WebSocket at /ws on the same engine and memory.

Each browser gets a user id in a cookie, so its memory persists like a WhatsApp user's.
Frames are JSON text. In: `{"type": "message", "text": "..."}`. Out: `{"type": "typing"}`,
`{"type": "message", "text", "media", "understood"}` per reply, and `{"type": "error",
"text"}` for a bad frame, after which the connection stays open. Every frame for a user
goes through the hub, so all their tabs see it, on any worker or host.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import secrets
import socket
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, Response, abort, current_app, g, request
from flask_sock import Sock
from simple_websocket import ConnectionClosed

from channels.answering import answering
from channels.hub import Hub
from conversation import Message
from engine.replies import slot_text
from pipeline import Handled

log = logging.getLogger("bot.webchat")
bp = Blueprint("webchat", __name__)
sock = Sock()

COOKIE = "bot_uid"
_UID = re.compile(r"^[0-9a-f]{32}$")
MAX_FRAME = 4096  # bytes of a frame we answer; bigger ones get an error frame
HARD_LIMIT = 64 * 1024  # bytes after which the socket is closed instead
# Set when the worker is asked to stop (gunicorn.conf.py): open chats are closed with
# "going away" so a deploy need not wait for them, and browsers reconnect elsewhere.
CLOSING = threading.Event()
RATE = 10  # messages per connection...
PER = 10.0  # ...in this many seconds
EXTENSION = "bot.webchat"


@dataclass
class WebChat:
    """The web chat's parts: the hub every frame goes through, and the open sockets this
    process allows (each holds a server thread; some must stay free for Twilio)."""

    hub: Hub
    sockets: threading.BoundedSemaphore

    def init_app(self, app: Flask) -> None:
        app.extensions[EXTENSION] = self
        # simple-websocket closes a socket whose frame passes this; smaller bad frames get
        # an error frame instead. Pings keep proxies from idling it out.
        app.config["SOCK_SERVER_OPTIONS"] = {"max_message_size": HARD_LIMIT, "ping_interval": 25}
        app.register_blueprint(bp)


def webchat() -> WebChat:
    """The app's `WebChat`, set up by `create_app`."""
    return current_app.extensions[EXTENSION]


def user_id() -> str | None:
    uid = request.cookies.get(COOKIE, "")
    return uid if _UID.match(uid) else None


@bp.get("/chat")
def chat_page() -> Response:
    """The page; it keeps (or gets) the browser's user id in a cookie."""
    response = current_app.send_static_file("chat.html")
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src * data:; connect-src 'self'; style-src 'self'; "
        "script-src 'self'; frame-ancestors 'none'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    uid = user_id() or secrets.token_hex(16)
    response.set_cookie(
        COOKIE,
        uid,
        max_age=365 * 24 * 3600,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure,
    )
    return response


def allowed_origins() -> set[str]:
    """The app's own origin, the public URL's, and BOT_ALLOWED_ORIGINS."""
    own = request.host_url.rstrip("/")
    origins = {own, *current_app.config["BOT_ALLOWED_ORIGINS"]}
    public = current_app.config["BOT_PUBLIC_URL"]
    if public:
        parts = urlsplit(public)
        origins.add(f"{parts.scheme}://{parts.netloc}")
    return {o.lower() for o in origins}


@bp.before_request
def _check_websocket_origin() -> None:
    """Refuse a cross-site WebSocket before the handshake: a page elsewhere must not talk
    to the bot with this browser's cookie."""
    if request.path != "/ws":
        return
    if CLOSING.is_set():
        abort(503)  # this worker is stopping; the browser retries and reaches another
    origin = request.headers.get("Origin", "").rstrip("/").lower()
    if origin not in allowed_origins():
        log.warning("refused a WebSocket from origin %r", origin or "(none)")
        abort(403)
    if user_id() is None:
        abort(403, "open /chat first: it gives this browser its user id")
    # Each open chat holds a server thread; keep some for the Twilio webhook.
    if not webchat().sockets.acquire(blocking=False):
        log.warning("refused a WebSocket: BOT_CHAT_MAX_SOCKETS are open in this process")
        abort(503)
    g.socket_slot = True


@bp.teardown_request
def _free_socket_slot(_error: BaseException | None) -> None:
    if g.pop("socket_slot", False):
        webchat().sockets.release()


def understood(handled: Handled) -> dict[str, Any] | None:
    if handled.turn is None:
        return None
    understanding = handled.turn.understanding
    slots = {
        k: v if isinstance(v, int | float) else slot_text(v) for k, v in understanding.slots.items()
    }
    return {
        "intent": understanding.intent,
        "confidence": round(understanding.confidence, 2),
        "slots": slots,
    }


def reply_frames(handled: Handled) -> list[dict[str, Any]]:
    understanding = understood(handled)
    return [
        {
            "type": "message",
            "text": reply.text,
            "media": list(reply.media),
            "understood": understanding,
            "time": time.time(),
        }
        for reply in handled.replies
    ]


class Connection:
    """One open socket: serialised sends, a rate limit, and frame checks."""

    def __init__(self, ws, sender: str) -> None:
        self.ws = ws
        self.sender = sender
        self._send_lock = threading.Lock()
        self._recent: deque[float] = deque()

    def send(self, text: str) -> None:
        # A browser that went away reconnects; its memory is in the store.
        with self._send_lock, contextlib.suppress(ConnectionClosed, OSError):
            self.ws.send(text)

    def error(self, text: str) -> None:
        self.send(json.dumps({"type": "error", "text": text}))

    def parse(self, data: str | bytes) -> str | None:
        """The text of a valid message frame, or None after sending an error frame."""
        raw = data.encode() if isinstance(data, str) else data
        if len(raw) > MAX_FRAME:
            self.error(f"That message is too long: frames are limited to {MAX_FRAME} bytes.")
            return None
        try:
            frame = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            self.error('Frames must be JSON, like {"type": "message", "text": "hi"}.')
            return None
        if not isinstance(frame, dict) or frame.get("type") != "message":
            kind = frame.get("type") if isinstance(frame, dict) else type(frame).__name__
            self.error(f'Unknown frame type {kind!r}: send {{"type": "message", "text": "..."}}.')
            return None
        text = frame.get("text")
        if not isinstance(text, str):
            self.error('A message frame needs "text", a string.')
            return None
        now = time.monotonic()
        while self._recent and now - self._recent[0] > PER:
            self._recent.popleft()
        if len(self._recent) >= RATE:
            self.error("You're sending messages too fast. 🙂 Wait a few seconds.")
            return None
        self._recent.append(now)
        return text


@sock.route("/ws", bp=bp)
def websocket(ws) -> None:
    uid = user_id()
    sender = f"web:{uid}"
    hub = webchat().hub
    seam = answering()
    connection = Connection(ws, sender)
    unsubscribe = hub.subscribe(sender, connection.send)

    def later(_message: Message, handled: Handled) -> None:
        for frame in reply_frames(handled):
            hub.publish(sender, frame)

    try:
        while not CLOSING.is_set():
            data = ws.receive(timeout=1)
            if data is None:  # nothing yet: look at CLOSING again
                continue
            text = connection.parse(data)
            if text is None:
                continue
            hub.publish(sender, {"type": "typing"})
            message = Message("web", sender, body=text, message_id=f"web-{uuid.uuid4().hex}")
            handled = seam.answer(message, later=later)
            for frame in reply_frames(handled):
                hub.publish(sender, frame)
        ws.close(reason=1001, message="the server is restarting")
    finally:
        unsubscribe()
        _finish(ws)


def _finish(ws) -> None:
    """Let simple-websocket's reader thread end before the server reuses the socket: it is
    not a daemon, and left waiting on a socket gunicorn has closed it would hold a stopping
    worker until the graceful timeout. A browser answers our close at once; a peer that
    does not is cut off after a second."""
    with contextlib.suppress(ConnectionClosed, OSError):
        if ws.connected:
            ws.close()
    ws.thread.join(1)
    if ws.thread.is_alive():
        with contextlib.suppress(OSError):
            ws.sock.shutdown(socket.SHUT_RDWR)
        ws.thread.join(1)
