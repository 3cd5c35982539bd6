"""Messages the bot sends through Twilio's REST API rather than in a webhook's answer: late
answers (`deliver`), operator replies (`send`), and WhatsApp's typing indicator while a slow
answer is on its way (`show_typing`).

Each message is sent once. A failure that proves Twilio did not take it (no connection, a
429 or a 5xx answer) is retried with growing pauses; a 4xx (a bad number, say) or a timeout
after the request went out is not, because Twilio may have taken it and a retry could send
it twice. `deliver` runs on a worker thread, never on a request thread.

With BOT_PUBLIC_URL set, every message names `<BOT_PUBLIC_URL>/status` as its
StatusCallback (see `channels.status`), and, given a store, is recorded there as "queued"
with the inbound message it answers and its recipient, so a callback has something to update.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException

from channels.twiml import MAX_BODY, clean_text, plan
from conversation import Message
from logs import sender_hash
from memory import Store, StoreUnavailable
from metrics import FOLLOWUPS, OPERATOR_SENDS, TYPING
from pipeline import Handled

log = logging.getLogger("bot.followups")

TIMEOUT = 10.0  # seconds for one call to Twilio's API
# The typing indicator is asked for while Twilio waits for the webhook's answer (15 s at
# most, the reply budget already spent): it gets one short try.
TYPING_TIMEOUT = 2.0
RETRIES = 4
BACKOFF = 1.0  # seconds before the first retry; doubled each time
MESSAGING_API_URL = "https://messaging.twilio.com"
ERRORS_URL = "https://www.twilio.com/docs/api/errors"
OUTSIDE_WINDOW = 63016  # Twilio's error for a free-form message outside the 24-hour window

# What an operator can do about Twilio's commonest refusals, in words they understand.
REASONS: dict[int, str] = {
    OUTSIDE_WINDOW: (
        "more than 24 hours since the user last wrote: WhatsApp only allows a template message now"
    ),
    63018: (
        "sending too fast from this WhatsApp number (the sandbox allows about one message "
        "every 3 seconds): try again in a moment"
    ),
    63007: "the bot's number is not set up as a WhatsApp sender on this Twilio account",
    63003: "WhatsApp does not know this user's address",
    21211: "the user's address is not a valid phone number",
    21408: "this Twilio account may not send to the user's country (Geo Permissions)",
    21610: "the user has unsubscribed from this number (they sent STOP)",
    21602: "the message is empty: write something first",
    21617: "the message is longer than 1600 characters, WhatsApp's limit: shorten it",
    20003: "Twilio refused the bot's credentials (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN)",
}
TwilioFailure = (TwilioRestException, TwilioServiceException)  # old and RFC 9457 error bodies


class SendError(Exception):
    """A message Twilio did not take: its error `code` (None when Twilio gave none, as when
    it could not be reached) and a `reason` an operator can act on."""

    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def reason_for(code: int | None, status: int = 400) -> str:
    """Why Twilio refused a message, for an operator: Twilio's `code` and HTTP `status`."""
    if code in REASONS:
        return REASONS[code]
    if status == 429:
        return "Twilio is limiting how fast this account sends: try again in a minute"
    if status >= 500:
        return f"Twilio's API is failing (HTTP {status}): try again in a minute"
    return f"Twilio refused it: error {code} ({ERRORS_URL}/{code})"


def messaging_api_url(settings: Mapping[str, Any]) -> str:
    """Where Twilio's messaging.twilio.com API is: TWILIO_MESSAGING_API_URL when set; else
    beside TWILIO_API_URL: `messaging.` for its `api.` host (so an edge or region such as
    api.dublin.ie1.twilio.com keeps its edge), or TWILIO_API_URL itself for any other host
    (a local fake or a proxy serving both)."""
    if settings["TWILIO_MESSAGING_API_URL"]:
        return settings["TWILIO_MESSAGING_API_URL"]
    api = urlsplit(settings["TWILIO_API_URL"])
    if api.netloc == "api.twilio.com" or (
        api.netloc.startswith("api.") and api.netloc.endswith(".twilio.com")
    ):
        return urlunsplit(api._replace(netloc="messaging." + api.netloc.removeprefix("api.")))
    return settings["TWILIO_API_URL"]


