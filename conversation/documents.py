"""A document a user sent or linked, kept so they can ask about it: its pages' text.

The skills turn what they read into a `UserDocument`; the pipeline keeps it in the user's
memory (a few of the latest, within the retention period, deleted with everything else on
"forget me") and hands them back to an action that answers questions about them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

# What the bot reads as a document when a user sends it (WhatsApp "document" messages).
DOCUMENT_TYPES = frozenset(
    {
        "application/pdf",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "text/plain",
        "text/markdown",
        "text/html",
    }
)


def is_document(content_type: str) -> bool:
    """Whether a media item's content type (parameters ignored) is one the bot reads."""
    return content_type.split(";", 1)[0].strip().lower() in DOCUMENT_TYPES


@dataclass(frozen=True)
class UserDocument:
    """One kept document: where it came from, when, its title, kind and pages' text."""

    document_id: str  # the message it came with, or a hash of its link
    at: float  # seconds since the epoch
    title: str
    kind: str  # pdf, docx, text, markdown, html
    source: str  # the link, or the file's name
    pages: tuple[tuple[int, str], ...]  # (page number, text)

    def to_json(self) -> str:
        data = {
            "id": self.document_id,
            "at": self.at,
            "title": self.title,
            "kind": self.kind,
            "source": self.source,
            "pages": [list(page) for page in self.pages],
        }
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes) -> UserDocument:
        data = json.loads(raw)
        return cls(
            document_id=str(data.get("id", "")),
            at=float(data.get("at", 0.0)),
            title=str(data.get("title", "")),
            kind=str(data.get("kind", "")),
            source=str(data.get("source", "")),
            pages=tuple((int(n), str(text)) for n, text in data.get("pages", [])),
        )
