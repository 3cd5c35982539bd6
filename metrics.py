"""Prometheus metrics, and one structured log line per message.

Under gunicorn the workers share numbers through prometheus-client's multiprocess mode:
gunicorn.conf.py points PROMETHEUS_MULTIPROC_DIR at a fresh folder before the workers
start, and GET /metrics adds up every worker's files. Elsewhere (tests, `flask run`) the
process's own registry is used.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import re
import time
import uuid
from collections.abc import Mapping

from flask import Request, Response, abort, current_app, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

from conversation import Message
from logs import sender_hash
from pipeline import Handled

log = logging.getLogger("bot.messages")

MESSAGES = Counter(
    "bot_messages", "Messages handled, by channel and outcome", ["channel", "outcome"]
)
INTENTS = Counter("bot_intents", "Messages by the intent they matched", ["intent"])
LATENCY = Histogram(
    "bot_message_seconds",
    "Time from receiving a message to answering it",
    ["channel"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10),
)
FOLLOWUPS = Counter("bot_followups", "Follow-up messages through Twilio's API", ["result"])

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def request_id(incoming: Request) -> str:
    """The caller's X-Request-Id (or Twilio's idempotency token) if sane, else a new one."""
    for header in ("X-Request-Id", "I-Twilio-Idempotency-Token"):
        value = incoming.headers.get(header, "")
        if _REQUEST_ID.match(value):
            return value
    return uuid.uuid4().hex[:16]


def record(
    message: Message,
    handled: Handled,
    started: float,
    request_id: str,
    config: Mapping,
) -> None:
    """Count the message and log its one line: ids, a hash of the sender, what was
    understood, how long it took and how it ended. The body only with BOT_LOG_BODIES."""
    seconds = time.monotonic() - started
    understanding = handled.turn.understanding if handled.turn is not None else None
    intent = understanding.intent if understanding and understanding.intent else "fallback"
    MESSAGES.labels(message.channel, handled.outcome).inc()
    LATENCY.labels(message.channel).observe(seconds)
    if understanding is not None:
        INTENTS.labels(intent).inc()
    if not log.isEnabledFor(logging.INFO):
        return
    salt = config["BOT_LOG_SALT"] or config["TWILIO_AUTH_TOKEN"]
    fields = {
        "channel": message.channel,
        "request_id": request_id,
        "message_id": message.message_id or "-",
        "sender": sender_hash(message.sender, salt),
        "intent": intent if understanding is not None else "-",
        "confidence": f"{understanding.confidence:.2f}" if understanding else "-",
        "latency_ms": f"{seconds * 1000:.1f}",
        "outcome": handled.outcome,
    }
    if config["BOT_LOG_BODIES"]:
        fields["body"] = json.dumps(message.text, ensure_ascii=False)
    log.info("message %s", " ".join(f"{k}={v}" for k, v in fields.items()))


def metrics_view() -> Response:
    """GET /metrics in Prometheus' text format; with BOT_METRICS_TOKEN, only for its bearer."""
    token = current_app.config["BOT_METRICS_TOKEN"]
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if not hmac.compare_digest(given.encode(), token.encode()):
            abort(401)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
