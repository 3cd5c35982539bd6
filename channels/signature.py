"""Twilio's webhook signatures: checking them on `/bot`, and making one for local tests.

Twilio signs with the account's auth token (HMAC-SHA1) or, where a Webhook Rule says so, with
a shared key and the algorithm the `X-Twilio-Webhooks-Signature-Settings` header names
(HMAC-SHA256). Either way the signature is in `X-Twilio-Signature` and covers the exact URL
Twilio called. Behind ngrok or a load balancer the app sees `http://internal-host/...`, so the
URL is rebuilt from `BOT_PUBLIC_URL` when it is set, otherwise taken from the request as
corrected by `ProxyFix` for trusted proxies.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping
from pathlib import Path

import click
from flask import Request, current_app
from flask.cli import with_appcontext
from twilio.request_validator import (
    HMAC_SHA1,
    HMAC_SHA256,
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    compare,
    get_signature_algorithm,
)

from channels.sids import is_message_sid, new_message_sid

HEADER = "X-Twilio-Signature"
ALGORITHMS = (HMAC_SHA1, HMAC_SHA256)
DEFAULT_PORT = 5000
# The Makefile's reading of .env: the leading digits of the last line that starts `PORT=`.
_ENV_PORT = re.compile(r"^PORT=([0-9]*)", re.MULTILINE)


def called_url(request: Request, public_url: str) -> str:
    """The URL Twilio called: `public_url` plus this request's path and query, when set."""
    if not public_url:
        return request.url
    query = request.query_string.decode("latin-1")
    return f"{public_url}{request.script_root}{request.path}" + (f"?{query}" if query else "")


def _key(request: Request, settings: Mapping) -> tuple[str, str] | str:
    """The (secret, algorithm) this request was signed with, or why it cannot be checked.

    Without the settings header it is the auth token and HMAC-SHA1. With it, the shared key
    and the algorithm it names; never the auth token, so adding the header gains nothing.
    """
    named = request.headers.get(SIGNATURE_SETTINGS_HEADER, "").strip()
    if not named:
        if not settings["TWILIO_AUTH_TOKEN"]:
            return "TWILIO_AUTH_TOKEN is not set, so no request can be verified"
        return settings["TWILIO_AUTH_TOKEN"], HMAC_SHA1
    if not settings["TWILIO_WEBHOOK_SHARED_KEY"]:
        return (
            f"{SIGNATURE_SETTINGS_HEADER} says a shared key signed it, "
            "but TWILIO_WEBHOOK_SHARED_KEY is not set"
        )
    algorithm = get_signature_algorithm(named).upper()
    if algorithm not in ALGORITHMS:  # the name itself is not logged: anyone can send one
        return f"{SIGNATURE_SETTINGS_HEADER} names an algorithm twilio-python does not know"
    return settings["TWILIO_WEBHOOK_SHARED_KEY"], algorithm


def refusal(request: Request, settings: Mapping) -> str | None:
    """Why this request must be refused (403), or None when it is genuinely from Twilio."""
    if not settings["TWILIO_VALIDATE"]:
        return None
    key = _key(request, settings)
    if isinstance(key, str):
        return key
    secret, algorithm = key
    signature = request.headers.get(HEADER, "")
    if not signature.strip():
        return f"no {HEADER} header"
    url = called_url(request, settings["BOT_PUBLIC_URL"])
    validator = RequestValidator(secret)
    try:
        # The URL as called first (one HMAC); `validate` then also tries it with the port
        # added or removed (two more), as Twilio's own signing is inconsistent about ports.
        valid = compare(validator.compute_signature(url, request.form, algorithm), signature)
        valid = valid or validator.validate(url, request.form, signature, algorithm)
    except (TypeError, ValueError, UnicodeError):
        valid = False
    if valid:
        return None
    return f"{HEADER} does not match {url} (behind ngrok or a proxy? set BOT_PUBLIC_URL)"


def sign(token: str, url: str, params: Mapping[str, str], algorithm: str = HMAC_SHA1) -> str:
    """The signature Twilio would send for a POST of `params` to `url`."""
    return RequestValidator(token).compute_signature(url, params, algorithm)


def run_port(environ: Mapping[str, str] | None = None, env_file: str | Path = ".env") -> int:
    """The port `make run` serves on, found as the Makefile finds it: PORT from the
    environment, else the last `PORT=` line of `.env` in the current folder, else 5000.

    Raises ValueError, naming PORT, when the environment's PORT is not a number.
    """
    environ = os.environ if environ is None else environ
    value = environ.get("PORT", "").strip()
    if value:
        if not value.isascii() or not value.isdigit():
            raise ValueError(f"PORT={value!r} in the environment is not a port number")
        return int(value)
    try:
        found = _ENV_PORT.findall(Path(env_file).read_text(encoding="utf-8"))
    except (OSError, UnicodeError):
        found = []
    return int(found[-1]) if found and found[-1] else DEFAULT_PORT


def default_webhook_url(settings: Mapping, port: int | str) -> str:
    base = settings["BOT_PUBLIC_URL"] or f"http://127.0.0.1:{port}"
    return f"{base}/bot"


def _message_sid(ctx: click.Context, param: click.Parameter, value: str | None) -> str:
    if value is None:
        return new_message_sid()
    if not is_message_sid(value):
        raise click.BadParameter("a MessageSid is SM or MM and 32 lowercase hex digits")
    return value


@click.command("sign")
@click.argument("text")
@click.option("--url", help="Webhook URL to sign for (default: BOT_PUBLIC_URL or local /bot).")
@click.option("--sender", default="whatsapp:+15550001234", show_default=True, help="The From id.")
@click.option(
    "--port", type=click.IntRange(1, 65535), help="Local port (default: as `make run` finds it)."
)
@click.option(
    "--sid",
    callback=_message_sid,
    help="MessageSid to send (default: a new one; repeat one to see a redelivery answered).",
)
@with_appcontext
def sign_command(text: str, url: str | None, sender: str, port: int | None, sid: str) -> None:
    """Print a curl command that posts TEXT to the webhook with a valid signature."""
    settings = current_app.config
    if not settings["TWILIO_AUTH_TOKEN"]:
        raise click.ClickException("TWILIO_AUTH_TOKEN is not set: put it in .env first.")
    if url is None:
        try:
            port = port or run_port()
        except ValueError as error:
            raise click.ClickException(str(error)) from None
        url = default_webhook_url(settings, port)
    params = {
        "MessageSid": sid,
        "AccountSid": settings["TWILIO_ACCOUNT_SID"] or "AC" + "0" * 32,
        "From": sender,
        "To": "whatsapp:+14155238886",
        "Body": text,
        "NumMedia": "0",
        "ProfileName": "Local Tester",
    }
    parts = [
        "curl",
        "-sS",
        "-X",
        "POST",
        url,
        "-H",
        f"{HEADER}: {sign(settings['TWILIO_AUTH_TOKEN'], url, params)}",
    ]
    for name, value in params.items():
        parts += ["--data-urlencode", f"{name}={value}"]
    click.echo(shlex.join(parts))