class FollowUps:
    """Sends messages through Twilio; `sleep` is there so tests need not wait."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        api_url: str,
        salt: str,
        backoff: float = BACKOFF,
        sleep: Callable[[float], None] = time.sleep,
        *,
        status_url: str = "",
        store: Store | None = None,
        messaging_url: str = MESSAGING_API_URL,
        typing_timeout: float = TYPING_TIMEOUT,
    ) -> None:
        self.client = _client(account_sid, auth_token, TIMEOUT)
        self.client.api.base_url = api_url
        # A client of its own for the typing indicator, for its shorter timeout.
        self.typing_client = _client(account_sid, auth_token, typing_timeout)
        self.typing_client.messaging.base_url = messaging_url
        self.salt = salt
        self.backoff = backoff
        self.sleep = sleep
        self.status_url = status_url  # the StatusCallback every message names, if any
        self.store = store  # where each message sent is recorded as queued, if any
        self.sent = 0  # follow-ups Twilio accepted

    @classmethod
    def from_settings(
        cls, settings: Mapping[str, Any], store: Store | None = None
    ) -> FollowUps | None:
        """None without credentials: then nothing can be sent. `store` records what is sent."""
        if not (settings["TWILIO_ACCOUNT_SID"] and settings["TWILIO_AUTH_TOKEN"]):
            return None
        public = settings["BOT_PUBLIC_URL"]
        return cls(
            settings["TWILIO_ACCOUNT_SID"],
            settings["TWILIO_AUTH_TOKEN"],
            settings["TWILIO_API_URL"],
            settings["BOT_LOG_SALT"],
            status_url=f"{public}/status" if public else "",
            store=store,
            messaging_url=messaging_api_url(settings),
        )

    def deliver(self, message: Message, handled: Handled) -> None:
        """Send `handled.replies` to the author of `message`, as WhatsApp messages."""
        who = sender_hash(message.sender, self.salt)
        for outgoing in plan(handled.replies):
            media = [outgoing.media] if outgoing.media else None
            try:
                created = self._create(
                    to=message.sender, from_=message.recipient, body=outgoing.body, media_url=media
                )
            except SendError:
                FOLLOWUPS.labels("given_up").inc()
                log.error("follow-up for message %s to %s given up", message.message_id, who)
                return
            self.sent += 1
            FOLLOWUPS.labels("sent").inc()
            log.info("follow-up for message %s sent to %s", message.message_id, who)
            self._record(created, message.message_id, message.sender)

    def send(self, to: str, from_: str, body: str, about: str = "") -> str:
        """Send `body` to `to` from the bot's number `from_` (an operator's reply, `about`
        the user's message it answers, if any); Twilio's MessageSid.

        Raises `SendError` when the message did not go: Twilio's error code and a reason an
        operator understands (error 63016: the user last wrote more than 24 hours ago). It
        may take a while when Twilio fails (the retries): call it off the request thread."""
        text = clean_text(body).strip()
        if not text:
            raise SendError(21602, REASONS[21602])
        if len(text) > MAX_BODY:
            raise SendError(21617, REASONS[21617])
        who = sender_hash(to, self.salt)
        try:
            created = self._create(to=to, from_=from_, body=text)
        except SendError as error:
            OPERATOR_SENDS.labels("failed").inc()
            log.warning("reply about %s to %s not sent: %s", about or "-", who, error.reason)
            raise
        OPERATOR_SENDS.labels("sent").inc()
        log.info("reply %s about %s sent to %s", created.sid, about or "-", who)
        self._record(created, about, to)
        return created.sid

    def show_typing(self, message_id: str) -> bool:
        """Ask WhatsApp to mark the user's message read and show "typing…" (until the next
        message the bot sends, 25 s at most). Whether Twilio took it; one try, never raises."""
        try:
            shown = self.typing_client.messaging.v2.typing_indicator.create(
                channel="whatsapp", message_id=message_id
            )
        except TwilioFailure as error:
            problem = f"HTTP {error.status} (Twilio error {error.code})"
        except (TwilioException, requests.RequestException, ValueError) as error:
            problem = type(error).__name__  # ValueError: an answer that is not JSON
        else:
            if shown.success is not False:
                TYPING.labels("shown").inc()
                log.info("typing indicator shown for message %s", message_id)
                return True
            problem = "Twilio answered success=false"
        TYPING.labels("failed").inc()
        log.warning(
            "typing indicator for message %s failed: %s; answering with text", message_id, problem
        )
        return False

    def _create(self, **params: Any) -> Any:
        """`messages.create(**params)` with the StatusCallback, retried while Twilio surely
        did not take it; `SendError` when it gives up."""
        if self.status_url:
            params["status_callback"] = self.status_url
        delay = self.backoff
        for attempt in range(RETRIES + 1):
            try:
                return self.client.messages.create(**params)
            except TwilioFailure as error:
                retry = error.status == 429 or error.status >= 500
                problem = f"HTTP {error.status} (Twilio error {error.code})"
                failure = SendError(error.code, reason_for(error.code, error.status))
            except requests.ConnectionError as error:
                retry, problem = True, f"no connection ({type(error).__name__})"
                failure = SendError(None, "Twilio's API could not be reached: try again later")
            except requests.RequestException as error:
                retry, problem = False, f"{type(error).__name__}; Twilio may have it already"
                failure = SendError(
                    None,
                    "Twilio did not answer in time and may have sent it: check the "
                    "conversation before sending it again",
                )
            log.warning("Twilio API attempt %d failed: %s", attempt + 1, problem)
            if not retry or attempt == RETRIES:
                raise failure
            self.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    def _record(self, created: Any, about: str, sender: str) -> None:
        """Keep the message sent as queued (or as Twilio says it is), for its callbacks."""
        if self.store is None:
            return
        try:
            self.store.record_delivery(
                created.sid, created.status or "queued", about=about, sender=sender
            )
        except StoreUnavailable as error:
            log.warning("message %s sent; its status is not recorded: %s", created.sid, error)


def _client(account_sid: str, auth_token: str, timeout: float) -> Any:
    """A twilio-python client whose calls time out after `timeout` seconds."""
    # Imported here: twilio.rest is large, and only a bot with credentials needs it.
    from twilio.http.http_client import TwilioHttpClient
    from twilio.rest import Client

    quiet = logging.getLogger("bot.twilio")  # twilio-python logs request data at INFO
    quiet.setLevel(logging.WARNING)
    return Client(
        account_sid, auth_token, http_client=TwilioHttpClient(timeout=timeout, logger=quiet)
    )
