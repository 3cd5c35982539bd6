"""Summaries by SumBasic and the sentence splitter they stand on."""

from __future__ import annotations

import pytest

from documents import sentences
from documents.model import Document, Page
from documents.sentences import split_sentences
from documents.summary import SENTENCE_CHARS, Summary, summarise


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("It opens at 9. It closes at 5.", ["It opens at 9.", "It closes at 5."]),
        ("Ask Dr. Smith or Mrs. Jones. They know.", ["Ask Dr. Smith or Mrs. Jones.", "They know."]),
        ("Bring ID, e.g. a passport. Then wait.", ["Bring ID, e.g. a passport.", "Then wait."]),
        ("J. R. R. Tolkien wrote it. Read it.", ["J. R. R. Tolkien wrote it.", "Read it."]),
        ("It costs £3.50 at 5 p.m. on weekdays.", ["It costs £3.50 at 5 p.m. on weekdays."]),
        ("Really? Yes! Good… Go on.", ["Really?", "Yes!", "Good…", "Go on."]),
        ('He said "Stop." Then left.', ['He said "Stop."', "Then left."]),
        ("See No. 5 for details. Done.", ["See No. 5 for details.", "Done."]),
        ("It was made in the U.S.A. and shipped.", ["It was made in the U.S.A. and shipped."]),
        ("version 2. next we go", ["version 2. next we go"]),  # no capital: no new sentence
        ("1. Pack it. 2. Post it.", ["1. Pack it.", "2. Post it."]),
        ("In 2023. Prices rose.", ["In 2023.", "Prices rose."]),
        ("Opening hours\n- Mon 9-5\n- Tue 9-5", ["Opening hours", "- Mon 9-5", "- Tue 9-5"]),
        ("", []),
    ],
)
def test_sentences_split_at_their_ends_but_not_after_abbreviations_or_initials(text, sentences):
    assert split_sentences(text) == sentences


RETURNS = """Returns policy

You can return any unread book within 30 days of delivery for a full refund of the price.
Refunds go back to the card you paid with within five working days of the return.
Our shop cat is called Biscuit and sleeps in the window most afternoons.
Books bought as gifts can be exchanged for another book or a credit note."""
REFUNDS = """A refund needs the receipt or the order number, and the book must be unread.
Faulty books are refunded in full, and we pay the return postage for them.
The cafe sells cakes and coffee from a small roaster near the harbour.
Special orders cannot be returned for a refund unless the book is faulty."""


def test_a_summary_keeps_the_sentences_that_say_what_the_document_is_about_in_order():
    document = Document("Returns", "text", (Page(1, RETURNS), Page(2, REFUNDS)), "returns.txt")
    assert summarise(document) == Summary(
        title="Returns",
        pages=2,
        sentences=(
            "You can return any unread book within 30 days of delivery for a full refund of the"
            " price.",
            "A refund needs the receipt or the order number, and the book must be unread.",
            "Faulty books are refunded in full, and we pay the return postage for them.",
        ),
    )


def test_a_summary_does_not_say_the_same_thing_twice():
    refund = "Refunds are paid back to the card within five working days of the return."
    returns = "Returns need the receipt, and refunds need the book to be unread and returned."
    cat = "Our shop cat is called Biscuit and sleeps in the window most afternoons."
    document = Document("R", "text", (Page(1, " ".join([refund, refund, returns, cat])),), "")
    # After the first pick its words count for less (their probability is squared), so the
    # copy, and the sentence that repeats its words, lose to one that says something new.
    assert summarise(document, 2).sentences == (refund, cat)


def test_headings_and_list_items_are_not_picked_when_there_are_sentences():
    text = (
        "Delivery times and prices for every order\n"
        "- Standard delivery to the whole country costs three pounds ninety five\n"
        "Standard delivery costs £3.95 and arrives within two to four working days.\n"
        "Express delivery arrives the next working day when you order before two."
    )
    summary = summarise(Document("Delivery", "text", (Page(1, text),), ""), 1)
    assert summary.sentences == (
        "Standard delivery costs £3.95 and arrives within two to four working days.",
    )


def test_a_short_document_is_given_whole():
    document = Document("Note", "text", (Page(1, "Back at 3. Ring the bell."),), "note.txt")
    assert summarise(document) == Summary("Note", 1, ("Back at 3.", "Ring the bell."))


def test_an_empty_page_adds_nothing_but_counts_as_a_page():
    document = Document("Scan", "pdf", (Page(1, "One line."), Page(2, "")), "scan.pdf")
    assert summarise(document) == Summary("Scan", 2, ("One line.",))


def test_a_line_of_abbreviations_and_initials_is_split_in_linear_time(monkeypatch):
    # No full stop there ends a sentence, so the sentence so far grows to the whole line;
    # each full stop must look at its end only, not copy it again (quadratic: 10 MB of
    # "Dr. A. B. " took nine minutes). Count what the check is handed.
    handed = []
    check = sentences._ends_sentence

    def counting(before, *rest):
        handed.append(len(before))
        return check(before, *rest)

    monkeypatch.setattr(sentences, "_ends_sentence", counting)
    line = "Dr. A. B. " * 20_000
    assert split_sentences(line) == [line.strip()]
    assert len(handed) == 3 * 20_000 - 1  # the last full stop is followed by nothing
    assert max(handed) <= 40


def test_no_summary_sentence_is_longer_than_the_cap():
    word = "x" * 10_000_000
    document = Document("W", "text", (Page(1, f"Refunds are {word}. Ask us."),), "w.txt")
    cut = "Refunds are…"  # the word cut in two goes
    assert summarise(document) == Summary("W", 1, (cut, "Ask us."))
    long = " ".join(["refunds"] * 200) + "."
    [sentence] = summarise(Document("R", "text", (Page(1, long),), "r.txt")).sentences
    assert len(sentence) == SENTENCE_CHARS
    assert sentence == " ".join(["refunds"] * 50) + "…"  # 399 characters and the ellipsis
