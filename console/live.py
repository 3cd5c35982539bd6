"""The console's live updates: the watcher that publishes each handled message to the hub
key "console", and the WebSocket, /console/ws, that passes those frames to an open page.

The socket is let in only for a signed-in operator (401 otherwise, before the handshake),
from one of our pages (the Origin check of every console POST), while a socket slot is free.
Its first frame must be `{"type": "hello", "csrf": <the session's token>, "watch": <ref or
"">}` within HELLO_SECONDS, or it is closed: a page elsewhere that got a browser to open it
cannot read a thing. Then every console frame reaches it (`console.frames`).

Every POLL seconds the socket also looks at the store itself: a history page gets a frame
for each delivery status that changed (Twilio's callbacks reach whichever worker, and
nothing publishes them), and, when the hub serves this process only (a SQLite store with
several workers: a message handled by another worker is published there), the list page
gets the list again when it changed and a history page its new exchanges.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
from typing import Any

from flask import abort, g, request
from simple_websocket import ConnectionClosed

from channels.hub import LocalHub
from channels.webchat import CLOSING
from console import people, sessions
from console.blueprint import bp, sock
from console.context import CONSOLE_KEY, Console, the_console
from console.frames import exchange_frame, forgotten_frame, handoff_frame, user_frame
from console.listing import rows
from console.refs import ref_for, sender_for
from conversation import ConversationState, Message
from memory import Delivery, Exchange, StoreUnavailable
from pipeline import Handled

log = logging.getLogger("bot.console")

HELLO_SECONDS = 10.0
POLL = 3.0  # seconds between looks at the store
POLICY = 1008  # WebSocket close code: policy violation


class Watcher:
    """`Answering.watchers` entry: each handled message, published to open consoles."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def __call__(self, message: Message, handled: Handled) -> None:
        hub = self.console.hub
        if handled.outcome == "forgotten":
            hub.publish(CONSOLE_KEY, forgotten_frame(message.sender))
            return
        if handled.outcome not in {"answered", "deferred"}:
            return  # nothing was kept: a redelivery, a refusal, an outage
        hub.publish(CONSOLE_KEY, user_frame(message, handled, self.console.now()))
        turn = handled.turn
        if turn is not None and turn.understanding.matched == "handover":
            hub.publish(CONSOLE_KEY, handoff_frame(message.sender, turn.state))


@bp.before_request
def _admit_websocket() -> None:
    """A console socket takes a slot of this process's few (each holds a thread)."""
    if request.endpoint != "console.live":
        return
    if CLOSING.is_set():
        abort(503)
    if not the_console().sockets.acquire(blocking=False):
        log.warning("refused a console WebSocket: all console slots of this process are open")
        abort(503)
    g.console_slot = True


@bp.teardown_request
def _free_slot(_error: BaseException | None) -> None:
    if g.pop("console_slot", False):
        the_console().sockets.release()


class Outbox:
    """Serialised sends to one socket; a page that went away reconnects on its own."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self._lock = threading.Lock()

    def send(self, text: str) -> None:
        with self._lock, contextlib.suppress(ConnectionClosed, OSError):
            self.ws.send(text)

    def frame(self, frame: dict[str, Any]) -> None:
        self.send(json.dumps(frame, ensure_ascii=False))


@sock.route("/ws", bp=bp)
def live(ws: Any) -> None:
    console = the_console()
    hello = _hello(ws)
    if hello is None:
        ws.close(reason=POLICY, message="send a hello frame with the page's CSRF token first")
        _finish(ws)
        return
    outbox = Outbox(ws)
    watch = sender_for(hello.get("watch") or "") if hello.get("watch") else None
    looker = Looker(console, watch, local=type(console.hub) is LocalHub)
    unsubscribe = console.hub.subscribe(CONSOLE_KEY, outbox.send)
    outbox.frame({"type": "ready"})
    next_look = time.monotonic() + POLL
    try:
        while not CLOSING.is_set():
            ws.receive(timeout=1)  # the page says nothing after hello; this notices a close
            if time.monotonic() >= next_look:
                next_look = time.monotonic() + POLL
                for frame in looker.changes():
                    outbox.frame(frame)
        ws.close(reason=1001, message="the server is restarting")
    finally:
        unsubscribe()
        _finish(ws)


def _hello(ws: Any) -> dict[str, Any] | None:
    """The hello frame, when it comes in time and carries this session's CSRF token."""
    try:
        data = ws.receive(timeout=HELLO_SECONDS)
        frame = json.loads(data) if data else None
    except (ValueError, TypeError):
        return None
    if not isinstance(frame, dict) or frame.get("type") != "hello":
        return None
    if not sessions.csrf_matches(frame.get("csrf")):
        log.warning("refused a console WebSocket: its hello carried no valid CSRF token")
        return None
    return frame


