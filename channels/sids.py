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


def is_message_sid(value: str) -> bool:
    return MESSAGE_SID.fullmatch(value) is not None


def new_message_sid() -> str:
    """A MessageSid no message has had: SM and 32 random hex digits."""
    return "SM" + secrets.token_hex(16)
