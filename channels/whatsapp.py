"""The WhatsApp channel: Twilio's webhook form in, TwiML out, on POST `/bot`.

A signed form must also carry Twilio's identifiers in the shape Twilio sends them (400
otherwise), for the configured account (403 otherwise). Whatever goes wrong after those
checks, Twilio gets status 200 and valid TwiML and the user gets a friendly sentence: the
pipeline turns a failing engine or store into one, and logs the traceback with the sender
redacted.

An answer that misses the reply budget follows through Twilio's API; meanwhile the user
sees WhatsApp's typing indicator (BOT_TYPING_INDICATOR), or, when Twilio will not show it,
reads "One moment…".
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections.abc import Mapping

from flask import Blueprint, Response, abort, current_app, request
from werkzeug.datastructures import MultiDict
from werkzeug.wsgi import LimitedStream

import metrics
from channels import twiml
from channels.answering import answering
from channels.followups import FollowUps
from channels.sids import ACCOUNT_SID, ADDRESS, MESSAGE_SID, PHONE_ADDRESS, SERVICE_SID, WA_ID
from channels.signature import refusal
from conversation import Button, Location, Media, Message, Reply
from pipeline import Handled

log = logging.getLogger("bot.whatsapp")
bp = Blueprint("whatsapp", __name__)

# WhatsApp carries one media item a message; Twilio documents up to 10 for MMS.
MAX_MEDIA = 10
TWIML_MIMETYPE = "text/xml"
# Seconds a late answer waits at most for the typing indicator call to end (it ends within
# its own timeout; this only guards against a webhook thread that never said so).
TYPING_WAIT = 15.0

# The identifiers Twilio sends, each in the one shape it has. A signed form whose value strays
# from it was rearranged after signing: the signature joins the sorted names and values with
# no separator, so `MessageSid=SM…&NumMedia=0` and `MessageSid=SM…NumMedia0` sign alike, and
# the second would pass for a new message (replies are remembered by MessageSid).
_SID = "SM or MM and 32 lowercase hex digits"
IDENTIFIERS = {
    "MessageSid": (MESSAGE_SID, _SID),
    "SmsMessageSid": (MESSAGE_SID, _SID),  # deprecated copies of MessageSid
    "SmsSid": (MESSAGE_SID, _SID),
    "AccountSid": (ACCOUNT_SID, "AC and 32 lowercase hex digits"),
    "MessagingServiceSid": (SERVICE_SID, "MG and 32 lowercase hex digits"),
    "WaId": (WA_ID, "at most 15 digits"),
    # Replies are remembered per sender, so `From` is as much a key as MessageSid: folded
    # into `Body` (which sorts just before it), it would make a new sender of a replay.
    "From": (ADDRESS, "whatsapp:+ and at most 15 digits, or whatsapp: and a user id"),
    "To": (ADDRESS, "whatsapp:+ and at most 15 digits, or whatsapp: and a user id"),
}
REQUIRED = ("MessageSid", "From", "To")  # Twilio always sends them


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
        message_id=get("MessageSid", ""),
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


def malformed(
    form: MultiDict[str, str],
    required: tuple[str, ...] = REQUIRED,
    shapes: Mapping[str, tuple[re.Pattern[str], str]] = IDENTIFIERS,
) -> str | None:
    """What is wrong with the identifiers in `form`, or None. The answer names the parameter,
    never its value (a shifted value can hold a phone number)."""
    for name in required:
        if name not in form:
            return f"no {name}"
    for name, (shape, described) in shapes.items():
        values = form.getlist(name)
        if len(values) > 1:
            return f"{name} sent {len(values)} times"
        if values and shape.fullmatch(values[0]) is None:
            return f"{name} is not {described}"
    sid = form["MessageSid"]
    for copy in ("SmsMessageSid", "SmsSid"):
        if form.get(copy, sid) != sid:
            return f"{copy} is not the MessageSid"
    phone = PHONE_ADDRESS.fullmatch(form.get("From", ""))
    if phone and form.get("WaId") and form["WaId"] != phone[1]:
        return "WaId is not the number in From"
    return None


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


def _refused(status: int, why: str, answer: str) -> Response:
    log.warning("refused a %s request: %s", request.path, why)
    return Response(f"{answer}\n", status, mimetype="text/plain")


def refused_form(
    required: tuple[str, ...] = REQUIRED,
    shapes: Mapping[str, tuple[re.Pattern[str], str]] = IDENTIFIERS,
) -> Response | None:
    """The answer to a request that is not a form Twilio signed for this bot's account, with
    the `required` parameters and the identifiers in their `shapes` (413, 403, 400, 403);
    None for one to act on. `/bot` and `/status` both check their forms with it."""
    # Read the form first: a body over MAX_CONTENT_LENGTH stops here with 413, signed or not.
    form = request.form
    if _streamed_past_limit():
        abort(413)
    settings = current_app.config
    reason = refusal(request, settings)
    if reason is not None:
        return _refused(403, reason, "Forbidden: this request is not signed by Twilio.")
    # After the signature: an unsigned request learns nothing about what a valid form holds.
    problem = malformed(form, required, shapes)
    if problem is not None:
        return _refused(400, problem, f"Bad Request: {problem}.")
    # 403, not 400: the form is well made, just not for the account this bot serves (signed
    # with another account's key, or TWILIO_ACCOUNT_SID names the wrong account).
    account = settings["TWILIO_ACCOUNT_SID"]
    if account and form.get("AccountSid") != account:
        why = "its AccountSid is not TWILIO_ACCOUNT_SID"
        return _refused(403, why, "Forbidden: this request is for another Twilio account.")
    return None


@bp.post("/bot")
def webhook() -> Response:
    rid = metrics.request_id(request)
    response = refused_form()
    if response is None:
        response = _answer(parse_form(request.form), rid)
    response.headers["X-Request-Id"] = rid
    return response


def _answer(message: Message, rid: str) -> Response:
    seam = answering()
    followups = seam.followups
    # A late answer can follow through Twilio's API when the bot has credentials and
    # knows which number the user wrote to.
    if followups is None or not message.recipient:
        return _twiml(list(seam.answer(message, rid).replies))
    typing_over = threading.Event()

    def later(answered: Message, late: Handled) -> None:
        # Sent once the typing indicator call is over: sent before it ends, the answer
        # would be followed by "typing…" for nothing.
        typing_over.wait(TYPING_WAIT)
        followups.deliver(answered, late)

    try:
        handled = seam.answer(message, rid, later)
        if handled.outcome == "deferred" and _typing_shown(followups, message):
            return _twiml([])  # "typing…" until the answer comes, instead of "One moment"
    finally:
        typing_over.set()
    return _twiml(list(handled.replies))


def _typing_shown(followups: FollowUps, message: Message) -> bool:
    """Whether WhatsApp now shows "typing…" for `message` (BOT_TYPING_INDICATOR on, and a
    WhatsApp user's message, and Twilio took it)."""
    if not current_app.config["BOT_TYPING_INDICATOR"]:
        return False
    if not message.sender.startswith("whatsapp:"):
        return False  # SMS has no typing indicator
    return followups.show_typing(message.message_id)
