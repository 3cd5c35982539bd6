"""Word (.docx) text with python-docx, run in a child process: `python -m documents.word`.

python-docx is the well-kept reader of the format (lxml underneath, entities not resolved, so
no XML external entities). A .docx is a zip: its declared sizes are checked first, so a zip
bomb is refused before it inflates, and the child's memory ceiling catches one that lies.
Word files have no pages until printed, so paragraphs are grouped into pages of about 500
words; a page's heading is the one in force where it starts.
"""

from __future__ import annotations

import io
import re
import zipfile

import docx
from docx.document import Document as WordDocument
from docx.opc.exceptions import PackageNotFoundError
from docx.table import Table

from documents.isolated import serve
from documents.layout import Block, first_line, paginate
from documents.model import Document, DocumentError

MAX_INFLATED_BYTES = 100_000_000
_HEADING = re.compile(r"^(?:heading|überschrift|titre|título)\s*(\d)$", re.IGNORECASE)


def _check_zip(data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            inflated = sum(item.file_size for item in archive.infolist())
            names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError, EOFError):
        raise DocumentError("corrupt", "not a .docx (zip) file") from None
    if "word/document.xml" not in names:
        raise DocumentError("unsupported", "a zip file, but not a Word document")
    if inflated > MAX_INFLATED_BYTES:
        raise DocumentError("too_large", f"inflates to {inflated} bytes")


def _level(style_name: str) -> int:
    if style_name.casefold() == "title":
        return 1
    found = _HEADING.match(style_name.strip())
    return min(int(found[1]), 6) if found else 0


def _table_text(table: Table) -> str:
    rows = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            text = " ".join(cell.text.split())
            if text and (not cells or cells[-1] != text):  # merged cells repeat themselves
                cells.append(text)
        if cells:
            rows.append(" | ".join(cells))
    return "\n".join(rows)


def _blocks(document: WordDocument) -> list[Block]:
    blocks = []
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            blocks.append(Block(_table_text(item)))
        else:
            style = item.style.name if item.style is not None else ""
            blocks.append(Block(" ".join(item.text.split()), _level(style or "")))
    return [block for block in blocks if block.text]


def parse(data: bytes, max_pages: int) -> Document:
    """The title and pages of a Word document; DocumentError when it cannot be read."""
    _check_zip(data)
    try:
        document = docx.Document(io.BytesIO(data))
    except (KeyError, ValueError, zipfile.BadZipFile, PackageNotFoundError) as error:
        raise DocumentError("corrupt", type(error).__name__) from None
    blocks = _blocks(document)
    if not blocks:
        raise DocumentError("empty", "no text")
    pages = paginate(blocks, by_headings=False)
    if len(pages) > max_pages:
        raise DocumentError("too_many_pages", f"{len(pages)} pages, at most {max_pages}")
    headings = [block.text for block in blocks if block.level]
    title = " ".join((document.core_properties.title or "").split())
    title = title or (headings[0] if headings else first_line(blocks[0].text))
    return Document(title, "docx", pages, "")


if __name__ == "__main__":
    serve(parse)
