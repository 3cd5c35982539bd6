"""Reading documents: real PDFs (fpdf2 and hand-written hostile ones), Word files
(python-docx), Markdown, HTML and text, through `documents.readers.read`; the child process
that parses binary formats; and cutting a document into passages."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
import zipfile

import pytest

from documents.isolated import ROOT, run_child
from documents.model import Document, DocumentError, Page, Passage
from documents.passages import chunks, split
from documents.readers import kind_of, read
from tests.documents_files import (
    DOCX,
    REFUND,
    bomb_pdf,
    deep_array_pdf,
    deep_content_pdf,
    docx_bytes,
    handbook,
    pdf_bytes,
    zip_bomb_docx,
)

PDF = "application/pdf"


def problem(data: bytes, content_type: str, filename: str = "", **options) -> str:
    with pytest.raises(DocumentError) as raised:
        read(data, content_type, filename, **options)
    return raised.value.problem


# PDF


def test_a_pdf_gives_its_title_and_every_pages_text():
    document = read(handbook(3), PDF, "handbook.pdf")
    assert document == Document(
        title="Shop handbook",
        kind="pdf",
        pages=tuple(Page(n, f"Refunds\nPage {n}. {REFUND}") for n in (1, 2, 3)),
        source="handbook.pdf",
    )


def test_a_pdf_without_a_title_is_named_by_its_first_line_and_wrapped_lines_are_joined():
    sentence = "This paragraph is long enough to wrap over several lines of the page. "
    data = pdf_bytes([sentence * 4 + "\nDelivery\nWe deliver on weekdays."], title=None)
    document = read(data, PDF, "notes.pdf")
    assert document.title == "This paragraph is long enough to wrap over several lines of the page."
    assert (
        document.pages[0].text == f"{sentence * 4}".strip() + "\nDelivery\nWe deliver on weekdays."
    )


def test_a_pdf_with_an_empty_page_keeps_the_page_numbers():
    document = read(pdf_bytes(["First page.", "", "Third page."]), PDF, "gaps.pdf")
    assert [(page.number, page.text) for page in document.pages] == [
        (1, "First page."),
        (2, ""),
        (3, "Third page."),
    ]


def test_a_pdf_that_needs_a_password_is_encrypted():
    assert problem(handbook(user_password="secret"), PDF) == "encrypted"


def test_a_pdf_protected_only_against_changes_is_read():
    document = read(handbook(1, owner_password="boss"), PDF, "locked.pdf")
    assert document.pages[0].text == f"Refunds\nPage 1. {REFUND}"


@pytest.mark.parametrize("fraction", [0.3, 0.9])
def test_a_truncated_pdf_is_corrupt(fraction):
    data = handbook(3)
    assert problem(data[: int(len(data) * fraction)], PDF) == "corrupt"


def test_bytes_that_are_no_pdf_are_corrupt():
    assert problem(b"%PDF-1.7\n" + bytes(range(256)) * 40, PDF) == "corrupt"
    assert problem(b"PK\x03\x04 a zip, not a pdf", PDF) == "corrupt"


def test_a_pdf_of_pictures_only_is_image_only():
    assert problem(pdf_bytes(["", ""]), PDF) == "image_only"


def test_a_pdf_over_the_page_cap_is_refused():
    assert problem(handbook(4), PDF, max_pages=3) == "too_many_pages"
    assert len(read(handbook(3), PDF, max_pages=3).pages) == 3


@pytest.mark.parametrize(
    "build",
    [deep_array_pdf, deep_content_pdf, bomb_pdf],
    ids=["nested-arrays-in-the-page", "nested-arrays-in-the-content", "decompression-bomb"],
)
def test_a_hostile_pdf_is_refused_without_harming_this_process(build):
    # The parse runs in a child process killed after the time limit, so whatever the file
    # does to pypdf (recursion, memory), this process only gets an answer.
    assert problem(build(), PDF) in {"corrupt", "too_large", "too_slow"}


def test_a_child_that_takes_too_long_is_killed_and_reported_too_slow(tmp_path):
    pid_file = tmp_path / "pid"
    code = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(600)"
    with pytest.raises(DocumentError) as raised:
        run_child([sys.executable, "-c", code], b"", timeout=3)
    assert raised.value.problem == "too_slow"
    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # killed and reaped, not left running


def test_a_child_that_dies_is_reported_corrupt():
    code = "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"
    with pytest.raises(DocumentError) as raised:
        run_child([sys.executable, "-c", code], b"")
    assert raised.value.problem == "corrupt"


def test_the_child_sees_no_secrets_from_the_environment(monkeypatch):
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "not-for-parsers")
    code = "import os, sys; sys.stdout.write(os.environ.get('TWILIO_AUTH_TOKEN', 'absent'))"
    assert run_child([sys.executable, "-c", code], b"") == b"absent"


# Word


def test_a_word_file_is_grouped_into_pages_of_about_500_words():
    rent = "Rent is due on the first day of each month. " * 12  # 120 words
    data = docx_bytes(
        [("Rent", 1), *[(rent, 0)] * 5, ("Deposit", 2), ("The deposit is two months.", 0)],
        title="Tenancy agreement",
    )
    document = read(data, DOCX, "lease.docx")
    assert document.title == "Tenancy agreement"
    assert document.kind == "docx"
    assert [page.heading for page in document.pages] == ["Rent", "Rent"]
    assert document.pages[0].text == "\n\n".join(["Rent", *[rent.strip()] * 4])
    assert document.pages[1].text == "\n\n".join(
        [rent.strip(), "Deposit", "The deposit is two months.", "Item | Price\nKey | 10 euros"]
    )


def test_a_word_file_without_a_title_property_is_named_by_its_first_heading():
    data = docx_bytes([("Intro text.", 0), ("House rules", 1), ("No pets.", 0)])
    assert read(data, DOCX, "rules.docx").title == "House rules"


def test_a_word_zip_bomb_is_refused_before_it_inflates():
    assert problem(zip_bomb_docx(), DOCX) == "too_large"


def test_a_broken_word_file_is_corrupt_and_another_zip_is_unsupported():
    assert problem(b"PK\x03\x04 not really a zip", DOCX) == "corrupt"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("photo.jpg", b"\xff\xd8")
    assert problem(buffer.getvalue(), DOCX) == "unsupported"


# Markdown, HTML, text


MARKDOWN = """---
layout: page
---
# Returns policy

