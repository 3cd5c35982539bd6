"""Documents: reading the ones users send or link (a summary in the reply, the text kept for
their questions), and answering questions from them and from the operator's knowledge base.

`read_document` fetches the file (Twilio's media with its credentials, a link without),
reads it in `documents` (binary formats in a child process with a time limit) and answers
with its title, pages and key sentences; every way it can fail has a kind sentence of its
own. `ask_documents` answers from the best passage of the user's latest documents ("page
3?" quotes that page), else from the knowledge base, naming the source, and declines when
nothing clears the threshold, so the bot says its fallback.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import OrderedDict
from threading import Lock

from conversation import DOCUMENT_TYPES, ActionContext, Outcome, UserDocument, is_document
from documents import Document, DocumentError, Page
from documents.bm25 import Hit, Index
from documents.knowledge import THRESHOLD
from documents.passages import split
from documents.readers import read
from documents.summary import summarise
from skills.http import UPSTREAM_ERRORS
from skills.media import MediaError
from skills.registry import action

log = logging.getLogger("bot.skills")

KEY_SENTENCES = 3
QUOTE_CHARACTERS = 600  # of a page asked for by number
ASK_ABOUT_IT = "Ask me about it: *what does it say about …?* or *page 2*."

# What the user hears when a document cannot be read, by the problem's name (the fetcher's
# and the reader's).
TROUBLE = {
    "encrypted": "It's protected by a password 🔒, so I can't read it. Could you send a copy "
    "without one?",
    "corrupt": "The file seems to be damaged, so I couldn't read it. Could you send it again?",
    "image_only": "It looks like a scan or pictures only 📷: there's no text in it I can read.",
    "too_large": "It's too big for me to read, sorry (the limit is {mb} MB).",
    "too_many_pages": "It has more pages than I read at once ({pages} at most).",
    "unsupported": "I can read PDF, Word (.docx), text, Markdown and web pages, but not this "
    "kind of file.",
    "wrong_type": "I can read PDF, Word (.docx), text, Markdown and web pages, but not this "
    "kind of file.",
    "too_slow": "It took too long to read, sorry. 🐢 Please try again in a minute.",
    "empty": "There's nothing in it to read.",
    "not_allowed": "I don't open files from private or local addresses. 🔒",
    "unreachable": "I couldn't download it right now. Please try again in a minute.",
    "unauthorized": "I couldn't download it right now. Please try again in a minute.",
}
NO_SERVICES = "I can't open documents right now."
# Storage services often serve a PDF as a generic binary: the reader tells by its name and
# first bytes, and refuses what it cannot read.
ACCEPTED = DOCUMENT_TYPES | {"application/octet-stream", "binary/octet-stream"}
ASK_FOR_IT = "Attach it (PDF, Word or text) or paste a link to it, and I'll read it. 📎"

# Words that ask about the document itself rather than what is in it.
_ABOUT_IT = re.compile(
    r"\b(?:say|says|said|mention|mentions|mentioned|document|doc|pdf|file|attachment|it)\b",
    re.IGNORECASE,
)
_PAGE = re.compile(
    r"\b(?:page|pg|p\.?)\s*#?\s*(\d{1,4})\b|\b(\d{1,4})(?:st|nd|rd|th)\s+page\b", re.IGNORECASE
)


@action("read_document", outputs=("title", "summary"))
def read_document(context: ActionContext) -> Outcome:
    """A document the user sent: its title, pages and key sentences, kept for questions."""
    media = next((m for m in context.message.media if is_document(m.content_type)), None)
    if media is None:  # "read this document" with nothing attached
        return Outcome({"title": "Send me the document", "summary": ASK_FOR_IT})
    return read_from(context, media.url, context.message.message_id, credentials=True)


def read_from(
    context: ActionContext,
    url: str,
    document_id: str,
    credentials: bool,
    name: str = "that document",
) -> Outcome:
    """The document at `url` read and summarised (variables `title` and `summary`), or a
    kind sentence saying why not, under `name`. Twilio's `credentials` only for media the
    user sent."""
    services = context.services
    if services is None:
        return Outcome({"title": name, "summary": NO_SERVICES})
    limits = {"mb": services.media.max_bytes // (1024 * 1024), "pages": services.max_pages}
    try:
        fetched = services.media.fetch(url, ACCEPTED, credentials=credentials)
        document = read(
            fetched.data,
            fetched.content_type,
            fetched.filename,
            services.max_pages,
            max_bytes=services.media.max_bytes,
        )
    except MediaError as error:
        UPSTREAM_ERRORS.labels(error.service).inc()
        log.warning("document %s not fetched: %s", document_id, error)
        return Outcome({"title": name, "summary": TROUBLE[error.problem].format(**limits)})
    except DocumentError as error:
        log.warning("document %s not read: %s", document_id, error)
        sentence = TROUBLE[error.problem].format(**limits)
        return Outcome({"title": fetched.filename or name, "summary": sentence})
    summary = summarise(document, KEY_SENTENCES)
    pages = f"{summary.pages} page{'s' if summary.pages != 1 else ''}"
    points = "\n".join(f"• {sentence}" for sentence in summary.sentences)
    text = f"{pages}\n{points}\n\n{ASK_ABOUT_IT}" if points else f"{pages}\n\n{ASK_ABOUT_IT}"
    kept = UserDocument(
        document_id,
        context.now.timestamp(),
        document.title,
        document.kind,
        document.source,
        tuple((page.number, page.text) for page in document.pages),
    )
    return Outcome(
        {"title": document.title, "summary": text},
        remember={"document": document.title},
        document=kept,
    )


def link_id(url: str) -> str:
    """A kept document's id for a link: the same link read again replaces it."""
    return "link-" + hashlib.sha256(url.encode()).hexdigest()[:16]


