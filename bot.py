"""The WhatsApp bot's Flask application: `create_app()` is what gunicorn and `flask` run.

Settings come from the embedded defaults, then `.env` and the environment (the environment
wins), or from `test_config` alone in tests. Nothing is read at import time.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from dotenv import find_dotenv, load_dotenv
from flask import Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

import config
import console
import devtoken
import logs
import metrics
import skills
import startup
from channels import signature, status, terminal, whatsapp
from channels.answering import Answering, answering
from channels.hub import Hub, LocalHub
from channels.webchat import WebChat
from documents.cli import knowledge_command
from documents.knowledge import KnowledgeBase
from engine import Engine
from memory import Store, StoreError, StoreUnavailable, open_store, shown_url
from memory import commands as memory_commands
from pipeline import Pipeline
from rules import load_rules
from skills.services import Services

MAX_BODY_BYTES = 64 * 1024
__version__ = "0.1.0"
WARNINGS = "bot.warnings"  # app.extensions: what /health says needs fixing, set at start-up


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: settings, logging, rules, engine, channels and CLI commands.

    A bad setting, rule file or store URL raises (`startup.ERRORS`); run by `flask` or
    gunicorn (no `test_config`), the process then ends by printing just the problems.
    """
    try:
        return _build(test_config)
    except startup.ERRORS as error:
        if test_config is None:
            startup.report_at_exit(error)
        raise


def _build(test_config: Mapping[str, Any] | None) -> Flask:
    if test_config is None:
        load_dotenv(find_dotenv(usecwd=True), override=False)
        settings = config.settings_from(os.environ)
    else:
        settings = config.settings_from({}, test_config)

    app = Flask(__name__, instance_relative_config=True)
    instance = Path(app.instance_path)
    signing = devtoken.signing_token(settings, instance)
    development = signing != settings["TWILIO_AUTH_TOKEN"]
    # The web chat signs its user ids with SECRET_KEY; a run without one keeps a key in the
    # instance folder, so a restart does not cost every browser its id and its memory.
    secret_key = settings["SECRET_KEY"] or devtoken.kept_secret(
        instance, devtoken.KEY_FILE, "SECRET_KEY"
    )
    # Senders in logs are hashed with a secret key, the development token if nothing else.
    settings["BOT_LOG_SALT"] = settings["BOT_LOG_SALT"] or signing
    # Signatures are checked (and `sign` signs) with `signing`; `settings` keeps the token as
    # configured, for Twilio's API, which would refuse the development one.
    app.config.update(
        settings,
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        TWILIO_AUTH_TOKEN=signing,
        SECRET_KEY=secret_key,
    )
    secrets = [
        signing,
        settings["BOT_LOG_SALT"],
        settings["BOT_METRICS_TOKEN"],
        settings["TWILIO_WEBHOOK_SHARED_KEY"],
        secret_key,
    ]
    log = logs.configure(settings["BOT_LOG_LEVEL"], settings["BOT_LOG_SALT"], secrets)
    if not settings["SECRET_KEY"]:
        log.warning(
            "SECRET_KEY is not set: the web chat signs its user ids with a key kept in %s. "
            "Set SECRET_KEY in production, the same on every host.",
            instance / devtoken.KEY_FILE,
        )

    actions = skills.shipped()
    rules = load_rules(settings["BOT_RULES"], actions)
    zone = ZoneInfo(settings["BOT_TIMEZONE"])
    services = None if settings["BOT_OFFLINE"] else Services.from_settings(settings)
    knowledge = _knowledge(app, log)
    engine = Engine(
        rules,
        clock=lambda: datetime.now(zone),
        actions=actions,
        services=services,
        knowledge=knowledge,
        # A conversation can be handed to a person only where the console has operators.
        people=bool(settings["BOT_OPERATORS"].strip()),
        handoff_idle=60.0 * settings["BOT_HANDOFF_IDLE_MINUTES"],
    )
    store = _open_store(app)
    pipeline = Pipeline(engine, store, rate_limit=settings["BOT_RATE_LIMIT"])
    Answering.from_settings(pipeline, settings).init_app(app)
    memory_commands.init_app(app, store)
    sockets = threading.BoundedSemaphore(max(1, settings["BOT_CHAT_MAX_SOCKETS"]))
    hub = _hub(settings["BOT_STORE_URL"])
    WebChat(hub, sockets).init_app(app)
    console.init_app(app, hub)
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
    app.extensions[WARNINGS] = _warn_about_signatures(app, development)

    app.register_blueprint(whatsapp.bp)
    app.register_blueprint(status.bp)
    app.cli.add_command(terminal.chat_command)
    app.cli.add_command(knowledge_command)
    app.cli.add_command(signature.sign_command)
    app.add_url_rule("/health", "health", health)
    metrics.init_app(app)
    app.register_error_handler(HTTPException, _plain_error)
    return app


