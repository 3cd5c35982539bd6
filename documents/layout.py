"""From lines of text to paragraphs and pages, for the readers of every format.

Text comes out of files wrapped at a width (PDF lines, e-mail-style text files), so lines are
joined into the lines the author meant: a line break is kept only before a list item and
after a line much shorter than the rest (a heading, a paragraph's end). A `Block` is then one paragraph or heading, and
`paginate` groups blocks into `Page`s of about 500 words, starting a new page at each heading
for formats whose sections are their structure (Markdown, HTML).

Every reader's document is `bounded` before it leaves the child process (and again in the
worker): at most MAX_PAGE_CHARS a page (what a dense A4 page holds, twice over), titles and
headings cut to TITLE_CHARS, and a document of more than MAX_DOCUMENT_CHARS is too large, so
what a small file inflates to (a 115 KB .docx holds 81 MB of text) never reaches the worker.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from documents.model import Document, DocumentError, Page
from documents.sentences import split_sentences

WORDS_PER_PAGE = 500
TITLE_CHARS = 120
MAX_PAGE_CHARS = 10_000
# MAX_PAGES (300) dense pages of 5,000 characters; a 300-page book has about half of it.
MAX_DOCUMENT_CHARS = 1_500_000
_LIST_ITEM = re.compile(r"^\s*(?:[-*+•◦▪‣]|\d{1,3}[.)]|[a-z][.)])\s+")
_SPACE = re.compile(r"[ \t\r\f\v\u00a0]+")
_BLANK = re.compile(r"\n\s*\n")
# Wrapped text is at least this wide, and its lines (but a paragraph's last) this full.
WRAPPED_WIDTH = 40
FULL_LINE = 0.6


class Block(NamedTuple):
    """A paragraph (level 0) or a heading (level 1 to 6)."""

    text: str
    level: int = 0


def unwrap(lines: Iterable[str]) -> list[str]:
    """Join wrapped `lines` of one paragraph into the lines the author meant.

    Lines of wrapped text (a PDF's, an e-mail's) come near the full width; a line much
    shorter than the widest ends a paragraph or is a heading, so the break after it stays, as
    does the break before a list item. Lines that are all short (an address, a timetable) are
    not wrapped text and stay as they are.
    """
    cleaned = [_SPACE.sub(" ", line).strip() for line in lines]
    cleaned = [line for line in cleaned if line]
    width = max(map(len, cleaned), default=0)
    joined: list[str] = []
    previous = 0
    for line in cleaned:
        wrapped = width >= WRAPPED_WIDTH and previous >= FULL_LINE * width
        if not joined or not wrapped or _LIST_ITEM.match(line):
            joined.append(line)
        elif joined[-1].endswith("-") and line[:1].islower():
            joined[-1] = joined[-1][:-1] + line  # a word hyphenated at the line's end
        else:
            joined[-1] = f"{joined[-1]} {line}"
        previous = len(line)
    return joined


def paragraphs(text: str) -> list[str]:
    """The paragraphs of `text` (split at blank lines), each unwrapped."""
    found = ("\n".join(unwrap(chunk.splitlines())) for chunk in _BLANK.split(text))
    return [paragraph for paragraph in found if paragraph]


def _units(text: str, limit: int) -> Iterator[tuple[str, str]]:
    """`text` as (separator, piece) pairs of at most `limit` words: its lines, a line too long
    cut into sentences, a sentence too long (a table, a list) cut into words."""
    for line in text.splitlines():
        if len(line.split()) <= limit:
            yield "\n", line
            continue
        for sentence in split_sentences(line):
            words = sentence.split()
            for start in range(0, len(words), limit):
                yield " ", " ".join(words[start : start + limit])


def _pieces(text: str, limit: int) -> Iterator[str]:
    """`text` as it is when it has at most `limit` words, else cut into pieces that have."""
    if len(text.split()) <= limit:
        yield text
        return
    piece = ""
    count = 0
    for separator, unit in _units(text, limit):
        words = len(unit.split())
        if piece and count + words > limit:
            yield piece
            piece, count = "", 0
        piece = f"{piece}{separator}{unit}" if piece else unit
        count += words
    if piece:
        yield piece


def paginate(
    blocks: Iterable[Block], by_headings: bool, words_per_page: int = WORDS_PER_PAGE
) -> tuple[Page, ...]:
    """Pages of at most about `words_per_page` words, never splitting a paragraph that fits.

    With `by_headings`, each heading starts a page and becomes its `heading` (not its text);
    otherwise headings are paragraphs, and a page's heading is the one in force where it
    starts. Empty sections make no page.
    """
    blocks = list(blocks)
    _check_size(sum(len(block.text) for block in blocks))
    pages: list[Page] = []
    texts: list[str] = []
    count = 0
    heading = page_heading = ""

    def flush() -> None:
        nonlocal texts, count
        if texts:
            pages.append(Page(len(pages) + 1, "\n\n".join(texts), page_heading))
        texts, count = [], 0

    for block in blocks:
        if block.level and by_headings:
            flush()
            heading = block.text
            continue
        for piece in _pieces(block.text, words_per_page) if block.text else ():
            words = len(piece.split())
            if texts and count + words > words_per_page:
                flush()
            if block.level:
                heading = block.text
            if not texts:
                page_heading = heading
            texts.append(piece)
            count += words
    flush()
    return tuple(pages)


def _check_size(characters: int) -> None:
    if characters > MAX_DOCUMENT_CHARS:
        raise DocumentError(
            "too_large", f"{characters} characters of text, at most {MAX_DOCUMENT_CHARS}"
        )


def cut(text: str, limit: int) -> str:
    """`text`, or its first `limit` characters ended at a space when it has one."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    if not text[limit].isspace() and len(words := head.rsplit(None, 1)) == 2:
        head = words[0]  # the word cut in two goes
    return head.rstrip()


def shorten(text: str, limit: int) -> str:
    """`text` in at most `limit` characters: cut at a word, with "…", when it is longer."""
    if len(text) <= limit:
        return text
    return cut(text, limit - 1).rstrip(",;:") + "…"


def bounded(document: Document) -> Document:
    """`document` with each page cut to MAX_PAGE_CHARS and its title and headings to
    TITLE_CHARS; DocumentError `too_large` when it has more than MAX_DOCUMENT_CHARS."""
    pages = tuple(
        Page(page.number, cut(page.text, MAX_PAGE_CHARS), shorten(page.heading, TITLE_CHARS))
        for page in document.pages
    )
    _check_size(sum(len(page.text) for page in pages))
    title = shorten(" ".join(document.title[: TITLE_CHARS * 2].split()), TITLE_CHARS)
    return Document(title, document.kind, pages, document.source)


def first_line(text: str) -> str:
    """The first non-empty line of `text`, as a title: its first sentence if the line is too
    long for one, shortened at a word if that is too long still."""
    for line in text.splitlines():
        line = _SPACE.sub(" ", line[: TITLE_CHARS * 4]).strip(" #*_=-\t")
        if not line:
            continue
        if len(line) > TITLE_CHARS:
            line = split_sentences(line)[0]
        return shorten(line, TITLE_CHARS)
    return ""
