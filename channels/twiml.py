"""Render replies as TwiML that Twilio accepts: clean XML, ≤ 1600 characters a message.

`MessagingResponse` escapes markup but lets XML-illegal characters through, and Twilio
rejects a body over 1600 characters (21617) or a response over 64 kB (11750). So text is
cleaned, long replies are split at paragraph, line, sentence and word boundaries, and the
whole answer is capped at 10 messages and a byte budget, with a notice when something was cut.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from xml.sax.saxutils import escape

from twilio.twiml.messaging_response import MessagingResponse

from conversation import Reply

MAX_BODY = 1600
MAX_MESSAGES = 10
# Twilio's limit is 64 kB for the whole response; leave room for tags and the declaration.
MAX_RESPONSE_BYTES = 60_000
CUT_NOTICE = "✂️ (That was too long for WhatsApp, so I cut the rest.)"
CACHED_ANSWERS = 512  # rendered answers kept, the most recently used
CACHED_TEXT = 2000  # characters at most in an answer that is kept (so at most about 1 MB)

_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0d\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Boundaries to split at, best first; each keeps its separator on the left-hand piece.
_BOUNDARIES = (
    re.compile(r"(\n[ \t]*\n\s*)"),
    re.compile(r"(\n)"),
    re.compile(r"(?<=[.!?…。！？])(\s+)"),
    re.compile(r"(\s+)"),
)


@dataclass(frozen=True)
class Outgoing:
    """One `<Message>`: a body of at most 1600 characters and at most one media URL."""

    body: str = ""
    media: str = ""


def clean_text(text: str) -> str:
    """Drop characters XML 1.0 forbids (C0 controls but tab and newline, surrogates, FFFE/FFFF)."""
    return _ILLEGAL_XML.sub("", text.replace("\r\n", "\n"))


def split_text(text: str, limit: int = MAX_BODY) -> list[str]:
    """Split `text` into chunks of at most `limit` characters at the best boundary available."""
    return [chunk for chunk in (c.strip() for c in _split(text, limit, 0)) if chunk]


def _split(text: str, limit: int, level: int) -> list[str]:
    if len(text) <= limit:
        return [text]
    if level == len(_BOUNDARIES):
        return [text[i : i + limit] for i in range(0, len(text), limit)]
    parts = _BOUNDARIES[level].split(text)
    pieces = [
        parts[i] + (parts[i + 1] if i + 1 < len(parts) else "") for i in range(0, len(parts), 2)
    ]
    chunks: list[str] = []
    current = ""
    for piece in pieces:
        if len(current) + len(piece.rstrip()) <= limit:
            current += piece
            continue
        if current:
            chunks.append(current)
        if len(piece.rstrip()) <= limit:
            current = piece
        else:
            chunks.extend(_split(piece, limit, level + 1))
            current = ""
    if current:
        chunks.append(current)
    return chunks


def plan(replies: Iterable[Reply]) -> list[Outgoing]:
    """The `<Message>`s for `replies`: split, one media each, capped with a notice if cut."""
    messages: list[Outgoing] = []
    for reply in replies:
        chunks = split_text(clean_text(reply.text))
        media = [clean_text(url).strip() for url in reply.media if clean_text(url).strip()]
        if not chunks and not media:
            continue
        bodies = chunks or [""]
        for i, chunk in enumerate(bodies):
            last = i == len(bodies) - 1
            messages.append(Outgoing(chunk, media[0] if last and media else ""))
        messages.extend(Outgoing("", url) for url in media[1:])
    return _cap(messages)


def _size(message: Outgoing) -> int:
    return len(escape(message.body).encode()) + len(escape(message.media).encode()) + 64


def _cap(messages: list[Outgoing]) -> list[Outgoing]:
    kept: list[Outgoing] = []
    budget = MAX_RESPONSE_BYTES - len(CUT_NOTICE.encode()) - 64
    for message in messages:
        if len(kept) == MAX_MESSAGES or _size(message) > budget:
            break
        kept.append(message)
        budget -= _size(message)
    if len(kept) == len(messages):
        return kept
    # Something was left out: say so at the end of the last message that is kept.
    last = kept.pop() if len(kept) == MAX_MESSAGES else Outgoing()
    room = MAX_BODY - len(CUT_NOTICE) - 2
    head = split_text(last.body, room)[0] if last.body else ""
    kept.append(Outgoing(f"{head}\n\n{CUT_NOTICE}".strip(), last.media))
    return kept


def render(replies: Iterable[Reply]) -> str:
    """The TwiML document for `replies`; `<Response />` when there is nothing to say.

    Bots say the same few things again and again ("Hi! 👋", the menu, "You're welcome"),
    and building the XML costs more than choosing the words, so short answers are kept."""
    replies = tuple(replies)
    if sum(len(r.text) for r in replies) <= CACHED_TEXT:
        return _render_kept(replies)
    return _render(replies)


@lru_cache(maxsize=CACHED_ANSWERS)
def _render_kept(replies: tuple[Reply, ...]) -> str:
    return _render(replies)


def _render(replies: tuple[Reply, ...]) -> str:
    response = MessagingResponse()
    for outgoing in plan(replies):
        message = response.message()
        if outgoing.body or not outgoing.media:
            message.body(outgoing.body)
        if outgoing.media:
            message.media(outgoing.media)
    return response.to_xml()
