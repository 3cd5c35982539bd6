"""Signing in and out of the console.

GET /console/login shows the form; POST checks the password against BOT_OPERATORS (werkzeug's
`check_password_hash`, as slow for a name that is not an operator's) unless the name is
locked out (`console.lockout`), and on success starts a new session (`sessions.sign_in`).
A locked name is told "locked, try again in N minutes", right password or wrong: the answer
never says whether the password was right. POST /console/logout ends the session.
"""

from __future__ import annotations

import logging
from urllib.parse import unquote

from flask import Response, g, redirect, render_template, request, url_for

from console import sessions
from console.blueprint import bp
from console.context import the_console
from console.lockout import LIMIT, WINDOW
from console.operators import NAME, password_matches

log = logging.getLogger("bot.console")
MAX_PASSWORD = 1024  # characters: scrypt of a megabyte is work an attacker should not get


def _next_page(raw: str | None) -> str:
    """Where to go after signing in: a console page named in `next`, else the list. Never
    another site: only paths under /console/."""
    target = unquote(raw or "")
    inside = target == "/console" or target.startswith("/console/")
    if inside and not target.startswith("/console//") and "\\" not in target:
        return target
    return url_for("console.conversations")


def _form(problem: str = "", name: str = "", status: int = 200) -> tuple[str, int]:
    page = render_template(
        "login.html",
        problem=problem,
        name=name,
        csrf=sessions.csrf_token(),
        next=request.args.get("next", ""),
    )
    return page, status


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | tuple[str, int]:
    if request.method == "GET":
        if g.operator is not None:
            return redirect(_next_page(request.args.get("next")))
        return _form()
    console = the_console()
    name = request.form.get("name", "").strip()
    password = request.form.get("password", "")
    wrong = "Wrong name or password."
    if not NAME.fullmatch(name) or not password or len(password) > MAX_PASSWORD:
        return _form(wrong, name[:64], 401)  # nobody's name: nothing to count
    now = console.now()
    minutes = console.lockout.locked_minutes(name, now)
    if minutes:
        return _form(_locked(minutes), name, 429)
    if not password_matches(console.operators, name, password):
        console.lockout.failed(name, now)
        log.warning("console sign-in refused for %r: wrong password", name)
        minutes = console.lockout.locked_minutes(name, now)
        return _form(_locked(minutes) if minutes else wrong, name, 429 if minutes else 401)
    console.lockout.signed_in(name)
    sessions.sign_in(name, console.operators[name], now)
    log.info("console: %s signed in", name)
    return redirect(_next_page(request.args.get("next")), 303)


def _locked(minutes: int) -> str:
    unit = "minute" if minutes == 1 else "minutes"
    return (
        f"Locked after {LIMIT} failed sign-ins within {WINDOW / 60:.0f} minutes: "
        f"try again in {minutes} {unit}."
    )


@bp.post("/logout")
def logout() -> Response:
    if g.operator is not None:
        log.info("console: %s signed out", g.operator)
    sessions.sign_out()
    return redirect(url_for("console.login"), 303)
