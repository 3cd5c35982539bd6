"""Twilio's identifiers as its webhook sends them: the shapes, and fresh ones for local tests.

A SID is two letters for its kind and 32 lowercase hex digits; Twilio generates them, so a
value of any other shape did not come from Twilio as sent.
"""

from __future__ import annotations

import re
import secrets

# `fullmatch` these: `$` would let a trailing newline through.
MESSAGE_SID = re.compile(r"(?:SM|MM)[0-9a-f]{32}")  # MM: a message with media
ACCOUNT_SID = re.compile(r"AC[0-9a-f]{32}")
SERVICE_SID = re.compile(r"MG[0-9a-f]{32}")
# The user's WhatsApp number, digits only (E.164 has at most 15). Empty for a user Twilio
# knows only by a username id.
WA_ID = re.compile(r"[0-9]{0,15}")
# `From` and `To`: a channel's address, `whatsapp:+14155238886` (or a bare `+1…` for SMS), or
# a WhatsApp business-scoped user id such as `whatsapp:bsuid.AbC-123_xyz`.
PHONE_ADDRESS = re.compile(r"(?:whatsapp:)?\+([0-9]{1,15})")
ADDRESS = re.compile(r"(?:whatsapp:)?\+[0-9]{1,15}|whatsapp:[A-Za-z0-9._-]{1,128}")


def is_message_sid(value: str) -> bool:
    return MESSAGE_SID.fullmatch(value) is not None


def new_message_sid() -> str:
    """A MessageSid no message has had: SM and 32 random hex digits."""
    return "SM" + secrets.token_hex(16)
