"""The console's blueprint, under /console, and the checks every console request passes
before its view runs:

1. the Host is one of ours (DNS rebinding); the WebSocket comes from one of our pages (its
   Origin), as the web chat's must; a POST that names an Origin names one of ours;
2. an operator is signed in, except on the sign-in page and the static files: a page (or
   a form) without one redirects to the sign-in page, the WebSocket and JSON get 401;
3. every POST carries the session's CSRF token (`csrf` in the form): 403 otherwise.

Every answer says: no caching (pages show phone numbers), no framing, no Referer to other
sites, and a
Content-Security-Policy that runs only the console's own script.
"""

from __future__ import annotations

import logging
import secrets
from urllib.parse import quote

from flask import Blueprint, Response, abort, current_app, g, redirect, request, url_for
from flask_sock import Sock

from channels import webchat_hosts
from console import sessions
from console.context import EXTENSION, the_console

log = logging.getLogger("bot.console")
bp = Blueprint(
    "console",
    __name__,
    url_prefix="/console",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)
sock = Sock()
OPEN = {"console.login", "console.static"}  # what needs no operator
MACHINE = {"console.live", "console.conversations_json"}  # answered 401, not redirected


@bp.before_request
def _check_host_and_origin() -> None:
    # A form is refused for a foreign Origin; a browser that sends none still needs the
    # CSRF token. The WebSocket must name one of ours, as the web chat's must.
    origin = request.headers.get("Origin")
    changes = request.endpoint == "console.live" or (request.method == "POST" and origin)
    reason = webchat_hosts.refusal(request, current_app.config, check_origin=bool(changes))
    if reason is not None:
        log.warning("refused %s %s: %s", request.method, request.path, reason)
        abort(403)


@bp.before_request
def _require_operator() -> Response | None:
    g.csp_nonce = secrets.token_urlsafe(16)
    console = the_console()
    g.operator = sessions.operator(console.operators, console.now())
    if g.operator is not None or request.endpoint in OPEN:
        return None
    if request.endpoint in MACHINE:
        abort(401)
    if request.method != "GET":  # a form sent after the session ended: sign in again
        return redirect(url_for("console.login"), 303)
    target = request.full_path if request.query_string else request.path
    return redirect(url_for("console.login", next=quote(target, safe="/?=&")))


@bp.before_request
def _check_csrf() -> None:
    if request.method == "POST" and not sessions.csrf_matches(request.form.get("csrf")):
        log.warning("refused %s %s: no valid CSRF token", request.method, request.path)
        abort(403)


@bp.after_request
def _protect(response: Response) -> Response:
    nonce = g.get("csp_nonce", "")
    styles = f"'self' 'nonce-{nonce}'" if nonce else "'self'"  # the charts' inline styles
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; script-src 'self'; style-src {styles}; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Not no-referrer: a browser then sends "Origin: null" with our own forms.
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"
    if request.endpoint != "console.static":
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.before_app_request
def _start_sweeping() -> None:
    """The idle sweep runs in every process that serves requests (see `console.sweep`)."""
    console = current_app.extensions.get(EXTENSION)
    if console is not None:
        console.sweeper.ensure_running()
