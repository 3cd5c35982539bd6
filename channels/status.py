"""Delivery status: Twilio's StatusCallback for the messages the bot sends through the REST
API (follow-ups, operator replies), POST `/status`, signed like `/bot`.

Twilio posts each change of a message's status (queued, sent, delivered, read; failed or
undelivered with an `ErrorCode`). The form is checked as `/bot` checks its own (413, 403
for a bad signature or another account, 400 for a malformed one); each status is counted in
/metrics, recorded in the store against the message, and a failure is logged with Twilio's
error code and the recipient hashed. The answer is 204: Twilio ignores the body.

A store that is down gets 503. Twilio does not retry a status callback, so the status is
lost either way; 503 is the truth, and it puts error 11200 in Twilio's Debugger beside our
own log line, where an operator looking for a missing status will look.
"""

from __future__ import annotations

import logging
import re

from flask import Blueprint, Response, current_app, request

import metrics
from channels.answering import answering
from channels.followups import REASONS
from channels.whatsapp import IDENTIFIERS, refused_form
from logs import sender_hash
from memory import StoreUnavailable

log = logging.getLogger("bot.status")
bp = Blueprint("status", __name__)

REQUIRED = ("MessageSid", "MessageStatus")
FAILED = frozenset({"failed", "undelivered"})
_STATUS = (re.compile(r"[a-z_]{1,32}"), "a lowercase word such as delivered")
SHAPES = {
    **IDENTIFIERS,
    "MessageStatus": _STATUS,
    "SmsStatus": _STATUS,  # the deprecated copy of MessageStatus
    # Logged: a number and nothing else (Twilio's error codes have five digits).
    "ErrorCode": (re.compile(r"[0-9]{0,6}"), "a number"),
}


@bp.post("/status")
def status_callback() -> Response:
    refused = refused_form(REQUIRED, SHAPES)
    if refused is not None:
        return refused
    form = request.form
    sid, status, code = form["MessageSid"], form["MessageStatus"], form.get("ErrorCode", "")
    recipient = form.get("To", "")  # the user: the bot sent the message
    metrics.delivery(status)
    if status in FAILED:
        _log_failure(sid, status, code, recipient)
    try:
        # The recipient too, in case the message's "queued" record was never made (the
        # store was down just then): the store keeps the first it is given.
        answering().pipeline.store.record_delivery(sid, status, code, sender=recipient)
    except StoreUnavailable as error:
        log.error("status %s of message %s not recorded: %s", status, sid, error)
        return Response("Service Unavailable: the store is not answering.\n", 503)
    return Response(status=204)


def _log_failure(sid: str, status: str, code: str, recipient: str) -> None:
    """A WARNING naming Twilio's error code (and what it means, when known), with the
    recipient hashed: an operator can follow the user's lines, never read the number."""
    who = sender_hash(recipient, current_app.config["BOT_LOG_SALT"]) if recipient else "-"
    meaning = REASONS.get(int(code)) if code else None
    log.warning(
        "message %s %s: Twilio error %s%s, to %s",
        sid,
        status,
        code or "-",
        f" ({meaning})" if meaning else "",
        who,
    )
