"""Reading documents (PDF, Word, Markdown, HTML, text), summarising them and finding the
passages that answer a question, for the documents users send and the operator's knowledge
base.

A leaf: it imports only `nlp` (for the tokenizer, stemmer and stop words). Its parts:
`model` (the plain values), `readers.read` (bytes to a `Document`, bounded in size; binary formats, and
text over 64 KB, are parsed in a child process, `isolated`), `summary.summarise`, `passages.split`, `terms` (what
retrieval compares), `bm25.Index`, `knowledge.KnowledgeBase` and `cli` (`knowledge index`). Importing the package loads only the values, so the child process
that parses a PDF starts quickly.
"""

from documents.model import PROBLEMS, Document, DocumentError, Page, Passage

__all__ = ["PROBLEMS", "Document", "DocumentError", "Page", "Passage"]
