"""The operator's knowledge base: every document in a folder, cut into passages and indexed,
answering a question with its best passage only when that passage covers the question well.

`KnowledgeBase.load(folder)` reads the Markdown, text, PDF, Word and HTML files under it
(sorted, hidden ones skipped); a file that cannot be read becomes a `path: problem` line in
`problems` and the rest are read; so does a problem in its synonym table (`synonyms.yml`, see
`documents.synonyms`). `answer(question)` is the best hit when its coverage (the
share of the question's idf weight it contains, see `bm25`) reaches THRESHOLD, else None;
`explain(question)` shows the best few with their scores, for the rule tools.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from documents.bm25 import Hit, Index
from documents.isolated import TIMEOUT
from documents.model import Document, DocumentError, Passage
from documents.passages import split
from documents.readers import MAX_BYTES, MAX_PAGES, read
from documents.synonyms import FILE_NAME as SYNONYMS
from documents.synonyms import load_synonyms

# Chosen on the development questions (tests/data/knowledge/*-dev.yml): the middle of the
# widest gap between coverages at which at least 90% of the unanswerable ones are declined
# (answered from the right page: 30 of 45; declined: 44 of 46). See the README.
THRESHOLD = 0.58
# What an operator drops into the folder; other files (images, notes) are left alone.
EXTENSIONS = frozenset({".md", ".markdown", ".txt", ".pdf", ".docx", ".html", ".htm"})


@dataclass(frozen=True)
class KnowledgeBase:
    """The documents of one folder, their passages and the index over them."""

    folder: Path
    documents: tuple[Document, ...] = ()
    problems: tuple[str, ...] = ()
    seconds: float = 0.0  # how long loading took
    threshold: float = THRESHOLD
    synonyms: int = 0  # words in the synonym table
    index: Index = field(default_factory=lambda: Index(()), repr=False)

    @property
    def passages(self) -> tuple[Passage, ...]:
        return self.index.passages

    @property
    def pages(self) -> int:
        return sum(len(document.pages) for document in self.documents)

    @classmethod
    def load(
        cls,
        folder: str | Path,
        max_pages: int = MAX_PAGES,
        threshold: float = THRESHOLD,
        timeout: float = TIMEOUT,
    ) -> KnowledgeBase:
        """Read every document under `folder`; never raises for a file it cannot read."""
        started = time.perf_counter()
        folder = Path(folder)
        if not folder.is_dir():
            return cls(folder, problems=(f"{folder}: not a folder",), threshold=threshold)
        documents = []
        problems = []
        for path in _files(folder):
            name = path.relative_to(folder).as_posix()
            try:
                size = path.stat().st_size
                if size > MAX_BYTES:  # refused before it is read into memory
                    raise DocumentError("too_large", f"{size} bytes, at most {MAX_BYTES}")
                documents.append(read(path.read_bytes(), "", name, max_pages, timeout=timeout))
            except DocumentError as error:
                problems.append(f"{name}: {error}")
            except OSError as error:
                problems.append(f"{name}: unreadable ({error.strerror or error})")
        synonyms, found = load_synonyms(folder / SYNONYMS)
        problems += found
        passages = [passage for document in documents for passage in split(document)]
        return cls(
            folder,
            tuple(documents),
            tuple(problems),
            time.perf_counter() - started,
            threshold,
            len(synonyms),
            Index(passages, synonyms=synonyms),
        )

    def answer(self, question: str) -> Hit | None:
        """The best passage for `question` if it covers enough of it, else None."""
        hits = self.index.search(question, 1)
        return hits[0] if hits and self.accepts(hits[0]) else None

    def accepts(self, hit: Hit) -> bool:
        """Whether `hit` is good enough to answer with."""
        return hit.coverage >= self.threshold

    def explain(self, question: str, k: int = 3) -> list[Hit]:
        """The `k` best passages for `question`, with their scores, accepted or not."""
        return self.index.search(question, k)


def _files(folder: Path) -> list[Path]:
    return sorted(
        path
        for path in folder.rglob("*")
        if path.suffix.lower() in EXTENSIONS
        and path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    )
