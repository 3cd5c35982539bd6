"""Plain text and Markdown: read in the worker itself when small (the knowledge base's files,
most messages), else in a child process like the binary formats (`python -m documents.plain
<max pages> <timeout> text|markdown`, the text on stdin as UTF-8). Only this module's own
linear regular expressions run over them.

Markdown's headings start sections ("pages" of at most about 500 words, each with its
heading); its markup is taken away (links keep their text, images their alt text, emphasis
and code marks go). The title is the first `# ` heading, else the first line. Plain text is
grouped into pages of about 500 words at paragraph breaks; its title is its first line.
"""

from __future__ import annotations

import codecs
import re
import sys
from collections.abc import Iterator

from documents.isolated import serve
from documents.layout import Block, first_line, paginate, paragraphs, unwrap
from documents.model import Document, DocumentError

# Every pattern is anchored or bounded, so each runs in linear time on a line of any length.
_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*))?$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_RULE = re.compile(r"^ {0,3}(?:(?:\*[ \t]*+){3,}|(?:-[ \t]*+){3,}|(?:_[ \t]*+){3,})$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:[ \t]+\S")
_TABLE_RULE = re.compile(
    r"^[ \t]*+\|?[ \t]*+:?-{3,}+:?[ \t]*+(?:\|[ \t]*+:?-{3,}+:?[ \t]*+)*+\|?[ \t]*$"
)
_QUOTE = re.compile(r"^ {0,3}>[ \t]?")
_BULLET = re.compile(r"^([ \t]*)[*+][ \t]+")
_INLINE = (
    # A link's or image's text stops at the next "[" too, so "[[[[" costs one step a bracket.
    (re.compile(r"!\[([^\[\]\n]{0,300}+)\]\([^)\n]{0,500}+\)"), r"\1"),  # image: alt text
    (re.compile(r"\[([^\[\]\n]{1,300}+)\](?:\([^)\n]{0,500}+\)|\[[^\]\n]{0,100}+\])"), r"\1"),
    (re.compile(r"<(https?://[^>\s]{1,500})>"), r"\1"),  # autolink
    (re.compile(r"</?[A-Za-z][^>]{0,200}>"), ""),  # inline HTML tags
    (re.compile(r"(\*\*|__)(?=\S)(.{1,300}?)(?<=\S)\1"), r"\2"),  # strong
    (re.compile(r"(?<![\w*])\*(?=\S)([^*]{1,300}?)(?<=\S)\*(?![\w*])"), r"\1"),  # emphasis
    (re.compile(r"(?<!\w)_(?=\S)([^_]{1,300}?)(?<=\S)_(?!\w)"), r"\1"),
    (re.compile(r"`([^`\n]{1,300})`"), r"\1"),  # code
)
MARKUP_LINE_CHARS = 4_000
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f]")


def decode_text(data: bytes, charset: str = "") -> str:
    """Text from bytes: a byte-order mark first, then the declared charset, then UTF-8, then
    Windows-1252 (what "plain text" from an older PC is). Binary data is refused."""
    for mark, encoding in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                           (codecs.BOM_UTF16_BE, "utf-16")):  # fmt: skip
        if data.startswith(mark):
            return data.decode(encoding, errors="replace")
    sample = data[:4096]
    if sample and len(_CONTROL.findall(sample.decode("latin-1"))) > len(sample) // 100:
        raise DocumentError("corrupt", "binary data, not text")
    for encoding in (charset, "utf-8"):
        try:
            if encoding:
                return data.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("cp1252", errors="replace")


def clean_inline(line: str) -> str:
    """A Markdown line without its inline markup; a line longer than MARKUP_LINE_CHARS is
    no line a person wrote, and is left as it is (its markup would cost hundreds of steps a
    character to look for)."""
    if len(line) > MARKUP_LINE_CHARS:
        return line
    for pattern, replacement in _INLINE:
        line = pattern.sub(replacement, line)
    return line


def _heading_text(text: str) -> str:
    """An ATX heading's text, without its closing hashes ("## Hours ##")."""
    text = text.strip()
    bare = text.rstrip("#")
    if bare != text and (not bare or bare[-1] in " \t"):
        text = bare.strip()
    return clean_inline(text).strip()


def _front_matter_end(lines: list[str]) -> int:
    """How many lines a YAML front-matter block at the top takes (0 without one)."""
    if lines and lines[0].strip() == "---":
        for number, line in enumerate(lines[1:50], 1):
            if line.strip() in {"---", "..."}:
                return number + 1
    return 0


def markdown_blocks(text: str) -> Iterator[Block]:
    """The headings and paragraphs of a Markdown text, markup removed."""
    lines = text.splitlines()
    paragraph: list[str] = []
    fence = ""

    def flush() -> Iterator[Block]:
        joined = "\n".join(clean_inline(line) for line in unwrap(paragraph))
        paragraph.clear()
        if joined:
            yield Block(joined)

    for line in lines[_front_matter_end(lines) :]:
        if fence:
            if line.strip().startswith(fence):
                fence = ""
                yield from flush()
            else:
                paragraph.append(line)
            continue
        if found := _FENCE.match(line):
            yield from flush()
            fence = found[1]
        elif found := _ATX.match(line):
            yield from flush()
            yield Block(_heading_text(found[2] or ""), len(found[1]))
        elif _SETEXT.match(line) and len(paragraph) == 1 and not _RULE.match(paragraph[0]):
            heading = clean_inline(paragraph.pop()).strip()
            yield Block(heading, 1 if line.strip().startswith("=") else 2)
        elif not line.strip() or _RULE.match(line):
            yield from flush()
        elif not (_REFERENCE.match(line) or _TABLE_RULE.match(line)):
            paragraph.append(_BULLET.sub(r"\1- ", _QUOTE.sub("", line)))
    yield from flush()


def read_markdown(text: str, max_pages: int) -> Document:
    blocks = list(markdown_blocks(text))
    return _document(blocks, "markdown", max_pages, by_headings=True)


def read_text(text: str, max_pages: int) -> Document:
    blocks = [Block(paragraph) for paragraph in paragraphs(text)]
    return _document(blocks, "text", max_pages, by_headings=False)


def _document(blocks: list[Block], kind: str, max_pages: int, by_headings: bool) -> Document:
    pages = paginate(blocks, by_headings=by_headings)
    if not pages:
        raise DocumentError("empty", "no text")
    if len(pages) > max_pages:
        raise DocumentError("too_many_pages", f"{len(pages)} pages, at most {max_pages}")
    top = [block.text for block in blocks if block.level == 1]
    title = top[0] if top else first_line(blocks[0].text)
    return Document(title, kind, pages, "")


def parse_text(data: bytes, max_pages: int) -> Document:
    return read_text(data.decode("utf-8", errors="replace"), max_pages)


def parse_markdown(data: bytes, max_pages: int) -> Document:
    return read_markdown(data.decode("utf-8", errors="replace"), max_pages)


if __name__ == "__main__":
    serve(parse_markdown if sys.argv[3:] == ["markdown"] else parse_text)