def _finish(ws: Any) -> None:
    """Let simple-websocket's reader thread end before the server reuses the socket (as the
    web chat does: a peer that does not answer our close is cut off after a second)."""
    with contextlib.suppress(ConnectionClosed, OSError):
        if ws.connected:
            ws.close()
    ws.thread.join(1)
    if ws.thread.is_alive():
        with contextlib.suppress(OSError):
            ws.sock.shutdown(socket.SHUT_RDWR)
        ws.thread.join(1)


class Looker:
    """What one open page would miss without looking at the store (see the docstring)."""

    def __init__(self, console: Console, sender: str | None, local: bool) -> None:
        self.console = console
        self.sender = sender
        self.local = local
        self._rows: list[dict[str, Any]] | None = None
        self._statuses: dict[str, tuple[str, str]] | None = None
        self._seen: set[str] | None = None
        with contextlib.suppress(StoreUnavailable):
            self.changes()  # what the page was drawn with: only later changes are sent

    def changes(self) -> list[dict[str, Any]]:
        try:
            if self.sender is None:
                return self._list() if self.local else []
            return self._deliveries() + (self._history() if self.local else [])
        except StoreUnavailable as error:
            log.warning("console socket could not look at the store: %s", error)
            return []

    def _list(self) -> list[dict[str, Any]]:
        current = rows(self.console)
        changed = self._rows is not None and current != self._rows
        self._rows = current
        return [{"type": "list", "rows": current}] if changed else []

    def _deliveries(self) -> list[dict[str, Any]]:
        assert self.sender is not None
        current = {d.sid: d for d in self.console.store.deliveries(self.sender)}
        before = self._statuses
        self._statuses = {sid: (d.status, d.error_code) for sid, d in current.items()}
        if before is None:
            return []
        return [
            delivery_frame(d)
            for sid, d in current.items()
            if before.get(sid) != (d.status, d.error_code)
        ]

    def _history(self) -> list[dict[str, Any]]:
        assert self.sender is not None
        kept = self.console.store.history(self.sender)
        before = self._seen
        self._seen = {e.message_id for e in kept}
        if before is None:
            return []
        state = ConversationState()
        fresh = [e for e in kept if e.message_id not in before]
        if fresh:
            state = people.read_state(self.console.store, self.sender)
        return [history_frame(self.sender, e, state) for e in fresh]


def delivery_frame(delivery: Delivery) -> dict[str, Any]:
    return {
        "type": "delivery",
        "sid": delivery.sid,
        "about": delivery.about,
        "status": delivery.status,
        "error_code": delivery.error_code,
        "ref": ref_for(delivery.sender),
    }


def history_frame(sender: str, exchange: Exchange, state: ConversationState) -> dict[str, Any]:
    """A kept exchange as the frame that would have announced it."""
    if exchange.channel == people.OPERATOR:
        frame = exchange_frame(sender, exchange, state)
        if exchange.intent != people.OPERATOR:
            frame["type"] = "returned"
        return frame
    frame = exchange_frame(sender, exchange, state)
    frame.update(kind="user", text=exchange.text, by="")
    return frame
