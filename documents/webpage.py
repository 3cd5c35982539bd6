"""HTML text with the standard library's parser, run in a child process:
`python -m documents.webpage` (the parser has known quadratic cases on crafted input, and a
page may be 10 MB).

The title is the <title>; the text is the body's, without scripts, styles and page furniture
(navigation, footers, forms); headings start sections, as in Markdown. The parent decodes the
bytes (it knows the charset) and hands over UTF-8.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from documents.isolated import serve
from documents.layout import Block, first_line, paginate
from documents.model import Document, DocumentError

# Elements whose text is not the page's content.
SKIP = frozenset(
    {"script", "style", "noscript", "template", "svg", "nav", "footer", "aside", "form"}
)
# Elements that end a paragraph; headings end one and start a section.
BLOCKS = frozenset(
    {"p", "div", "section", "article", "main", "header", "li", "ul", "ol", "dl", "dt", "dd",
     "table", "tr", "blockquote", "pre", "figure", "figcaption", "hr", "address", "details",
     "summary", "body"}
)  # fmt: skip
HEADINGS = {f"h{level}": level for level in range(1, 7)}
# Void elements never get an end tag, so they must not open a skipped region.
_VOID = frozenset({"br", "hr", "img", "meta", "link", "input", "wbr", "source", "area"})
_SPACE = re.compile(r"\s+")


class _Reader(HTMLParser):
    """Collects the title and the body's blocks, in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.blocks: list[Block] = []
        self._in_title = False
        self._skipping: list[str] = []
        self._text: list[str] = []
        self._level = 0
        self._preformatted = 0

    def _end_block(self) -> None:
        lines = (" ".join(line.split()) for line in "".join(self._text).split("\n"))
        text = "\n".join(line for line in lines if line)
        self._text = []
        if text:
            level = self._level
            self.blocks.append(Block(text.replace("\n", " ") if level else text, level))
        self._level = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag in SKIP and tag not in _VOID:
            self._skipping.append(tag)
        elif self._skipping:
            return
        elif tag == "pre":
            self._end_block()
            self._preformatted += 1
        elif tag in HEADINGS:
            self._end_block()
            self._level = HEADINGS[tag]
        elif tag in BLOCKS:
            self._end_block()
        elif tag == "br":
            self._text.append("\n")
        elif tag in {"td", "th"}:
            self._text.append(" | " if self._text else "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif self._skipping:
            if tag == self._skipping[-1]:
                self._skipping.pop()
        elif tag in HEADINGS or tag in BLOCKS:
            self._end_block()
            if tag == "pre" and self._preformatted:
                self._preformatted -= 1

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif not self._skipping:
            # Outside <pre>, a line break in the source is a space on the screen.
            self._text.append(data if self._preformatted else _SPACE.sub(" ", data))

    def close(self) -> None:
        super().close()
        self._end_block()


def parse(data: bytes, max_pages: int) -> Document:
    """The title and sections of a web page; DocumentError when it has no text."""
    reader = _Reader()
    reader.feed(data.decode("utf-8", errors="replace"))
    reader.close()
    if not reader.blocks:
        raise DocumentError("empty", "no text in the page's body")
    pages = paginate(reader.blocks, by_headings=True)
    if len(pages) > max_pages:
        raise DocumentError("too_many_pages", f"{len(pages)} sections, at most {max_pages}")
    headings = [block.text for block in reader.blocks if block.level]
    title = " ".join(reader.title.split())
    title = title or (headings[0] if headings else first_line(reader.blocks[0].text))
    return Document(title, "html", pages, "")


if __name__ == "__main__":
    serve(parse)
