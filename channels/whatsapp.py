"""The WhatsApp channel: Twilio's webhook form in, TwiML out, on POST `/bot`.

Whatever goes wrong after the signature check, Twilio gets status 200 and valid TwiML and the
user gets a friendly sentence: the pipeline turns a failing engine or store into one, and
logs the traceback with the sender redacted.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping

from flask import Blueprint, Response, abort, current_app, request
from werkzeug.wsgi import LimitedStream

import metrics
from channels import twiml
from channels.answering import answering
from channels.signature import refusal
from conversation import Button, Location, Media, Message, Reply

log = logging.getLogger("bot.whatsapp")
bp = Blueprint("whatsapp", __name__)

# WhatsApp carries one media item a message; Twilio documents up to 10 for MMS.
MAX_MEDIA = 10
TWIML_MIMETYPE = "text/xml"


def _flag(value: str) -> bool:
    return value.strip().lower() in {"true", "1", "yes"}


def _location(form: Mapping[str, str]) -> Location | None:
    try:
        latitude = float(form.get("Latitude", ""))
        longitude = float(form.get("Longitude", ""))
    except ValueError:
        return None
    if not (math.isfinite(latitude) and math.isfinite(longitude)):
        return None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    return Location(latitude, longitude, form.get("Address", ""), form.get("Label", ""))


def _media(form: Mapping[str, str]) -> tuple[Media, ...]:
    try:
        count = int(form.get("NumMedia", "0"))
    except ValueError:
        count = 0
    items = (
        Media(form.get(f"MediaUrl{i}", "").strip(), form.get(f"MediaContentType{i}", "").strip())
        for i in range(max(0, min(count, MAX_MEDIA)))
    )
    return tuple(m for m in items if m.url)


def parse_form(form: Mapping[str, str]) -> Message:
    """The `Message` in a Twilio WhatsApp webhook form; unknown parameters are ignored."""
    get = form.get
    button_text, button_payload = get("ButtonText", ""), get("ButtonPayload", "")
    return Message(
        channel="whatsapp",
        sender=get("From", ""),
        body=get("Body", ""),
        message_id=get("MessageSid", "") or get("SmsMessageSid", "") or get("SmsSid", ""),
        account_id=get("AccountSid", ""),
        recipient=get("To", ""),
        profile_name=get("ProfileName", ""),
        wa_id=get("WaId", ""),
        media=_media(form),
        location=_location(form),
        button=Button(button_text, button_payload) if button_text or button_payload else None,
        replied_to=get("OriginalRepliedMessageSid", ""),
        forwarded=_flag(get("Forwarded", "")),
        frequently_forwarded=_flag(get("FrequentlyForwarded", "")),
    )


def _streamed_past_limit() -> bool:
    """Whether a chunked body went on past MAX_CONTENT_LENGTH.

    Werkzeug enforces the limit on a declared Content-Length, but stops reading a chunked
    body at the limit without a word, so look for one more byte behind it.
    """
    stream = request.stream
    return (
        request.content_length is None
        and isinstance(stream, LimitedStream)
        and stream.is_exhausted
        and bool(request.environ["wsgi.input"].read(1))
    )


def _twiml(replies: list[Reply]) -> Response:
    return Response(twiml.render(replies), status=200, mimetype=TWIML_MIMETYPE)


@bp.post("/bot")
def webhook() -> Response:
    rid = metrics.request_id(request)
    response = _answer(rid)
    response.headers["X-Request-Id"] = rid
    return response


def _answer(rid: str) -> Response:
    # Read the form first: a body over MAX_CONTENT_LENGTH stops here with 413, signed or not.
    form = request.form
    if _streamed_past_limit():
        abort(413)
    reason = refusal(request, current_app.config)
    if reason is not None:
        log.warning("refused a /bot request: %s", reason)
        return Response(
            "Forbidden: this request is not signed by Twilio.\n", 403, mimetype="text/plain"
        )
    message = parse_form(form)
    seam = answering()
    # A late answer can follow through Twilio's API when the bot has credentials and
    # knows which number the user wrote to.
    later = seam.followups.deliver if seam.followups is not None and message.recipient else None
    handled = seam.answer(message, rid, later)
    return _twiml(list(handled.replies))
