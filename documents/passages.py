"""Cut a document into the passages retrieval ranks and quotes: a few sentences each.

A passage is about 40 to 120 words, one page's (never two: a quote names its page), and
ends at a paragraph's end when it can: a paragraph of 40 words or more is a passage on its
own, shorter ones are joined, a longer one is cut at sentence ends. A page's last scrap too
short to stand alone joins the passage before it. Each passage carries its page's section
heading, which retrieval also reads.
"""

from __future__ import annotations

from collections.abc import Iterator

from documents.layout import paragraphs
from documents.model import Document, Passage
from documents.sentences import split_line

MIN_WORDS = 40
MAX_WORDS = 120


def _units(text: str) -> Iterator[tuple[str, str]]:
    """The page's pieces of at most MAX_WORDS words, each with what joins it to the one
    before: a blank line (a new paragraph), a line break, or a space (the next sentence)."""
    separator = "\n\n"
    for paragraph in paragraphs(text):
        for line in paragraph.splitlines():
            pieces = [line] if len(line.split()) <= MAX_WORDS else split_line(line)
            for piece in pieces:
                words = piece.split()
                for start in range(0, len(words), MAX_WORDS):
                    yield separator, " ".join(words[start : start + MAX_WORDS])
                    separator = " "
            separator = "\n"
        separator = "\n\n"


def chunks(text: str) -> list[str]:
    """The passages' texts of one page."""
    found: list[tuple[str, int]] = []
    current = ""
    count = 0
    for separator, unit in _units(text):
        words = len(unit.split())
        if current and (count + words > MAX_WORDS or (separator == "\n\n" and count >= MIN_WORDS)):
            found.append((current, count))
            current, count = "", 0
        current = f"{current}{separator}{unit}" if current else unit
        count += words
    if current:
        if found and count < MIN_WORDS // 2 and found[-1][1] + count <= MAX_WORDS + MIN_WORDS:
            previous, words = found.pop()
            current, count = f"{previous}\n\n{current}", words + count
        found.append((current, count))
    return [chunk for chunk, _ in found]


def split(document: Document) -> tuple[Passage, ...]:
    """The passages of `document`, in order."""
    return tuple(
        Passage(document.title, document.source, page.number, text, page.heading)
        for page in document.pages
        for text in chunks(page.text)
    )
