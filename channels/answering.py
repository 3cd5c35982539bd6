"""The one way a channel answers a message: `answering().answer(message, ...)`.

Every channel (the WhatsApp webhook, the web chat, the terminal, and those still to come)
turns its payload into a `Message` and calls `answer`, which runs the pipeline within the
reply budget, counts the message in the metrics and writes its one log line: ids, a hash of
the sender, what was understood, how long it took and how it ended (the body only with
BOT_LOG_BODIES). The channel renders the replies in its own format.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app

import metrics
from channels.followups import FollowUps
from conversation import Message
from logs import sender_hash
from pipeline import Handled, Later, Pipeline

log = logging.getLogger("bot.messages")
EXTENSION = "bot.answering"


@dataclass
class Answering:
    """The pipeline, and what answering through it needs: the reply budget, the follow-up
    sender for late WhatsApp answers (None without Twilio credentials) and the log's salt."""

    pipeline: Pipeline
    budget: float
    followups: FollowUps | None
    log_salt: str
    log_bodies: bool = False
    # Called with each message once it is handled (the console's live list); a watcher that
    # raises is logged and the others still run.
    watchers: list[Callable[[Message, Handled], None]] = field(default_factory=list)

    @classmethod
    def from_settings(cls, pipeline: Pipeline, settings: Mapping[str, Any]) -> Answering:
        return cls(
            pipeline,
            settings["BOT_REPLY_BUDGET"],
            FollowUps.from_settings(settings, pipeline.store),
            settings["BOT_LOG_SALT"],
            settings["BOT_LOG_BODIES"],
        )

    def init_app(self, app: Flask) -> None:
        app.extensions[EXTENSION] = self

    def answer(
        self,
        message: Message,
        request_id: str = "",
        later: Later | None = None,
        patient: bool = False,
    ) -> Handled:
        """The message answered within the reply budget (a late answer goes to `later`), or,
        `patient`, however long it takes (the terminal). Never raises for a failing engine
        or store: the pipeline turns those into a friendly reply."""
        started = time.monotonic()
        handled = self.pipeline.handle(message, None if patient else self.budget, later)
        seconds = time.monotonic() - started
        understanding = handled.turn.understanding if handled.turn is not None else None
        intent = None
        if understanding is not None:
            intent = understanding.intent or "fallback"
        metrics.observe(message.channel, handled.outcome, intent, seconds)
        if log.isEnabledFor(logging.INFO):
            fields = {
                "channel": message.channel,
                "request_id": request_id or message.message_id or "-",
                "message_id": message.message_id or "-",
                "sender": sender_hash(message.sender, self.log_salt),
                "intent": intent or "-",
                "confidence": f"{understanding.confidence:.2f}" if understanding else "-",
                "latency_ms": f"{seconds * 1000:.1f}",
                "outcome": handled.outcome,
            }
            if self.log_bodies:
                fields["body"] = json.dumps(message.text, ensure_ascii=False)
            log.info("message %s", " ".join(f"{k}={v}" for k, v in fields.items()))
        for watcher in self.watchers:
            try:
                watcher(message, handled)
            except Exception:
                log.exception("a watcher failed on message %s", message.message_id)
        return handled


def answering() -> Answering:
    """The app's `Answering`, set up by `create_app`."""
    return current_app.extensions[EXTENSION]
