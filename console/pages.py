"""The console's pages: the conversations (who waits for a person first), a user's history
with its reply box and "return to bot", and the overview. Templates autoescape everything;
a user's words are text on every page."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import Response, abort, flash, g, jsonify, redirect, render_template, request, url_for

from console import charts, figures, people, sessions
from console.blueprint import bp
from console.context import the_console
from console.listing import LIST_LIMIT, rows
from console.refs import label, ref_for, sender_for
from memory import Delivery, Exchange, StoreUnavailable

CHANNELS = {"whatsapp": "WhatsApp", "web": "Web chat"}


@bp.context_processor
def _helpers() -> dict[str, Any]:
    console = the_console()

    def when(seconds: float) -> str:
        """A time as an operator reads it: 14:05 today, 3 Dec 14:05 before."""
        moment = datetime.fromtimestamp(seconds, console.zone)
        today = datetime.fromtimestamp(console.now(), console.zone).date()
        return moment.strftime("%H:%M" if moment.date() == today else "%d %b %H:%M")

    return {
        "when": when,
        "operator": g.get("operator"),
        "csrf": sessions.csrf_token,
        "nonce": g.get("csp_nonce", ""),
        "channel_name": lambda channel: CHANNELS.get(channel, channel),
        "delivery_text": delivery_text,
        "zone": console.zone.key,
    }


def delivery_text(delivery: Delivery) -> str:
    """A delivery status as the page shows it: "delivered", "failed (error 63016)"."""
    code = f" (error {delivery.error_code})" if delivery.error_code else ""
    return f"{delivery.status}{code}"


def _sender(ref: str) -> str:
    sender = sender_for(ref)
    if sender is None:
        abort(404)
    return sender


@bp.get("")
@bp.get("/")
def conversations() -> str | tuple[str, int]:
    console = the_console()
    try:
        listed = rows(console)
    except StoreUnavailable:
        return render_template("list.html", rows=[], down=True), 503
    waiting = sum(r["with_person"] for r in listed)
    return render_template("list.html", rows=listed, waiting=waiting, down=False)


@bp.get("/conversations.json")
def conversations_json() -> Response | tuple[Response, int]:
    try:
        return jsonify(rows=rows(the_console()))
    except StoreUnavailable:
        return jsonify(error="the conversation store is not answering"), 503


@dataclass
class Item:
    """One entry of a history: a user's message with the bot's replies, an operator's
    message, or a return to the bot."""

    kind: str  # "user", "operator" or "returned"
    exchange: Exchange
    replies: list[str]
    deliveries: list[Delivery] = field(default_factory=list)

    @property
    def by(self) -> str:
        return self.exchange.text if self.kind != "user" else ""


def items(history: list[Exchange], deliveries: list[Delivery]) -> list[Item]:
    """The history as the page shows it, each message the bot or an operator sent through
    Twilio with its delivery status: an operator's by its sid, the bot's by `about`."""
    by_sid = {d.sid: d for d in deliveries}
    by_about: dict[str, list[Delivery]] = {}
    for delivery in deliveries:
        if delivery.about:
            by_about.setdefault(delivery.about, []).append(delivery)
    shown = []
    for exchange in history:
        kind = "user"
        if exchange.channel == people.OPERATOR:
            kind = "operator" if exchange.intent == people.OPERATOR else "returned"
        found = by_about.get(exchange.message_id, [])
        own = by_sid.get(exchange.message_id)
        if own is not None and own not in found:
            found = [own, *found]
        replies = [reply.text for reply in exchange.replies]
        shown.append(Item(kind, exchange, replies, found))
    return shown


@bp.get("/c/<ref>")
def history(ref: str) -> str | tuple[str, int]:
    return _history_page(_sender(ref))


def _history_page(sender: str, draft: str = "", problem: str = "") -> tuple[str, int]:
    """The history page; after a reply that did not go, with its words and why not."""
    console = the_console()
    ref = ref_for(sender)
    try:
        state = people.read_state(console.store, sender)
        kept = console.store.history(sender)
        deliveries = console.store.deliveries(sender)
    except StoreUnavailable:
        return render_template("history.html", down=True, label=label(sender), ref=ref), 503
    last = people.last_user_message(kept)
    page = render_template(
        "history.html",
        down=False,
        ref=ref,
        sender=sender,
        label=label(sender),
        channel=people.channel_of(sender),
        state=state,
        items=items(kept, deliveries),
        cannot=people.why_not(console, sender, state, kept),
        window_ends=last + people.WINDOW if last is not None else None,
        max_text=people.MAX_TEXT,
        draft=draft,
        problem=problem,
    )
    return page, 422 if problem else 200


@bp.post("/c/<ref>/reply")
def reply(ref: str) -> Response | tuple[str, int]:
    sender = _sender(ref)
    text = request.form.get("text", "")
    done = people.reply(the_console(), g.operator, sender, text)
    if not done.ok:  # the page again, the words still in the box
        return _history_page(sender, draft=text, problem=done.note)
    flash(done.note, "done")
    return redirect(url_for("console.history", ref=ref), 303)


@bp.post("/c/<ref>/return")
def return_to_bot(ref: str) -> Response:
    sender = _sender(ref)
    done = people.return_to_bot(the_console(), sender, operator=g.operator)
    flash(done.note, "done" if done.ok else "problem")
    return redirect(url_for("console.history", ref=ref), 303)


@bp.get("/overview")
def overview() -> str | tuple[str, int]:
    console = the_console()
    now = console.now()
    started = time.perf_counter()
    try:
        counted = figures.figures(console.store.exchanges(), now, console.zone)
        outcomes = console.store.delivery_counts(now - figures.DAYS * 86400)
        waiting = sum(c.with_person for c in console.store.conversations(LIST_LIMIT))
    except StoreUnavailable:
        return render_template("overview.html", down=True), 503
    nonce = g.csp_nonce
    delivered = sorted(outcomes.items(), key=lambda item: -item[1])
    drawn = {
        "per_hour": charts.bars(
            "Messages per hour, last 24 hours", counted.per_hour, nonce, label_every=3
        ),
        "per_day": charts.bars(
            "Messages per day, last 14 days", counted.per_day, nonce, label_every=2
        ),
        "intents": charts.ranked("Intents (top 10)", counted.intents, nonce),
        "handoffs": charts.bars(
            "Handoffs per day, last 14 days", counted.handoffs_per_day, nonce, label_every=2
        ),
        "deliveries": charts.shares("Delivery outcomes, last 14 days", delivered, nonce),
    }
    return render_template(
        "overview.html",
        down=False,
        figures=counted,
        charts=drawn,
        outcomes=delivered,
        latency=figures.latency(),
        waiting=waiting,
        seconds=time.perf_counter() - started,
    )
