"""Logging that never shows a phone number, a WhatsApp id or a secret in clear text.

Every line the bot logs goes through `RedactingFormatter`, tracebacks included, so even an
exception message that happens to quote the sender is scrubbed. Senders become a short keyed
hash, stable across workers, so one user's lines can still be followed. A number written
into a URL (`%2B14155550123`, `whatsapp%3A%2B1+415…`) is read as its decoded self first, so
it gets the same hash as in clear.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import sys
from collections.abc import Iterable
from datetime import datetime

# `whatsapp:+14155238886`, `whatsapp:some.user.id`, `messenger:…`: a channel prefix and an id.
_CHANNEL_ID = re.compile(r"\b(?:whatsapp|messenger|sms|tel):[^\s'\"<>&,;)]+", re.IGNORECASE)
# `+1 (415) 523-8886`, `+14155238886`, and the bare digits of a WaId (8 to 15 digits). Ids
# whose digits could be read as one are not phone numbers: a UUID (one in 43 starts with 8
# decimal digits) and a 14-digit timestamp (`could_be_phone`; request ids such as
# `20261201123456-abc`).
UUID = re.compile(r"\b[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}\b")
_PHONE = re.compile(
    rf"(?P<uuid>{UUID.pattern})|\+\d[\d ()./-]{{5,}}\d|(?<![\w.:/-])\d{{8,15}}(?![\w.])"
)
# A stretch of URL-encoded text: at least one %XX escape, with the characters around it. It
# starts where a word starts and never backtracks, so a long line costs linear time.
_ENCODED = re.compile(r"(?<![\w.~:+()/%-])[\w.~:+()/-]*+(?:%[0-9A-Fa-f]{2}[\w.~:+()/-]*+)++")
# The escapes a phone number or a sender id is written with, or next to (`=`, `&`, `,`, `;`,
# `?` in a URL encoded inside another), and %25, `%`, for text encoded twice; others, such as
# %0A (a line break), stay encoded, so decoding cannot forge a line.
_PHONE_ESCAPES = re.compile(r"%(2[0568-9BbCcDdEeFf]|3[AaBbDdFf])")


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
        if "%" in text:
            text = _ENCODED.sub(self._decoded_if_hiding, text)
        return self._redact_clear(text)

    def _redact_clear(self, text: str) -> str:
        text = _CHANNEL_ID.sub(lambda m: f"<sender:{sender_hash(m[0], self.salt)}>", text)
        return _PHONE.sub(lambda m: _phone(m, self.salt), text)

    def _decoded_if_hiding(self, match: re.Match[str]) -> str:
        """An encoded stretch as it is, or, when it hides an id or a number, decoded (as far
        as phone numbers and ids are written: `+`, `:`, space, brackets, dots, dashes) and
        redacted. `+` is tried as itself first, then as a space (`%2B1+415+555+0123`)."""
        encoded = match[0]
        for candidate in (encoded, encoded.replace("+", " ")):
            candidate = _decode_phone_escapes(candidate)
            redacted = self._redact_clear(candidate)
            if redacted != candidate:
                return redacted
        return encoded

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))


_UNSALTED = RedactingFormatter("%(message)s")


def hides_something(text: str) -> bool:
    """Whether the log would hide part of `text` as a sender id or a phone number."""
    return _UNSALTED.redact(text) != text


def could_be_phone(digits: str) -> bool:
    """Whether digits standing on their own may be a phone number: 8 or more of them, and
    not a 14-digit timestamp."""
    return len(digits) >= 8 and not (len(digits) == 14 and _is_timestamp(digits))


def _phone(match: re.Match[str], salt: str) -> str:
    number = match[0]
    if match["uuid"] or not could_be_phone(number):
        return number
    return f"<phone:{sender_hash(number, salt)}>"


def _is_timestamp(digits: str) -> bool:
    """`YYYYMMDDhhmmss` of a year between 1970 and 2099: no phone number has 14 digits that
    read as one (country codes 19 and 20 have shorter numbers)."""
    try:
        return 1970 <= datetime.strptime(digits, "%Y%m%d%H%M%S").year <= 2099
    except ValueError:
        return False


def _decode_phone_escapes(text: str) -> str:
    """`whatsapp%3A%2B14155550123` as `whatsapp:+14155550123`: the escapes of
    `_PHONE_ESCAPES` decoded, and once more for text encoded twice (`%252B`)."""
    for _ in range(2):
        text = _PHONE_ESCAPES.sub(lambda m: chr(int(m[1], 16)), text)
    return text


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