@action("ask_documents", outputs=("answer",), quick=True, reads_documents=True)
def ask_documents(context: ActionContext) -> Outcome:
    """The answer from the user's latest documents, else from the knowledge base, naming
    where it comes from; declined when nothing answers well enough."""
    # "what does it say about [refunds]": the topic alone, when the intent's examples found
    # one; the words about the document itself ("say", "pdf") would only dilute the search.
    topic = str(context.slots.get("topic") or "").strip()
    question = topic or _ABOUT_IT.sub(" ", context.message.text)
    asked = _PAGE.search(context.message.text)
    if asked and context.documents:
        return _page(context.documents[0], int(asked[1] or asked[2]))
    if context.documents:
        hit = _best(context.documents, question)
        if hit is not None:
            passage = hit.passage
            return Outcome(
                {"answer": f"From *{passage.title}*, page {passage.page}:\n“{passage.text}”"}
            )
    if context.knowledge is not None:
        hit = context.knowledge.answer(question)
        if hit is not None:
            return Outcome({"answer": f"From *{hit.passage.title}*:\n{hit.passage.text}"})
    return Outcome(declined=True)


def _page(document: UserDocument, number: int) -> Outcome:
    pages = dict(document.pages)
    if number not in pages:
        count = len(document.pages)
        said = f"*{document.title}* has {count} page{'s' if count != 1 else ''}."
        return Outcome({"answer": f"{said} Which one would you like?"})
    text = " ".join(pages[number].split())
    if len(text) > QUOTE_CHARACTERS:
        text = text[:QUOTE_CHARACTERS].rsplit(" ", 1)[0] + " …"
    return Outcome({"answer": f"Page {number} of *{document.title}*:\n“{text}”"})


def _best(documents: tuple[UserDocument, ...], question: str) -> Hit | None:
    hits = _index(documents).search(question, 1)
    return hits[0] if hits and hits[0].coverage >= THRESHOLD else None


_INDEXES: OrderedDict[tuple[tuple[str, float], ...], Index] = OrderedDict()
_INDEXES_LOCK = Lock()
# Passages whose indexes stay built in this process, all users together (a dense 300-page
# PDF has about 4,000): the least recently asked go first.
PASSAGES_KEPT = 20_000


def _index(documents: tuple[UserDocument, ...]) -> Index:
    """The index over a user's documents, built once while they stay the same."""
    key = tuple((d.document_id, d.at) for d in documents)
    with _INDEXES_LOCK:
        if key in _INDEXES:
            _INDEXES.move_to_end(key)
            return _INDEXES[key]
    passages = [p for d in documents for p in split(_as_document(d))]
    index = Index(passages)
    with _INDEXES_LOCK:
        _INDEXES[key] = index
        while len(_INDEXES) > 1 and sum(len(i.passages) for i in _INDEXES.values()) > PASSAGES_KEPT:
            _INDEXES.popitem(last=False)
    return index


def _as_document(kept: UserDocument) -> Document:
    pages = tuple(Page(number, text) for number, text in kept.pages)
    return Document(kept.title, kept.kind, pages, kept.source)
