"""The channel-neutral values that flow through the pipeline: what came in, what goes out.

A channel (WhatsApp webhook, terminal, web chat) builds one `Message` from its payload and
renders the engine's `Reply` values in its own format.
"""

from __future__ import annotations

from dataclasses import dataclass


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


@dataclass(frozen=True)
class Button:
    """A quick-reply button the user tapped: the text shown and the payload behind it."""

    text: str = ""
    payload: str = ""


@dataclass(frozen=True)
class Message:
    """One incoming message, whatever channel it came from.

    `sender` is the channel's raw user id (for WhatsApp the `From` string, which is usually
    `whatsapp:+E164` but can be a username-scoped id): key state on it, never parse it.
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
