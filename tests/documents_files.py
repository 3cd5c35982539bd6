"""Real files for the document tests, built as the tests run (no binaries in the repository):
PDFs with fpdf2, Word files with python-docx, and hand-written hostile PDFs."""

from __future__ import annotations

import io
import zipfile
import zlib

import docx
from fpdf import FPDF

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
REFUND = "You can return any item within 30 days of delivery for a full refund."


def pdf_bytes(
    pages: list[str],
    title: str | None = "Shop handbook",
    user_password: str | None = None,
    owner_password: str | None = None,
) -> bytes:
    """A PDF with one page per text (an empty text draws a filled rectangle instead)."""
    pdf = FPDF()
    if title:
        pdf.set_title(title)
    if user_password or owner_password:
        pdf.set_encryption(owner_password=owner_password or "owner", user_password=user_password)
    pdf.set_font("Helvetica", size=11)
    for text in pages:
        pdf.add_page()
        if text:
            pdf.multi_cell(0, 6, text)
        else:
            pdf.rect(20, 20, 100, 50, style="F")
    return bytes(pdf.output())


def handbook(pages: int = 3, **options) -> bytes:
    return pdf_bytes([f"Refunds\n\nPage {n}. {REFUND}" for n in range(1, pages + 1)], **options)


def raw_pdf(page_extra: bytes = b"", content: bytes = b"", content_dict: bytes = b"") -> bytes:
    """A one-page PDF written by hand, with `page_extra` in the page's dictionary and
    `content` as its content stream (with `content_dict` in the stream's dictionary)."""
    content = content or b"BT /F1 12 Tf 72 720 Td (Hello hostile world) Tj ET"
    font = b"<< /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >>"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources "
        + font
        + page_extra
        + b" >>",
        b"<< /Length %d %s >>\nstream\n" % (len(content), content_dict) + content + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def deep_array_pdf(depth: int = 200_000) -> bytes:
    return raw_pdf(page_extra=b" /Deep " + b"[" * depth + b"]" * depth)


def deep_content_pdf(depth: int = 200_000) -> bytes:
    return raw_pdf(content=b"[" * depth + b"]" * depth + b" BT (x) Tj ET")


def bomb_pdf(megabytes: int = 200) -> bytes:
    """A content stream of `megabytes` MB of zeros, deflated to a few hundred KB."""
    squeezer = zlib.compressobj(9)
    chunk = b"\0" * (1 << 20)
    data = b"".join(squeezer.compress(chunk) for _ in range(megabytes)) + squeezer.flush()
    return raw_pdf(content=data, content_dict=b"/Filter /FlateDecode")


def docx_bytes(paragraphs: list[tuple[str, int]], title: str = "") -> bytes:
    """A Word file of (text, heading level) paragraphs (level 0: body text) and a table."""
    document = docx.Document()
    document.core_properties.title = title
    for text, level in paragraphs:
        if level:
            document.add_heading(text, level=level)
        else:
            document.add_paragraph(text)
    table = document.add_table(rows=2, cols=2)
    for row, cells in enumerate((("Item", "Price"), ("Key", "10 euros"))):
        for column, text in enumerate(cells):
            table.cell(row, column).text = text
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def zip_bomb_docx(megabytes: int = 200) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"<" + b"a" * (megabytes << 20))
    return buffer.getvalue()


def inflating_docx(paragraphs: int = 300, characters: int = 270_000) -> bytes:
    """A real Word file of about 115 KB whose `paragraphs` are each one "word" of
    `characters` letters: 81 MB of text, under the zip check's ceiling on inflated bytes."""
    buffer = io.BytesIO()
    docx.Document().save(buffer)
    body = f"<w:p><w:r><w:t>{'x' * characters}</w:t></w:r></w:p>" * paragraphs
    out = io.BytesIO()
    with (
        zipfile.ZipFile(buffer) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
    ):
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "word/document.xml":
                content = content.replace(b"<w:body>", b"<w:body>" + body.encode(), 1)
            archive.writestr(item.filename, content)
    return out.getvalue()