You can **return** items within [30 days](https://example.com/returns) of
delivery, with the `receipt`.

## How to send it

* Pack it well
* Send it with a *tracked* service

Setext heading
--------------

![A map](map.png) shows the way.

```
code stays as it is
```
"""


def test_markdown_is_read_as_sections_with_their_headings_and_no_markup():
    document = read(MARKDOWN.encode(), "text/markdown", "returns.md")
    assert document == Document(
        title="Returns policy",
        kind="markdown",
        pages=(
            Page(
                1,
                "You can return items within 30 days of delivery, with the receipt.",
                "Returns policy",
            ),
            Page(2, "- Pack it well\n- Send it with a tracked service", "How to send it"),
            Page(3, "A map shows the way.\n\ncode stays as it is", "Setext heading"),
        ),
        source="returns.md",
    )


def test_markdown_sent_as_plain_text_is_read_as_markdown():
    document = read(MARKDOWN.encode(), "text/plain", "returns.md")
    assert document.kind == "markdown"
    assert document.title == "Returns policy"


def test_a_long_markdown_section_is_cut_into_pages_that_keep_its_heading():
    paragraph = " ".join(["word"] * 200)
    text = "# Manual\n\n## Setup\n\n" + "\n\n".join([paragraph] * 4)
    document = read(text.encode(), "text/markdown", "manual.md")
    assert [(p.number, p.heading, len(p.text.split())) for p in document.pages] == [
        (1, "Setup", 400),
        (2, "Setup", 400),
    ]


HTML = """<!doctype html><html><head><meta charset="iso-8859-1">
<title>Caf\xe9 hours</title><style>p { color: red }</style>
<script>var secret = "not text";</script></head>
<body><nav>Home | About</nav>
<h1>Opening hours</h1><p>We are open
from 9 to 5.</p>
<h2>Sundays</h2><p>Closed on Sundays.<br>Except in December.</p>
<table><tr><td>Mon</td><td>9-5</td></tr></table>
<footer>Copyright</footer></body></html>"""


def test_html_is_read_without_scripts_styles_or_furniture_in_its_declared_charset():
    document = read(HTML.encode("latin-1"), "text/html", "hours.html")
    assert document == Document(
        title="Café hours",
        kind="html",
        pages=(
            Page(1, "We are open from 9 to 5.", "Opening hours"),
            Page(2, "Closed on Sundays.\nExcept in December.\n\nMon | 9-5", "Sundays"),
        ),
        source="hours.html",
    )


def test_plain_text_is_titled_by_its_first_line_and_paged_at_paragraphs():
    paragraph = " ".join(["word"] * 300)
    text = "Price list\n\n" + "\n\n".join([paragraph] * 3)
    document = read(text.encode("cp1252"), "text/plain", "prices.txt")
    assert document.title == "Price list"
    assert [len(page.text.split()) for page in document.pages] == [302, 300, 300]


def test_plain_text_in_windows_1252_is_decoded():
    document = read("Café menu\n\nCrème brûlée £4".encode("cp1252"), "text/plain", "menu.txt")
    assert document.pages[0].text == "Café menu\n\nCrème brûlée £4"


def test_binary_data_sent_as_text_is_corrupt():
    assert problem(bytes(range(32)) * 100, "text/plain") == "corrupt"


# Kinds, sizes, emptiness


@pytest.mark.parametrize(
    ("content_type", "filename", "data", "kind"),
    [
        ("application/pdf", "", b"", "pdf"),
        ("application/octet-stream", "Menu.PDF", b"", "pdf"),
        ("application/octet-stream", "", b"%PDF-1.4 ...", "pdf"),
        ("", "notes.md", b"", "markdown"),
        ("text/plain; charset=utf-8", "notes.markdown", b"", "markdown"),
        ("text/plain", "notes.txt", b"", "text"),
        ("text/html; charset=utf-8", "", b"", "html"),
        (DOCX, "", b"", "docx"),
        ("application/msword", "old.doc", b"", None),
        ("image/jpeg", "photo.pdf", b"", None),
        ("application/octet-stream", "data.bin", b"", None),
    ],
)
def test_the_kind_comes_from_the_type_then_the_name_then_the_bytes(
    content_type, filename, data, kind
):
    assert kind_of(content_type, filename, data) == kind


def test_unsupported_too_large_and_empty_documents_say_so():
    assert problem(b"\xff\xd8\xff", "image/jpeg", "photo.jpg") == "unsupported"
    assert problem(b"x" * 101, "text/plain", max_bytes=100) == "too_large"
    assert problem(b"", PDF) == "empty"
    assert problem(b" \n\n ", "text/plain") == "empty"
    assert problem(b"# Only\n\n## Headings\n", "text/markdown") == "empty"
    assert problem(b"<html><script>x()</script></html>", "text/html") == "empty"


def test_a_document_error_names_a_known_problem():
    assert str(DocumentError("encrypted", "needs a password")) == "encrypted (needs a password)"
    with pytest.raises(ValueError, match="unknown document problem"):
        DocumentError("weird")


def test_hostile_text_is_read_in_linear_time():
    # Long lines built to make backtracking regular expressions quadratic; a hang guard only.
    script = textwrap.dedent(
        """
        from documents.readers import read
        from documents.summary import summarise
        from documents.passages import split
        from documents.bm25 import Index
        n = 100_000
        lines = ["!" * n, "a" + "." * n + " A", "a" * n + " .", "# " + " " * n + "x",
                 "**a " * (n // 4), "![" * (n // 2), "[" * n, "*a " * (n // 3),
                 "`" * n, "a-" * (n // 2), "|---" * (n // 4) + "x", "* " * (n // 2) + "x",
                 "Dr. A. B. " * (n // 10)]
        for line in lines:
            for kind in ("text/markdown", "text/plain"):
                try:
                    document = read(line.encode(), kind, "x", max_pages=10_000)
                except Exception as error:
                    assert error.problem == "empty", error
                    continue
                summarise(document)
                Index(split(document))
        print("read")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.stdout == "read\n", done.stderr


# Passages


def words(count: int, word: str = "word") -> str:
    return " ".join([word] * count)


def test_passages_join_short_paragraphs_and_end_at_a_paragraph_when_long_enough():
    text = "\n\n".join([words(30, "a"), words(30, "b"), words(50, "c"), words(10, "d")])
    assert chunks(text) == [
        f"{words(30, 'a')}\n\n{words(30, 'b')}",
        f"{words(50, 'c')}\n\n{words(10, 'd')}",  # a last scrap joins the one before
    ]


def test_a_long_paragraph_is_cut_at_sentence_ends_into_passages_of_at_most_120_words():
    sentence = "This sentence has exactly ten words in it, you see."
    text = " ".join([sentence] * 30)
    found = chunks(text)
    assert [len(chunk.split()) for chunk in found] == [120, 120, 60]
    assert all(chunk.startswith("This sentence") and chunk.endswith("see.") for chunk in found)


def test_a_sentence_longer_than_a_passage_is_cut_at_120_words():
    assert [len(chunk.split()) for chunk in chunks(words(300))] == [120, 120, 60]


def test_list_items_stay_on_their_lines():
    assert chunks("Opening hours\n- Mon 9-5\n- Tue 9-5") == ["Opening hours\n- Mon 9-5\n- Tue 9-5"]


def test_passages_never_cross_pages_and_carry_the_page_and_its_heading():
    document = Document(
        "Guide",
        "markdown",
        (Page(1, "Short first page.", "Start"), Page(2, "Second page.\n\nMore of it.", "End")),
        "guide.md",
    )
    assert split(document) == (
        Passage("Guide", "guide.md", 1, "Short first page.", "Start"),
        Passage("Guide", "guide.md", 2, "Second page.\n\nMore of it.", "End"),
    )
