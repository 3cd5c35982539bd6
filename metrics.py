"""Prometheus metrics: messages by channel and outcome, intents, latency, follow-ups.

Under gunicorn the workers share numbers through prometheus-client's multiprocess mode:
gunicorn.conf.py points PROMETHEUS_MULTIPROC_DIR at a fresh folder before the workers
start, and GET /metrics adds up every worker's files. Elsewhere (tests, `flask run`) the
process's own registry is used.
"""

from __future__ import annotations

import hmac
import os
import re
import uuid

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


def observe(channel: str, outcome: str, intent: str | None, seconds: float) -> None:
    """Count one answered message: its channel and outcome, how long it took, and the
    intent it matched ("fallback" when none; None when the engine did not run)."""
    MESSAGES.labels(channel, outcome).inc()
    LATENCY.labels(channel).observe(seconds)
    if intent is not None:
        INTENTS.labels(intent).inc()


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
