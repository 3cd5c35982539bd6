"""Follow-up messages: an answer that missed the reply budget goes out later through Twilio's
REST API (`messages.create`), to the user's `From`, from the number they wrote to.

Each message is sent once. A failure that proves Twilio did not take it (no connection, a
429 or a 5xx answer) is retried with growing pauses; a 4xx (a bad number, say) or a timeout
after the request went out is not, because Twilio may have taken it and a retry could send
it twice. The caller runs this on a worker thread, never on a request thread.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import requests
from twilio.base.exceptions import TwilioRestException

from channels.twiml import plan
from conversation import Message
from logs import sender_hash
from metrics import FOLLOWUPS
from pipeline import Handled

log = logging.getLogger("bot.followups")

TIMEOUT = 10.0  # seconds for one call to Twilio's API
RETRIES = 4
BACKOFF = 1.0  # seconds before the first retry; doubled each time


class FollowUps:
    """Sends late answers through Twilio; `sleep` is there so tests need not wait."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        api_url: str,
        salt: str,
        backoff: float = BACKOFF,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        # Imported here: twilio.rest is large, and only a bot with credentials needs it.
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client

        quiet = logging.getLogger("bot.twilio")  # twilio-python logs request data at INFO
        quiet.setLevel(logging.WARNING)
        http = TwilioHttpClient(timeout=TIMEOUT, logger=quiet)
        self.client = Client(account_sid, auth_token, http_client=http)
        self.client.api.base_url = api_url
        self.salt = salt
        self.backoff = backoff
        self.sleep = sleep
        self.sent = 0  # messages Twilio accepted, for /metrics later

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> FollowUps | None:
        """None without credentials: then a late answer cannot be delivered."""
        if not (settings["TWILIO_ACCOUNT_SID"] and settings["TWILIO_AUTH_TOKEN"]):
            return None
        return cls(
            settings["TWILIO_ACCOUNT_SID"],
            settings["TWILIO_AUTH_TOKEN"],
            settings["TWILIO_API_URL"],
            settings["BOT_LOG_SALT"],
        )

    def deliver(self, message: Message, handled: Handled) -> None:
        """Send `handled.replies` to the author of `message`, as WhatsApp messages."""
        who = sender_hash(message.sender, self.salt)
        for outgoing in plan(handled.replies):
            media = [outgoing.media] if outgoing.media else None
            if self._send(message, outgoing.body, media):
                self.sent += 1
                FOLLOWUPS.labels("sent").inc()
                log.info("follow-up for message %s sent to %s", message.message_id, who)
            else:
                FOLLOWUPS.labels("given_up").inc()
                log.error("follow-up for message %s to %s given up", message.message_id, who)
                return

    def _send(self, message: Message, body: str, media: list[str] | None) -> bool:
        delay = self.backoff
        for attempt in range(RETRIES + 1):
            try:
                self.client.messages.create(
                    to=message.sender, from_=message.recipient, body=body, media_url=media
                )
                return True
            except TwilioRestException as error:
                retry = error.status == 429 or error.status >= 500
                problem = f"HTTP {error.status} (Twilio error {error.code})"
            except requests.ConnectionError as error:
                retry, problem = True, f"no connection ({type(error).__name__})"
            except requests.RequestException as error:
                retry, problem = False, f"{type(error).__name__}; Twilio may have it already"
            log.warning("Twilio API attempt %d failed: %s", attempt + 1, problem)
            if not retry or attempt == RETRIES:
                return False
            self.sleep(delay)
            delay *= 2
        return False  # pragma: no cover -- the loop returns
