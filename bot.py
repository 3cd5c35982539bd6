"""The WhatsApp bot's Flask application: `create_app()` is what gunicorn and `flask` run.

Settings come from the embedded defaults, then `.env` and the environment (the environment
wins), or from `test_config` alone in tests. Nothing is read at import time.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from dotenv import find_dotenv, load_dotenv
from flask import Flask, Response, current_app, jsonify
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

import config
import logs
import metrics
import skills
from channels import signature, terminal, whatsapp
from channels.answering import Answering, answering
from channels.hub import Hub, LocalHub
from channels.webchat import WebChat
from engine import Engine
from memory import Store, StoreError, StoreUnavailable, open_store, shown_url
from memory import commands as memory_commands
from pipeline import Pipeline
from rules import load_rules
from skills.services import Services

MAX_BODY_BYTES = 64 * 1024
__version__ = "0.1.0"


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: settings, logging, rules, engine, channels and CLI commands."""
    if test_config is None:
        load_dotenv(find_dotenv(usecwd=True), override=False)
        settings = config.settings_from(os.environ)
    else:
        settings = config.settings_from({}, test_config)

    app = Flask(__name__, instance_relative_config=True)
    app.config.update(settings, MAX_CONTENT_LENGTH=MAX_BODY_BYTES)
    secrets = [
        settings["TWILIO_AUTH_TOKEN"],
        settings["BOT_LOG_SALT"],
        settings["BOT_METRICS_TOKEN"],
    ]
    log = logs.configure(settings["BOT_LOG_LEVEL"], settings["BOT_LOG_SALT"], secrets)

    actions = skills.shipped()
    rules = load_rules(settings["BOT_RULES"], actions)
    zone = ZoneInfo(settings["BOT_TIMEZONE"])
    services = None if settings["BOT_OFFLINE"] else Services.from_settings(settings)
    engine = Engine(rules, clock=lambda: datetime.now(zone), actions=actions, services=services)
    store = _open_store(app)
    pipeline = Pipeline(engine, store, rate_limit=settings["BOT_RATE_LIMIT"])
    Answering.from_settings(pipeline, settings).init_app(app)
    memory_commands.init_app(app, store)
    sockets = threading.BoundedSemaphore(max(1, settings["BOT_CHAT_MAX_SOCKETS"]))
    WebChat(_hub(settings["BOT_STORE_URL"]), sockets).init_app(app)
    log.info("loaded %d intents from %s", len(rules.intents), settings["BOT_RULES"])

    proxies = settings["BOT_TRUSTED_PROXIES"]
    if proxies:
        app.wsgi_app = ProxyFix(
            app.wsgi_app,
            x_for=proxies,
            x_proto=proxies,
            x_host=proxies,
            x_port=proxies,
            x_prefix=proxies,
        )
    _warn_about_signatures(app)

    app.register_blueprint(whatsapp.bp)
    app.cli.add_command(terminal.chat_command)
    app.cli.add_command(signature.sign_command)
    app.add_url_rule("/health", "health", health)
    app.add_url_rule("/metrics", "metrics", metrics.metrics_view)
    app.register_error_handler(HTTPException, _plain_error)
    return app


def _hub(store_url: str) -> Hub:
    """Redis pub/sub beside a Redis store (several hosts), else this process alone. redis-py
    is imported only when it is used: it costs 6 MB and 0.1 s per worker."""
    if not store_url.lower().startswith(("redis://", "rediss://")):
        return LocalHub()
    from channels.redis_hub import RedisHub

    return RedisHub(store_url)


def _open_store(app: Flask) -> Store:
    """The store `BOT_STORE_URL` names. A URL that cannot work stops start-up; a server that
    is down only makes /health answer 503 (and users get the degraded reply) until it is up.
    """
    url = app.config["BOT_STORE_URL"]
    try:
        store = open_store(url, Path(app.root_path), app.config["BOT_RETENTION_DAYS"])
    except StoreError as error:
        raise config.ConfigError(f"BOT_STORE_URL={shown_url(url)!r}: {error}") from None
    try:
        store.check()
    except StoreUnavailable as error:
        app.logger.error("the store is not answering; /health says 503 until it does: %s", error)
    if store.url == "memory://":
        app.logger.warning(
            "BOT_STORE_URL=memory://: conversations live in this process only, are lost on "
            "restart and are not shared between workers. Use it for tests only."
        )
    app.logger.info("conversations are kept in %s", store.url)
    return store


def health() -> tuple[Response, int]:
    """200 when the bot can answer with its memory, 503 (with the reason) when it cannot."""
    pipeline = answering().pipeline
    store: dict[str, object] = {"url": pipeline.store.url, "ok": True}
    try:
        pipeline.store.check()
    except StoreUnavailable as error:
        store.update(ok=False, error=str(error))
    body = jsonify(
        status="ok" if store["ok"] else "unavailable",
        version=__version__,
        intents=len(pipeline.engine.rules.intents),
        signature_validation=bool(current_app.config["TWILIO_VALIDATE"]),
        store=store,
    )
    return body, 200 if store["ok"] else 503


def _plain_error(error: HTTPException) -> Response:
    """Short plain-text errors (403, 404, 405, 413), keeping headers such as `Allow`."""
    response = error.get_response()
    response.set_data(f"{error.code} {error.name}\n")
    response.mimetype = "text/plain"
    return response


def _warn_about_signatures(app: Flask) -> None:
    if not app.config["TWILIO_VALIDATE"]:
        app.logger.warning(
            "!!! TWILIO_VALIDATE=false: /bot accepts UNSIGNED requests from anyone. "
            "Use this only for local testing, never on a public URL. !!!"
        )
    elif not app.config["TWILIO_AUTH_TOKEN"]:
        app.logger.error(
            "TWILIO_AUTH_TOKEN is not set: every /bot request will get 403. Copy the Auth Token "
            "from the Twilio Console (Account Info) into .env as TWILIO_AUTH_TOKEN=..., or set "
            "TWILIO_VALIDATE=false for local curl testing only."
        )
