"""Prometheus metrics: messages by channel and outcome, intents, latency, follow-ups, the
delivery statuses Twilio reports, the typing indicator and operator replies.

Under gunicorn the workers share numbers through prometheus-client's multiprocess mode:
gunicorn.conf.py points PROMETHEUS_MULTIPROC_DIR at a fresh folder before the workers
start, and GET /metrics adds up every worker's files. Elsewhere (tests, `flask run`) the
process's own registry is used.

Who may read them: the bearer of BOT_METRICS_TOKEN when one is set (then everyone else gets
401); without a token, a client on this machine talking to the app directly (then others
get 403, with a sentence naming the two settings); anyone with BOT_METRICS_PUBLIC=true.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import re
import uuid

from flask import Flask, Request, Response, current_app, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

import logs

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
DELIVERIES = Counter(
    "bot_delivery_status",
    "Status callbacks from Twilio for the messages the bot sent, by status",
    ["status"],
)
# The statuses Twilio documents for a message; anything else is counted as "other", so a
# signed but odd value cannot add a time series of its own.
DELIVERY_STATUSES = frozenset(
    {
        "accepted",
        "scheduled",
        "canceled",
        "queued",
        "sending",
        "sent",
        "delivered",
        "undelivered",
        "failed",
        "read",
    }
)
TYPING = Counter(
    "bot_typing_indicator",
    "Slow WhatsApp answers: typing indicator shown, or failed (the text was sent instead)",
    ["result"],
)
OPERATOR_SENDS = Counter(
    "bot_operator_sends",
    "Operator replies through Twilio's API: sent, refused (by Twilio) or failed",
    ["result"],
)

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# Headers a proxy adds on the way in: a request carrying one did not come straight from a
# client on this machine, whatever address it arrived from.
_FORWARDING = {"forwarded", "via", "x-real-ip", "x-client-ip"}
log = logging.getLogger("bot.metrics")


def request_id(incoming: Request) -> str:
    """The caller's X-Request-Id (or Twilio's idempotency token) if sane, else a new one.

    Sane: short, plain characters, and no room for a phone number, so that the log line can
    show the id as the response header carries it and still show no number.
    """
    for header in ("X-Request-Id", "I-Twilio-Idempotency-Token"):
        value = incoming.headers.get(header, "")
        if _REQUEST_ID.match(value) and not _may_hide_a_number(value):
            return value
    return uuid.uuid4().hex[:16]


def _may_hide_a_number(value: str) -> bool:
    """Whether an id could be, or carry, a phone number: digits and separators alone, with
    8 digits or more (`14155550123`, `1-415-555-0123`); or 8 digits or more between
    separators (`14155550123-abc`, `x_14155550123`), unless they read as a timestamp
    (`20261201123456-abc`) or sit in a UUID; or anything else the log would hide. Digits
    run together with letters (`3f9a12345678b0`, hex) are an id's own."""
    if logs.hides_something(f"request_id={value}"):
        return True
    segments = re.split(r"[._-]", logs.UUID.sub("uuid", value))
    numbers = [s for s in segments if s.isdigit()]
    if len(numbers) == len(segments) and sum(map(len, numbers)) >= 8:
        return True
    return any(logs.could_be_phone(number) for number in numbers)


def observe(channel: str, outcome: str, intent: str | None, seconds: float) -> None:
    """Count one answered message: its channel and outcome, how long it took, and the
    intent it matched ("fallback" when none; None when the engine did not run)."""
    MESSAGES.labels(channel, outcome).inc()
    LATENCY.labels(channel).observe(seconds)
    if intent is not None:
        INTENTS.labels(intent).inc()


def delivery(status: str) -> None:
    """Count one status callback (an unknown status as "other")."""
    DELIVERIES.labels(status if status in DELIVERY_STATUSES else "other").inc()


def init_app(app: Flask) -> None:
    """Serve GET /metrics, and say at start-up when it is open to anyone."""
    app.add_url_rule("/metrics", "metrics", metrics_view)
    if app.config["BOT_METRICS_PUBLIC"]:
        log.warning(
            "BOT_METRICS_PUBLIC=true: /metrics is open to anyone who can reach this server%s",
            ", BOT_METRICS_TOKEN or not" if app.config["BOT_METRICS_TOKEN"] else "",
        )


def bearer_matches(incoming: Request, token: str) -> bool:
    """Whether the request says `Authorization: Bearer <token>` (compared in constant time)."""
    scheme, _, given = incoming.headers.get("Authorization", "").partition(" ")
    if not token or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


def from_this_machine(incoming: Request) -> bool:
    """Whether a client on this machine sent the request straight to the app.

    The address is the one the app sees, after ProxyFix for BOT_TRUSTED_PROXIES. A request
    with a forwarding header is never local: a proxy on this machine makes every client
    look like loopback, and a client reaching the port directly could write
    `X-Forwarded-For: 127.0.0.1` for ProxyFix to believe.
    """
    if any(
        name.lower() in _FORWARDING or name.lower().startswith("x-forwarded-")
        for name, _ in incoming.headers.items()
    ):
        return False
    try:
        address = ipaddress.ip_address(incoming.remote_addr or "")
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def _refusal(incoming: Request) -> Response | None:
    """Why this request may not read /metrics (as the response to send), or None."""
    settings = current_app.config
    token = settings["BOT_METRICS_TOKEN"]
    if settings["BOT_METRICS_PUBLIC"]:
        return None
    if token:
        if bearer_matches(incoming, token):
            return None
        return Response(
            "Unauthorized: send Authorization: Bearer <BOT_METRICS_TOKEN>.\n",
            401,
            {"WWW-Authenticate": 'Bearer realm="metrics"'},
            mimetype="text/plain",
        )
    if from_this_machine(incoming):
        return None
    return Response(
        "Forbidden: /metrics answers only on this machine. Set BOT_METRICS_TOKEN to read it "
        "from elsewhere with Authorization: Bearer <token>, or BOT_METRICS_PUBLIC=true to "
        "open it to anyone.\n",
        403,
        mimetype="text/plain",
    )


def metrics_view() -> Response:
    """GET /metrics in Prometheus' text format, for those `_refusal` lets in."""
    refused = _refusal(request)
    if refused is not None:
        return refused
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
