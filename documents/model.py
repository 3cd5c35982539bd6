"""The plain values of documents: a `Document` of `Page`s, the `Passage`s retrieval returns,
and the `DocumentError` whose `problem` says, in one word, why a file could not be read."""

from __future__ import annotations

from dataclasses import dataclass

KINDS = frozenset({"pdf", "docx", "text", "markdown", "html"})

# Why a document could not be read; the caller turns each into a kind, specific reply.
PROBLEMS = {
    "encrypted": "it is protected by a password",
    "corrupt": "the file is damaged or not what its name says",
    "image_only": "it has no text to read (a scan or pictures only)",
    "too_large": "it is too big",
    "too_many_pages": "it has too many pages",
    "unsupported": "the bot cannot read this kind of file",
    "too_slow": "it took too long to read",
    "empty": "there is nothing in it",
}


@dataclass(frozen=True)
class Page:
    """One page of text. Formats without pages (Word, Markdown, text, HTML) are cut into
    sections at headings or about 500 words; `heading` is the section's heading, if any."""

    number: int  # from 1
    text: str  # paragraphs separated by a blank line
    heading: str = ""


@dataclass(frozen=True)
class Document:
    """What a file says: its title, what kind of file it was, its pages and where it came
    from (a file name, a link or a path in the knowledge base)."""

    title: str
    kind: str  # one of KINDS
    pages: tuple[Page, ...]
    source: str

    @property
    def words(self) -> int:
        return sum(len(page.text.split()) for page in self.pages)


@dataclass(frozen=True)
class Passage:
    """A few sentences of one page, the unit retrieval finds and quotes."""

    title: str  # the document's
    source: str  # the document's
    page: int
    text: str
    heading: str = ""  # the page's section heading, when the format has them


class DocumentError(Exception):
    """A document that could not be read: `problem` is a key of PROBLEMS, `detail` says
    more for the log or the operator (never shown to users as it is)."""

    def __init__(self, problem: str, detail: str = "") -> None:
        if problem not in PROBLEMS:
            raise ValueError(f"unknown document problem {problem!r}")
        super().__init__(problem, detail)
        self.problem = problem
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.problem} ({self.detail})" if self.detail else self.problem
