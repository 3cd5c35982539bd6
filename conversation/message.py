"""The channel-neutral values that flow through the pipeline: what came in, what goes out.

A channel (WhatsApp webhook, terminal, web chat) builds one `Message` from its payload and
renders the engine's `Reply` values in its own format.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# What is never kept in text a user sent, since a reply may echo it (the demo greets by
# `ProfileName`): C0 and C1 controls and DEL, except tab and newline; and the bidi controls
# (embeddings and overrides U+202A-E, isolates U+2066-9, the marks U+200E/F and U+061C), which
# can reorder a reply's words on the reader's screen. Joiners (U+200C/D) stay: emoji sequences
# and Persian need them.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """`text` without control and bidi characters; the same object when it has none."""
    return text if _UNSAFE.search(text) is None else _UNSAFE.sub("", text)


def _clean(value: object, *names: str) -> None:
    """Set each field in `names` of the frozen `value` to its printable text."""
    for name in names:
        text = getattr(value, name)
        cleaned = printable(text)
        if cleaned is not text:
            object.__setattr__(value, name, cleaned)


@dataclass(frozen=True)
class Media:
    """One attachment the user sent: where to fetch it and what it claims to be."""

    url: str
    content_type: str = ""


@dataclass(frozen=True)
class Location:
    """A shared location pin; `address` and `label` are set for a named place."""

    latitude: float
    longitude: float
    address: str = ""
    label: str = ""

    def __post_init__(self) -> None:
        _clean(self, "address", "label")


@dataclass(frozen=True)
class Button:
    """A quick-reply button the user tapped: the text shown and the payload behind it."""

    text: str = ""
    payload: str = ""

    def __post_init__(self) -> None:
        _clean(self, "text", "payload")


@dataclass(frozen=True)
class Message:
    """One incoming message, whatever channel it came from.

    `sender` is the channel's raw user id (for WhatsApp the `From` string, which is usually
    `whatsapp:+E164` but can be a username-scoped id): key state on it, never parse it.
    The texts a reply may echo (`body`, `profile_name`, a button's, a place's) are kept
    `printable` whichever channel built the message; the ids are kept as sent.
    """

    channel: str
    sender: str
    body: str = ""
    message_id: str = ""
    account_id: str = ""
    recipient: str = ""
    profile_name: str = ""
    wa_id: str = ""
    media: tuple[Media, ...] = ()
    location: Location | None = None
    button: Button | None = None
    replied_to: str = ""
    forwarded: bool = False
    frequently_forwarded: bool = False

    def __post_init__(self) -> None:
        # Built for every message: the usual clean text costs two searches and nothing more.
        if _UNSAFE.search(self.body) or _UNSAFE.search(self.profile_name):
            _clean(self, "body", "profile_name")

    @property
    def text(self) -> str:
        """The words to understand: the body, or the tapped button's text when there is none."""
        if self.body.strip():
            return self.body
        if self.button is not None:
            return self.button.text or self.button.payload
        return ""


@dataclass(frozen=True)
class Reply:
    """One thing the bot says: text, optionally with media URLs."""

    text: str = ""
    media: tuple[str, ...] = ()
