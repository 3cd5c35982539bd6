"""Reading documents: real PDFs (fpdf2 and hand-written hostile ones), Word files
(python-docx), Markdown, HTML and text, through `documents.readers.read`; the child process
that parses binary formats; and cutting a document into passages."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
import textwrap
import threading
import zipfile

import pytest

from documents.isolated import ROOT, parse_isolated, run_child
from documents.layout import MAX_DOCUMENT_CHARS, MAX_PAGE_CHARS, TITLE_CHARS
from documents.model import Document, DocumentError, Page, Passage
from documents.passages import chunks, split
from documents.plain import MARKUP_LINE_CHARS, clean_inline
from documents.readers import IN_PROCESS_BYTES, kind_of, read
from tests.documents_files import (
    DOCX,
    REFUND,
    bomb_pdf,
    deep_array_pdf,
    deep_content_pdf,
    docx_bytes,
    handbook,
    inflating_docx,
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


def test_with_every_reader_busy_a_document_waits_then_is_too_slow_and_nothing_starts(tmp_path):
    slots = threading.BoundedSemaphore(1)
    slots.acquire()  # the one reader is busy
    started = tmp_path / "started"
    code = f"open({str(started)!r}, 'w').write('yes')"
    with pytest.raises(DocumentError) as raised:
        run_child([sys.executable, "-c", code], b"", timeout=0.2, slots=slots)
    assert raised.value.problem == "too_slow"
    assert not started.exists()
    slots.release()  # free again: the next document is read, and gives its slot back
    assert run_child([sys.executable, "-c", "print('read')"], b"", slots=slots) == b"read\n"
    assert slots.acquire(blocking=False)


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


# Limits: what a file may expand to, and where it is read


def test_a_small_word_file_that_inflates_to_81_mb_of_text_is_too_large():
    data = inflating_docx()
    assert len(data) < 120_000
    assert problem(data, DOCX, "huge.docx") == "too_large"


def test_a_document_with_more_text_than_the_cap_is_too_large():
    text = b"word " * (MAX_DOCUMENT_CHARS // 5 + 1)
    assert problem(text, "text/plain", "long.txt", max_pages=100_000) == "too_large"
    fits = b"word " * (MAX_DOCUMENT_CHARS // 10)
    assert read(fits, "text/plain", "long.txt", max_pages=100_000).words == len(fits.split())


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (b"Notes\n\n" + b"x" * 50_000 + b" tail", "text/plain"),  # read here
        (b"Notes\n\n" + b"x" * 500_000 + b" tail", "text/markdown"),  # in the child
        (b"<p>" + b"x" * 50_000 + b" tail</p>", "text/html"),
        (docx_bytes([("Notes", 0), ("x" * 50_000 + " tail", 0)]), DOCX),
    ],
    ids=["text", "markdown", "html", "word"],
)
def test_no_page_holds_more_than_the_page_cap_in_any_format(data, content_type):
    document = read(data, content_type, "notes")
    assert document.pages
    assert all(len(page.text) <= MAX_PAGE_CHARS for page in document.pages)


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (("# " + "Returns " * 30 + "\n\nText.").encode(), "text/markdown"),
        (f"<title>{'Returns ' * 100}</title><p>Text.</p>".encode(), "text/html"),
        (docx_bytes([("Text.", 0)], title="Returns " * 30), DOCX),
        (pdf_bytes(["Text."], title="Returns " * 30), PDF),
    ],
    ids=["markdown-heading", "html-title", "word-title", "pdf-title"],
)
def test_every_title_is_cut_at_a_word(data, content_type):
    title = read(data, content_type, "file").title
    assert title == " ".join(["Returns"] * 15) + "…"  # 119 characters and the ellipsis
    assert len(title) == TITLE_CHARS


def test_headings_are_cut_like_titles():
    text = "# Guide\n\n## " + "Section " * 100 + "\n\nText."
    [page] = read(text.encode(), "text/markdown", "guide.md").pages
    assert len(page.heading) <= TITLE_CHARS
    assert page.heading.endswith("Section…")


def test_a_long_text_is_read_in_the_child_under_its_time_limit():
    small = b"Notes\n\nOpen at nine."
    big = b"Notes\n\n" + b"Open at nine. " * (IN_PROCESS_BYTES // 14 + 1)
    assert read(small, "text/plain", "small.txt", timeout=0.001).title == "Notes"
    assert problem(big, "text/plain", "big.txt", timeout=0.001) == "too_slow"
    assert problem(big, "text/markdown", "big.md", timeout=0.001) == "too_slow"
    assert read(big, "text/markdown", "big.md").pages[0].text.startswith("Notes\n\nOpen at nine.")


def test_a_markdown_line_of_brackets_is_read_quickly():
    # Two million "[" cost the old link pattern some 600 steps each in the worker; now the
    # file is read in the child, which finds it too large. A hang guard only.
    data = b"[" * 2_000_000
    assert problem(data, "text/markdown", "x.md", max_pages=10_000, timeout=60) == "too_large"


def test_inline_markup_is_left_on_a_line_too_long_for_a_person_to_have_written():
    short = "a [link](https://example.com) and **bold**"
    assert clean_inline(short) == "a link and bold"
    long = short + " word" * (MARKUP_LINE_CHARS // 5)
    assert clean_inline(long) == long


def test_the_childs_answer_is_read_up_to_a_limit():
    code = "import sys; sys.stdout.write('x' * 2_000_000)"
    with pytest.raises(DocumentError) as raised:
        run_child([sys.executable, "-c", code], b"", limit=1_000_000)
    assert raised.value.problem == "too_large"
    assert run_child([sys.executable, "-c", code], b"", limit=2_000_000) == b"x" * 2_000_000


def test_a_reader_that_cannot_start_is_logged_with_its_last_words(caplog):
    caplog.set_level(logging.WARNING, logger="documents.isolated")
    with pytest.raises(DocumentError) as raised:
        parse_isolated("missing_reader", b"data", 10)
    assert raised.value.problem == "corrupt"
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert "documents.missing_reader" in record.getMessage()
    assert "No module named documents.missing_reader" in record.getMessage()


def test_only_the_end_of_a_long_last_line_on_stderr_is_logged(caplog):
    caplog.set_level(logging.WARNING, logger="documents.isolated")
    code = "import sys; sys.stderr.write('secret ' * 1000 + 'Boom'); sys.exit(3)"
    with pytest.raises(DocumentError):
        run_child([sys.executable, "-c", code], b"")
    [record] = caplog.records
    assert record.getMessage().endswith("Boom")
    assert record.getMessage().count("secret") <= 200 // len("secret ") + 1


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
