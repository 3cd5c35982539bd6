"""An extractive summary: the document's few most representative sentences, by SumBasic.

SumBasic (Nenkova and Vanderwende, 2005) scores a sentence by the average probability of its
content words in the document, takes the best of those that hold the most probable word,
then squares the probabilities of the words it used, so the next pick says something else. It was chosen over TextRank/LexRank because its
cost is linear in the document's words: a 300-page PDF has some 15,000 sentences, whose
similarity graph (quadratic) would not fit in a reply's time budget; and its redundancy rule
is built in, where TextRank's top sentences often repeat one another. Words are the project's
tokens, Snowball-stemmed, without stop words and numbers (`documents.terms`, as retrieval
reads them); no data is downloaded.

Candidates are sentences of 8 to 50 words, four of them content words, that end as sentences
do (shorter ones are headings and captions, longer ones tables glued together, and lines
without a full stop list items and table rows); without any, every sentence is one. The
chosen ones are given in document order. A document with
no more sentences than asked for is given whole.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from documents.layout import shorten
from documents.model import Document
from documents.sentences import split_sentences
from documents.terms import terms

MIN_WORDS = 8
MAX_WORDS = 50
MIN_CONTENT_WORDS = 4
SENTENCE_CHARS = 400  # fifty long words
_ENDS = (".", "!", "?", "…", '."', ".”", ".)", "!”", "?”")


@dataclass(frozen=True)
class Summary:
    """What a reply says about a document: its title, page count and key sentences."""

    title: str
    pages: int
    sentences: tuple[str, ...]


def content_words(sentence: str) -> list[str]:
    """The stems of a sentence's words that carry meaning (no stop words, no numbers)."""
    return [term for term in terms(sentence) if term.isalpha()]


def sumbasic(sentences: list[str], count: int) -> list[int]:
    """The indexes of the `count` sentences SumBasic picks, in order of position."""
    words = [content_words(sentence) for sentence in sentences]
    frequency = Counter(word for sentence_words in words for word in sentence_words)
    total = sum(frequency.values()) or 1
    probability = {word: n / total for word, n in frequency.items()}
    candidates = {
        index
        for index, sentence in enumerate(sentences)
        if MIN_WORDS <= len(sentence.split()) <= MAX_WORDS
        and len(words[index]) >= MIN_CONTENT_WORDS
        and sentence.endswith(_ENDS)
    } or {index for index, found in enumerate(words) if found}
    chosen: list[int] = []
    while candidates and len(chosen) < count:
        # The most likely word still in a candidate, then the best sentence that has it (on a
        # tie, the earlier one): every pick is about what the document says most.
        top = max(
            (word for index in candidates for word in words[index]),
            key=lambda word: (probability[word], word),
        )
        best = max(
            (index for index in candidates if top in words[index]),
            key=lambda i: (sum(probability[w] for w in words[i]) / len(words[i]), -i),
        )
        chosen.append(best)
        candidates.discard(best)
        for word in set(words[best]):
            probability[word] **= 2
    return sorted(chosen)


def summarise(document: Document, sentences: int = 3) -> Summary:
    """The title, page count and `sentences` key sentences of `document`."""
    found = [s for page in document.pages for s in split_sentences(page.text)]
    if len(found) > sentences:
        found = [found[index] for index in sumbasic(found, sentences)]
    return Summary(
        document.title,
        len(document.pages),
        tuple(shorten(sentence, SENTENCE_CHARS) for sentence in found),
    )
