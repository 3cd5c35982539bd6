"""The operator console, `/console`: sign-in, the conversations (who waits for a person
first), a user's history, the reply box and "return to bot", and the overview charts.

`init_app(app, hub)` registers it; without an operator in BOT_OPERATORS there is no console.
"""

from __future__ import annotations

from flask import Flask

from channels.hub import Hub


def init_app(app: Flask, hub: Hub) -> None:
    """Register the console on `app`; `hub` carries live updates to open consoles."""
