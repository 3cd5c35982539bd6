"""What the console works with, in one object the app keeps (`the_console()`): the
operators, the bot's pipeline (its store and engine) and Twilio sender, the hub that carries
live updates, the sign-in lock-out, the idle time, and a clock tests can move."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from flask import current_app

from channels.answering import Answering
from channels.followups import FollowUps
from channels.hub import Hub
from console.lockout import Lockout
from console.sweep import Sweeper
from engine import Engine
from memory import Store

EXTENSION = "bot.console"
CONSOLE_KEY = "console"  # the hub key of open consoles; no user's key looks like it
SOCKETS = 8  # open consoles per process: each holds a server thread, as a web chat does


@dataclass
class Console:
    operators: dict[str, str]  # name -> password hash
    answering: Answering
    hub: Hub
    lockout: Lockout
    idle_minutes: int  # BOT_HANDOFF_IDLE_MINUTES
    zone: ZoneInfo  # BOT_TIMEZONE, for the times shown
    clock: Callable[[], float] = field(default=time.time)
    sockets: threading.BoundedSemaphore = field(
        default_factory=lambda: threading.BoundedSemaphore(SOCKETS)
    )
    sweeper: Sweeper | None = None  # set by init_app

    @property
    def store(self) -> Store:
        return self.answering.pipeline.store

    @property
    def engine(self) -> Engine:
        return self.answering.pipeline.engine

    @property
    def followups(self) -> FollowUps | None:
        return self.answering.followups

    def now(self) -> float:
        return self.clock()


def the_console() -> Console:
    """The app's `Console`, set up by `console.init_app` when an operator is configured."""
    return current_app.extensions[EXTENSION]
