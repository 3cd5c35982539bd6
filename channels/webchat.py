"""The web chat: a page at GET /chat and a WebSocket at /ws on the same engine and memory.

Each browser gets a signed user id in a cookie (`channels.webchat_ids`), so its memory
persists like a WhatsApp user's; a page whose socket is refused asks POST /chat/id for a
new one. Every route refuses a host that is not ours, and the socket a page that is not
ours (`channels.webchat_hosts`). The frames are in `channels.webchat_frames`; every frame
for a user goes through the hub, so all their tabs see it, on any worker or host.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
import uuid
from dataclasses import dataclass

from flask import Blueprint, Flask, Response, abort, current_app, g, request
from flask_sock import Sock
from simple_websocket import ConnectionClosed

from channels import webchat_hosts, webchat_ids
from channels.answering import answering
from channels.hub import Hub, LocalHub
from channels.webchat_frames import Connection, message_frame, reply_frames
from conversation import Message
from memory import StoreUnavailable
from pipeline import Handled

log = logging.getLogger("bot.webchat")
bp = Blueprint("webchat", __name__)
sock = Sock()

HARD_LIMIT = 64 * 1024  # bytes after which the socket is closed instead
# Set when the worker is asked to stop (gunicorn.conf.py): open chats are closed with
# "going away" so a deploy need not wait for them, and browsers reconnect elsewhere.
CLOSING = threading.Event()
EXTENSION = "bot.webchat"


@dataclass
class WebChat:
    """The web chat's parts: the hub every frame goes through, and the open sockets this
    process allows (each holds a server thread; some must stay free for Twilio)."""

    hub: Hub
    sockets: threading.BoundedSemaphore

    def init_app(self, app: Flask) -> None:
        app.extensions[EXTENSION] = self
        webchat_ids.use_secret_key(app)
        # simple-websocket closes a socket whose frame passes this; smaller bad frames get
        # an error frame instead. Pings keep proxies from idling it out.
        app.config["SOCK_SERVER_OPTIONS"] = {"max_message_size": HARD_LIMIT, "ping_interval": 25}
        app.register_blueprint(bp)


def webchat() -> WebChat:
    """The app's `WebChat`, set up by `create_app`."""
    return current_app.extensions[EXTENSION]


def browser_id() -> str | None:
    """The signed user id this browser's cookie carries, or None."""
    return webchat_ids.browser_id(request, current_app.config["SECRET_KEY"])


@bp.get("/chat")
def chat_page() -> Response:
    """The page; it keeps (or gets) the browser's signed user id in a cookie."""
    response = current_app.send_static_file("chat.html")
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src * data:; connect-src 'self'; style-src 'self'; "
        "script-src 'self'; frame-ancestors 'none'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    webchat_ids.give_id(request, response, current_app.config["SECRET_KEY"])
    return response


@bp.post("/chat/id")
def renew_id() -> Response:
    """What the page asks when its socket was refused: the id is kept when it is still
    good, and replaced when it is not (SECRET_KEY changed, or the cookie was edited)."""
    response = Response(status=204)
    webchat_ids.give_id(request, response, current_app.config["SECRET_KEY"])
    return response


@bp.before_request
def _check_host_and_origin() -> None:
    """Refuse a foreign host on every web-chat route (DNS rebinding), and a foreign page on
    those that change something, before the WebSocket handshake: a page elsewhere must not
    talk to the bot with this browser's cookie."""
    reason = webchat_hosts.refusal(
        request, current_app.config, check_origin=request.endpoint != "webchat.chat_page"
    )
    if reason is not None:
        log.warning("refused %s %s: %s", request.method, request.path, reason)
        abort(403)


@bp.before_request
def _admit_websocket() -> None:
    """Let a WebSocket in while this worker is not stopping, the browser has a signed id,
    and a socket slot is free."""
    if request.path != "/ws":
        return
    if CLOSING.is_set():
        abort(503)  # this worker is stopping; the browser retries and reaches another
    if browser_id() is None:
        log.info("refused a WebSocket: its cookie holds no user id this server signed")
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


@sock.route("/ws", bp=bp)
def websocket(ws) -> None:
    uid = browser_id()
    sender = f"web:{uid}"
    hub = webchat().hub
    seam = answering()
    connection = Connection(ws, sender)
    people = PersonMessages(seam.pipeline.store, sender, connection.send, time.time)
    unsubscribe = hub.subscribe(sender, people.deliver)

    def later(_message: Message, handled: Handled) -> None:
        for frame in reply_frames(handled):
            hub.publish(sender, frame)

    try:
        while not CLOSING.is_set():
            data = ws.receive(timeout=1)
            if data is None:  # nothing yet: look at CLOSING again, and a person's messages
                people.check(isinstance(hub, LocalHub))
                continue
            text = connection.parse(data)
            if text is None:
                continue
            hub.publish(sender, {"type": "typing"})
            message = Message("web", sender, body=text, message_id=f"web-{uuid.uuid4().hex}")
            handled = seam.answer(message, later=later)
            if handled.turn is not None:
                people.watch(handled.turn.state.with_person)
            frames = reply_frames(handled)
            if not frames and handled.outcome != "deferred":
                # Nothing to say (a person has the conversation, say): stop the dots.
                frames = [{"type": "quiet"}]
            for frame in frames:
                hub.publish(sender, frame)
        ws.close(reason=1001, message="the server is restarting")
    finally:
        unsubscribe()
        _finish(ws)


class PersonMessages:
    """What an operator writes to this user reaches their socket: through the hub, and,
    where the hub serves one process only (a SQLite store with several workers, whose console
    request may land on another worker), from the user's history, read every
    `EVERY` seconds while a person has the conversation. Each message goes out once: the
    hub's frames carry the id the history keeps them under."""

    EVERY = 2.0

    def __init__(self, store, sender: str, send, clock) -> None:
        self.store = store
        self.sender = sender
        self._send = send
        self._clock = clock
        self.seen: set[str] = set()
        self.since = 0.0  # watching the history from this time on; 0: not watching
        self._next = 0.0

    def deliver(self, text: str) -> None:
        """A frame from the hub, noted by its id when it has one."""
        if '"id"' in text:
            with contextlib.suppress(ValueError, AttributeError):
                self.seen.add(json.loads(text)["id"])
        self._send(text)

    def watch(self, with_person: bool) -> None:
        """Start or stop reading the history, as the user's last turn says."""
        if with_person and not self.since:
            self.since = self._clock()
        elif not with_person:
            self.since = 0.0

    def check(self, local: bool) -> None:
        """Send what operators wrote since the last look; only for a hub of one process."""
        now = self._clock()
        if not local or not self.since or now < self._next:
            return
        self._next = now + self.EVERY
        try:
            history = self.store.history(self.sender)
        except StoreUnavailable:
            return
        for exchange in history:
            if exchange.channel != "operator" or exchange.at < self.since:
                continue
            if exchange.message_id in self.seen:
                continue
            self.seen.add(exchange.message_id)
            for reply in exchange.replies:
                frame = message_frame(reply, at=exchange.at, message_id=exchange.message_id)
                self._send(json.dumps(frame, ensure_ascii=False))
            if exchange.intent == "return-to-bot":
                self.since = 0.0


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
