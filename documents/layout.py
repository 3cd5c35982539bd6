"""From lines of text to paragraphs and pages, for the readers of every format.

Text comes out of files wrapped at a width (PDF lines, e-mail-style text files), so lines are
joined into the lines the author meant: a line break is kept only before a list item and
after a line much shorter than the rest (a heading, a paragraph's end). A `Block` is then one paragraph or heading, and
`paginate` groups blocks into `Page`s of about 500 words, starting a new page at each heading
for formats whose sections are their structure (Markdown, HTML).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from documents.model import Page
from documents.sentences import split_sentences

WORDS_PER_PAGE = 500
TITLE_CHARS = 120
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


def first_line(text: str) -> str:
    """The first non-empty line of `text`, as a title: its first sentence if the line is too
    long for one, shortened at a word if that is too long still."""
    for line in text.splitlines():
        line = _SPACE.sub(" ", line).strip(" #*_=-\t")
        if not line:
            continue
        if len(line) > TITLE_CHARS:
            line = split_sentences(line)[0]
        if len(line) <= TITLE_CHARS:
            return line
        return line[:TITLE_CHARS].rsplit(" ", 1)[0].rstrip(",;:") + "…"
    return ""
