"""How the console names a user: `ref` in its URLs, `label` on its pages.

A URL carries `ref`, the user's key in URL-safe base64, so that no phone number is written
into a URL (access logs, browser history, a Referer): it hides the number from a casual
reader, it is not a secret. Every console page needs a signed-in operator anyway.
"""

from __future__ import annotations

import base64
import binascii

WEB_PREFIX = "web:"
WHATSAPP_PREFIX = "whatsapp:"


def ref_for(sender: str) -> str:
    return base64.urlsafe_b64encode(sender.encode()).decode().rstrip("=")


def sender_for(ref: str) -> str | None:
    """The user key `ref` stands for, or None when it is not one `ref_for` made."""
    if not ref or len(ref) > 400:
        return None
    try:
        sender = base64.urlsafe_b64decode(ref + "=" * (-len(ref) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return sender if ref_for(sender) == ref and sender.isprintable() else None


def label(sender: str) -> str:
    """What an operator reads: the WhatsApp number (or username) itself; for a web-chat
    user, the start of their browser's id."""
    if sender.startswith(WHATSAPP_PREFIX):
        return sender[len(WHATSAPP_PREFIX) :]
    if sender.startswith(WEB_PREFIX):
        return f"Web chat {sender[len(WEB_PREFIX) :][:8]}"
    return sender
