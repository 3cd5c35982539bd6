"""Twilio's X-Twilio-Signature: checking it on `/bot`, and making one for local tests.

The signature covers the exact URL Twilio called. Behind ngrok or a load balancer the app
sees `http://internal-host/...`, so the URL is rebuilt from `BOT_PUBLIC_URL` when it is set,
otherwise taken from the request as corrected by `ProxyFix` for trusted proxies.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping

import click
from flask import Request, current_app
from flask.cli import with_appcontext
from twilio.request_validator import RequestValidator, compare

HEADER = "X-Twilio-Signature"


def called_url(request: Request, public_url: str) -> str:
    """The URL Twilio called: `public_url` plus this request's path and query, when set."""
    if not public_url:
        return request.url
    query = request.query_string.decode("latin-1")
    return f"{public_url}{request.script_root}{request.path}" + (f"?{query}" if query else "")


def refusal(request: Request, settings: Mapping) -> str | None:
    """Why this request must be refused (403), or None when it is genuinely from Twilio."""
    if not settings["TWILIO_VALIDATE"]:
        return None
    token = settings["TWILIO_AUTH_TOKEN"]
    if not token:
        return "TWILIO_AUTH_TOKEN is not set, so no request can be verified"
    signature = request.headers.get(HEADER, "")
    if not signature.strip():
        return f"no {HEADER} header"
    url = called_url(request, settings["BOT_PUBLIC_URL"])
    validator = RequestValidator(token)
    try:
        # The URL as called first (one HMAC); `validate` then also tries it with the port
        # added or removed (two more), as Twilio's own signing is inconsistent about ports.
        valid = compare(validator.compute_signature(url, request.form), signature)
        valid = valid or validator.validate(url, request.form, signature)
    except (TypeError, ValueError, UnicodeError):
        valid = False
    if valid:
        return None
    return f"{HEADER} does not match {url} (behind ngrok or a proxy? set BOT_PUBLIC_URL)"


def sign(token: str, url: str, params: Mapping[str, str]) -> str:
    """The signature Twilio would send for a POST of `params` to `url`."""
    return RequestValidator(token).compute_signature(url, params)


def default_webhook_url(settings: Mapping, port: int | str) -> str:
    base = settings["BOT_PUBLIC_URL"] or f"http://127.0.0.1:{port}"
    return f"{base}/bot"


@click.command("sign")
@click.argument("text")
@click.option("--url", help="Webhook URL to sign for (default: BOT_PUBLIC_URL or local /bot).")
@click.option("--sender", default="whatsapp:+15550001234", show_default=True, help="The From id.")
@click.option("--port", envvar="PORT", default=5000, show_default=True, help="Local port.")
@with_appcontext
def sign_command(text: str, url: str | None, sender: str, port: int) -> None:
    """Print a curl command that posts TEXT to the webhook with a valid signature."""
    settings = current_app.config
    if not settings["TWILIO_AUTH_TOKEN"]:
        raise click.ClickException("TWILIO_AUTH_TOKEN is not set: put it in .env first.")
    url = url or default_webhook_url(settings, port)
    params = {
        "MessageSid": "SM" + "0" * 32,
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
