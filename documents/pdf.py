"""PDF text with pypdf, run in a child process (`documents.isolated`): `python -m documents.pdf`.

pypdf because it is pure Python (no native code to crash on a hostile file; a crash would
stay in the child anyway), well kept, and since version 6 has limits of its own against
decompression bombs and runaway nesting, which are set tighter here: a file is at most
10 MB, and no page's text needs a stream bigger than a few MB.
"""

from __future__ import annotations

import io

from pypdf import PasswordType, PdfReader, apply_configuration
from pypdf.errors import DependencyError, FileNotDecryptedError, LimitReachedError, PyPdfError

from documents.isolated import serve
from documents.layout import first_line, paragraphs
from documents.model import Document, DocumentError, Page

# A dense A4 page holds about 5,000 characters; more is a table of numbers or a trick, and
# whatever is read is summarised and indexed in the worker afterwards.
MAX_PAGE_CHARS = 10_000
STREAM_BYTES = 20_000_000
# Titles that PDF writers fill in on their own, which name nothing.
_EMPTY_TITLES = frozenset({"untitled", "untitled document", "document", "microsoft word"})
LIMITS = {
    "maximum_declared_stream_length": STREAM_BYTES,
    "zlib_maximum_output_length": STREAM_BYTES,
    "lzw_maximum_output_length": STREAM_BYTES,
    "run_length_maximum_output_length": STREAM_BYTES,
    "array_based_stream_maximum_output_length": STREAM_BYTES,
    "stream_decoding_work_maximum_length": 5 * STREAM_BYTES,
    "image_maximum_buffer_size": STREAM_BYTES,
}


def _open(data: bytes) -> PdfReader:
    if not data.lstrip()[:5] == b"%PDF-":
        raise DocumentError("corrupt", "not a PDF")
    reader = PdfReader(io.BytesIO(data), strict=False)
    if reader.is_encrypted:
        try:
            opened = reader.decrypt("")  # many "protected" PDFs only restrict printing
        except (DependencyError, NotImplementedError, PyPdfError) as error:
            raise DocumentError("encrypted", type(error).__name__) from None
        if opened == PasswordType.NOT_DECRYPTED:
            raise DocumentError("encrypted", "needs a password")
    return reader


def _metadata_title(reader: PdfReader) -> str:
    try:
        title = (reader.metadata.title if reader.metadata else None) or ""
    except PyPdfError:
        return ""
    title = " ".join(str(title).split())
    return "" if title.casefold() in _EMPTY_TITLES else title


def _page_text(text: str) -> str:
    return "\n\n".join(paragraphs(text[:MAX_PAGE_CHARS]))


def parse(data: bytes, max_pages: int) -> Document:
    """The title and pages' text of a PDF; DocumentError when it cannot be read."""
    with apply_configuration(**LIMITS):
        try:
            reader = _open(data)
            count = len(reader.pages)
            if count == 0:
                raise DocumentError("empty", "no pages")
            if count > max_pages:
                raise DocumentError("too_many_pages", f"{count} pages, at most {max_pages}")
            texts = [_page_text(page.extract_text() or "") for page in reader.pages]
            title = _metadata_title(reader)
        except FileNotDecryptedError:
            raise DocumentError("encrypted", "needs a password") from None
        except LimitReachedError as error:
            raise DocumentError("too_large", f"a limit was reached: {error}") from None
        except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError) as error:
            raise DocumentError("corrupt", type(error).__name__) from None
    if not any(texts):
        raise DocumentError("image_only", f"{count} pages without text")
    pages = tuple(Page(number, text) for number, text in enumerate(texts, 1))
    return Document(title or first_line(next(t for t in texts if t)), "pdf", pages, "")


if __name__ == "__main__":
    serve(parse)
