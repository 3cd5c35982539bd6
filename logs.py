"""Logging that never shows a phone number, a WhatsApp id or a secret in clear text.

Every line the bot logs goes through `RedactingFormatter`, tracebacks included, so even an
exception message that happens to quote the sender is scrubbed. Senders become a short keyed
hash, stable across workers, so one user's lines can still be followed.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import sys
from collections.abc import Iterable

# `whatsapp:+14155238886`, `whatsapp:some.user.id`, `messenger:…`: a channel prefix and an id.
_CHANNEL_ID = re.compile(r"\b(?:whatsapp|messenger|sms|tel):[^\s'\"<>&,;)]+", re.IGNORECASE)
# `+1 (415) 523-8886`, `+14155238886`, and the bare digits of a WaId (8 to 15 digits).
_PHONE = re.compile(r"\+\d[\d ()./-]{5,}\d|(?<![\w.:/-])\d{8,15}(?![\w.])")


def sender_hash(sender: str, salt: str = "") -> str:
    """A 12-hex-digit keyed hash of a sender id, for logs that must not show the id itself."""
    key = (salt or "whatsapp-bot").encode()
    return hmac.new(key, sender.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:12]


class RedactingFormatter(logging.Formatter):
    """Formats a record, then replaces ids, phone numbers and known secrets in the text."""

    def __init__(self, fmt: str, salt: str = "", secrets: Iterable[str] = ()) -> None:
        super().__init__(fmt)
        self.salt = salt
        self.secrets = sorted((s for s in secrets if len(s) >= 4), key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "<secret>")
        text = _CHANNEL_ID.sub(lambda m: f"<sender:{sender_hash(m[0], self.salt)}>", text)
        return _PHONE.sub(lambda m: f"<phone:{sender_hash(m[0], self.salt)}>", text)

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))


def configure(level: str, salt: str, secrets: Iterable[str]) -> logging.Logger:
    """Give the `bot` logger (Flask's `app.logger`) one redacting handler on stderr."""
    logger = logging.getLogger("bot")
    for old in [h for h in logger.handlers if getattr(h, "bot_redacting", False)]:
        logger.removeHandler(old)
    handler = logging.StreamHandler(sys.stderr)
    handler.bot_redacting = True  # type: ignore[attr-defined]
    handler.setFormatter(
        RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", salt, secrets)
    )
    logger.addHandler(handler)
    logger.setLevel(level.upper() if isinstance(level, str) else level)
    logger.propagate = False
    return logger
