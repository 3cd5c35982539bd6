"""`read(data, content_type, filename)`: any document the bot reads, as a `Document`.

The kind comes from the content type, else the file name's extension, else the first bytes
(a PDF says `%PDF-`). PDF, Word and HTML go through a child process with a time limit
(`documents.isolated`); so do plain text and Markdown of more than IN_PROCESS_BYTES, which are
read here when smaller (a knowledge base of small files loads without a process per file, and
the worst 64 KB of Markdown costs the worker is about 65 ms). The caller fetches with
its own size cap (BOT_MEDIA_MAX_MB) and passes it on; data over it is refused here too,
whatever sent it. Every document is `bounded` (pages, title, the whole) before it is returned.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import PurePosixPath

from documents.isolated import TIMEOUT, parse_isolated
from documents.layout import bounded
from documents.model import Document, DocumentError
from documents.plain import decode_text, read_markdown, read_text

MAX_BYTES = 10 * 1024 * 1024
IN_PROCESS_BYTES = 64 * 1024
MAX_PAGES = 300
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
CONTENT_TYPES = {
    "application/pdf": "pdf",
    "application/x-pdf": "pdf",
    DOCX: "docx",
    "text/plain": "text",
    "text/csv": "text",
    "text/markdown": "markdown",
    "text/x-markdown": "markdown",
    "text/html": "html",
    "application/xhtml+xml": "html",
}
EXTENSIONS = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".txt": "text",
    ".text": "text",
    ".csv": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
}
# Types that say nothing of what is inside: the name or the bytes decide.
_VAGUE = frozenset({"", "application/octet-stream", "binary/octet-stream", "application/zip"})
# Module that parses each binary kind in the child process.
_ISOLATED = {"pdf": "pdf", "docx": "word", "html": "webpage"}
_CHARSET = re.compile(rb"""<meta[^>]{0,200}charset=["']?([\w.:-]{1,40})""", re.IGNORECASE)


def kind_of(content_type: str, filename: str = "", data: bytes = b"") -> str | None:
    """Which reader `data` needs, or None when no reader fits."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    extension = PurePosixPath(filename.lower()).suffix
    kind = CONTENT_TYPES.get(media_type)
    if kind == "text" and EXTENSIONS.get(extension) == "markdown":
        return "markdown"  # Markdown is often sent as text/plain
    if kind or media_type not in _VAGUE:
        return kind
    if data.lstrip()[:5] == b"%PDF-":
        return "pdf"
    return EXTENSIONS.get(extension)


def _charset(content_type: str) -> str:
    for parameter in content_type.split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip("\"'")
    return ""


def read(
    data: bytes,
    content_type: str,
    filename: str = "",
    max_pages: int = MAX_PAGES,
    max_bytes: int = MAX_BYTES,
    timeout: float = TIMEOUT,
) -> Document:
    """The document in `data`; DocumentError saying why when it cannot be read.

    Its `source` is `filename`; its title the file's own (PDF metadata, Word properties,
    <title>, the first heading or line), else `filename`, cut to `layout.TITLE_CHARS`.
    """
    if len(data) > max_bytes:
        raise DocumentError("too_large", f"{len(data)} bytes, at most {max_bytes}")
    kind = kind_of(content_type, filename, data)
    if kind is None:
        raise DocumentError("unsupported", content_type or filename or "unknown type")
    if not data.strip():
        raise DocumentError("empty", "no data")
    charset = _charset(content_type)
    if kind in {"text", "markdown"}:
        text = decode_text(data, charset)
        if len(data) <= IN_PROCESS_BYTES:
            document = (read_text if kind == "text" else read_markdown)(text, max_pages)
        else:
            document = parse_isolated("plain", text.encode(), max_pages, timeout, kind)
    else:
        if kind == "html":
            declared = charset or _declared_charset(data)
            data = decode_text(data, declared).encode("utf-8")
        document = parse_isolated(_ISOLATED[kind], data, max_pages, timeout)
    return bounded(replace(document, title=document.title or filename, source=filename))


def _declared_charset(data: bytes) -> str:
    found = _CHARSET.search(data[:2048])
    return found[1].decode("ascii") if found else ""