def _knowledge(app: Flask, log: logging.Logger) -> KnowledgeBase | None:
    """The knowledge base in BOT_KNOWLEDGE (relative to the project folder), read now; None
    when the setting is empty. A folder that is not there stops start-up; a file in it that
    cannot be read is logged and left out."""
    setting = app.config["BOT_KNOWLEDGE"]
    if not setting:
        return None
    folder = Path(app.root_path, setting)
    if not folder.is_dir():
        raise config.ConfigError(
            f"BOT_KNOWLEDGE={setting!r}: {folder} is not a folder (set it to a folder of "
            "Markdown, text and PDF files, or leave it empty for no knowledge base)"
        )
    app.config["BOT_KNOWLEDGE"] = str(folder)  # for `flask --app bot knowledge index`
    base = KnowledgeBase.load(folder, app.config["BOT_DOCUMENT_MAX_PAGES"])
    for problem in base.problems:
        log.warning("knowledge base: %s", problem)
    log.info(
        "knowledge base: %d files, %d passages from %s in %.2f s",
        len(base.documents),
        len(base.passages),
        folder,
        base.seconds,
    )
    return base


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
    """200 when the bot can answer with its memory, 503 when it cannot ("degraded" either way
    when something needs fixing, with a sentence for each in `warnings`). Paths, hosts and
    error texts only for the bearer of BOT_METRICS_TOKEN."""
    pipeline = answering().pipeline
    store: dict[str, object] = {"url": pipeline.store.url, "ok": True}
    try:
        pipeline.store.check()
    except StoreUnavailable as error:
        store.update(ok=False, error=str(error))
    warnings = list(current_app.extensions[WARNINGS])
    if not store["ok"]:
        warnings.insert(0, "the conversation store is not answering: users get an apology")
    body: dict[str, object] = {
        "status": "degraded" if warnings else "ok",
        "version": __version__,
        "warnings": warnings,
    }
    if metrics.bearer_matches(request, current_app.config["BOT_METRICS_TOKEN"]):
        body.update(
            intents=len(pipeline.engine.rules.intents),
            signature_validation=bool(current_app.config["TWILIO_VALIDATE"]),
            store=store,
        )
    return jsonify(body), 200 if store["ok"] else 503


def _plain_error(error: HTTPException) -> Response:
    """Short plain-text errors (403, 404, 405, 413), keeping headers such as `Allow`."""
    response = error.get_response()
    response.set_data(f"{error.code} {error.name}\n")
    response.mimetype = "text/plain"
    return response


def _warn_about_signatures(app: Flask, development: bool) -> tuple[str, ...]:
    """Say at start-up what the signature settings let through; what /health should say."""
    if not app.config["TWILIO_VALIDATE"]:
        app.logger.warning(
            "!!! TWILIO_VALIDATE=false: /bot accepts UNSIGNED requests from anyone. "
            "Use this only for local testing, never on a public URL. !!!"
        )
    elif development:
        app.logger.warning(
            "TWILIO_AUTH_TOKEN is not set: /bot checks signatures with the development token "
            "in %s, for local tests (`flask --app bot sign`). Twilio's own requests are "
            "REFUSED (403) until you copy the Auth Token from the Twilio Console (Account "
            "Info) into .env as TWILIO_AUTH_TOKEN=...",
            Path(app.instance_path) / devtoken.FILE_NAME,
        )
        return (
            "TWILIO_AUTH_TOKEN is not set: only requests signed with the development token "
            "are answered, Twilio's own are refused",
        )
    return ()
