"""The operator console, `/console`: sign-in, the conversations (who waits for a person
first), a user's history, the reply box and "return to bot", and the overview charts.

`init_app(app, hub)` registers it; without an operator in BOT_OPERATORS there is no console
(every /console URL is 404), only the command that makes an operator's entry.
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from flask import Flask

from channels.answering import EXTENSION as ANSWERING
from channels.hub import Hub
from console import auth, live, pages, sessions  # noqa: F401 -- their routes join the blueprint
from console.blueprint import bp
from console.cli import console_cli
from console.context import EXTENSION, Console
from console.lockout import Lockout, failure_log
from console.operators import parse_operators
from console.people import sweep_idle
from console.sweep import Sweeper


def init_app(app: Flask, hub: Hub) -> None:
    """Register the console on `app`; `hub` carries live updates to open consoles."""
    app.cli.add_command(console_cli)
    operators = parse_operators(app.config["BOT_OPERATORS"])
    if not operators:
        return
    answering = app.extensions[ANSWERING]
    console = Console(
        operators=operators,
        answering=answering,
        hub=hub,
        lockout=Lockout(failure_log(app.config["BOT_STORE_URL"], Path(app.root_path))),
        idle_minutes=app.config["BOT_HANDOFF_IDLE_MINUTES"],
        zone=ZoneInfo(app.config["BOT_TIMEZONE"]),
    )
    console.sweeper = Sweeper(lambda: sweep_idle(console))
    app.extensions[EXTENSION] = console
    answering.watchers.append(live.Watcher(console))
    sessions.configure(app)
    app.register_blueprint(bp)
