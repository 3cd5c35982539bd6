"""BM25 over passages: the scores are Okapi BM25's, coverage says how much of the question a
passage matches, and questions are read the way customers type them."""

from __future__ import annotations

import math

import pytest

from documents.bm25 import K1, B, Hit, Index
from documents.model import Passage
from documents.terms import terms, words


def passage(text: str, heading: str = "", title: str = "") -> Passage:
    return Passage(title, "kb.md", 1, text, heading)


CORPUS = [
    passage("Refunds are paid within five days."),
    passage("Delivery is free on orders over thirty pounds."),
    passage("Refunds for delivery charges take longer."),
]


def okapi(query: list[str], documents: list[list[str]]) -> list[float]:
    """BM25 written out from its definition, to check the index against."""
    average = sum(map(len, documents)) / len(documents)
    scores = []
    for document in documents:
        score = 0.0
        for term in query:
            n = sum(term in other for other in documents)
            idf = math.log(1 + (len(documents) - n + 0.5) / (n + 0.5))
            tf = document.count(term)
            score += idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * len(document) / average))
        scores.append(score)
    return scores


def test_the_scores_are_okapi_bm25_best_first():
    index = Index(CORPUS)
    expected = okapi(["refund", "deliveri"], [terms(p.text) for p in CORPUS])
    hits = index.search("refunds delivery", k=3)
    assert [hit.passage for hit in hits] == [CORPUS[2], CORPUS[0], CORPUS[1]]
    assert [hit.score for hit in hits] == pytest.approx([expected[2], expected[0], expected[1]])


def test_coverage_is_the_share_of_the_questions_weight_a_passage_matches():
    index = Index(CORPUS)
    refund, delivery = index.idf["refund"], index.idf["deliveri"]
    hits = {hit.passage.text: hit.coverage for hit in index.search("refunds delivery", k=3)}
    assert hits[CORPUS[2].text] == pytest.approx(1.0)
    assert hits[CORPUS[0].text] == pytest.approx(refund / (refund + delivery))


def test_a_word_no_passage_has_weighs_as_much_as_the_rarest_word_can():
    index = Index(CORPUS)
    unseen = math.log(1 + (3 + 0.5) / 0.5)
    [hit] = index.search("refund bicycle", k=1)
    assert hit.passage == CORPUS[0]
    assert hit.coverage == pytest.approx(index.idf["refund"] / (index.idf["refund"] + unseen))


def test_stop_words_punctuation_emoji_and_word_forms_do_not_matter():
    index = Index(CORPUS)
    assert index.search("What about the REFUNDED?? 💸", k=3) == index.search("refund", k=3)
    assert words("I'm getting the refunds, aren't I? 💸") == ["refunds"]


def test_a_question_of_stop_words_only_or_an_empty_index_finds_nothing():
    assert Index(CORPUS).search("how do i do it?") == []
    assert Index([]).search("refund") == []


def test_k_limits_the_hits_and_ties_keep_the_passages_order():
    twins = [passage("Gift cards never expire."), passage("Gift cards never expire.")]
    hits = Index(twins).search("gift card", k=1)
    assert hits == [Hit(twins[0], hits[0].score, 1.0)]


def test_a_typo_in_a_long_word_is_corrected_to_the_passages_word():
    [hit] = Index(CORPUS).search("delivry", k=1)
    assert hit.passage == CORPUS[1]
    assert hit.coverage == 1.0


def test_a_short_word_is_not_corrected_into_another_word():
    index = Index([passage("Please sign the form at the counter.")])
    assert index.search("sign") != []
    assert index.search("sing") == []


def test_a_shortened_word_stands_for_the_words_it_begins():
    index = Index([passage("We never sell your information."), passage("Opening times.")])
    [hit] = index.search("do you sell my info", k=1)
    assert hit.passage.text == "We never sell your information."
    assert hit.coverage == 1.0


def test_a_shortening_of_too_many_words_stands_for_none():
    text = "Paperback, paperwork, paperweight and papering are all here."
    assert Index([passage(text)]).search("pape") == []


def test_a_hyphenated_word_is_found_joined_or_apart():
    index = Index([passage("You can pre-order a book before it comes out.")])
    assert index.search("preorder")[0].coverage == 1.0
    assert index.search("pre order")[0].coverage == 1.0


def test_a_heading_counts_more_than_the_same_word_in_the_text():
    under_heading = passage("We pay you back within days.", heading="Refunds")
    in_text = passage("Refunds: we pay you back within days.")
    hits = Index([in_text, under_heading]).search("refunds", k=2)
    assert [hit.passage for hit in hits] == [under_heading, in_text]


def test_the_title_is_searched_too():
    index = Index([passage("Open 9 to 5.", title="Opening hours"), passage("Bring a receipt.")])
    assert index.search("hours")[0].passage.title == "Opening hours"


def test_a_time_of_day_is_found_in_either_clock():
    index = Index([passage("Thursday: 9:00 to 20:00."), passage("Sunday: 11:00 to 17:00.")])
    for question in ("open at 8pm?", "open till 8 p.m.", "8.00PM", "is it open at 20:00"):
        assert index.search(question)[0].passage.text == "Thursday: 9:00 to 20:00.", question
    assert words("noon, midday, 12am, 12:30pm, 0:15") == ["h12", "h12", "h0", "h12", "h0"]
    # Not times: they stay numbers.
    assert words("13pm 25:00") == ["13", "pm", "25", "00"]


def test_a_number_month_or_weekday_the_passages_never_name_weighs_nothing():
    index = Index([passage("You can pre-order a new book up to 6 months before it comes out.")])
    [hit] = index.search("can i preorder a book that comes out in october", k=1)
    assert hit.coverage == 1.0
    assert index.search("preorder on 14 june")[0].coverage == 1.0
    # Named, they count like any word.
    dated = Index([passage("Closed on Sunday."), passage("Open on Monday.")])
    assert dated.search("sunday")[0].passage.text == "Closed on Sunday."


def test_a_place_stands_for_its_country_where_the_passages_name_it_else_its_continent():
    uk = passage("Standard delivery: £3.95.", heading="UK mainland")
    europe = passage("We ship to EU countries for £9.95.", heading="Europe")
    index = Index([uk, europe, passage("Returns within 30 days.")])
    assert index.search("delivery to glasgow")[0].passage == uk
    assert index.search("delivery to london")[0].coverage == 1.0
    for question in ("can you ship to lyon", "how much to ship to france", "shipping to Madrid"):
        [hit] = index.search(question, k=1)
        assert (hit.passage, hit.coverage) == (europe, 1.0), question
    # A place on a continent the passages never name is a word they do not have.
    [hit] = index.search("shipping to japan", k=1)
    assert hit.coverage < 0.6


def test_a_synonym_set_counts_as_one_term_that_any_of_its_words_is():
    corpus = [
        passage("Delivery costs £3.95; delivery is free over £30."),
        passage("Return postage is paid by you."),
        passage("Opening hours."),
    ]
    synonyms = {word: frozenset({"deliveri", "postag"}) for word in ("deliveri", "postag")}
    index = Index(corpus, synonyms=synonyms)
    # Okapi BM25 with both words read as one: frequencies added, n the passages with either.
    documents = [
        ["deliv" if t in ("deliveri", "postag") else t for t in terms(p.text)] for p in corpus
    ]
    expected = okapi(["deliv"], documents)
    hits = index.search("postage?", k=3)
    assert [hit.passage for hit in hits] == corpus[:2]
    assert [hit.score for hit in hits] == pytest.approx(expected[:2])
    assert [hit.coverage for hit in hits] == [1.0, 1.0]
    assert Index(corpus).search("postage?", k=1)[0].passage == corpus[1]  # without the table


def test_the_words_a_question_is_asked_with_are_not_its_topic():
    index = Index([passage("Tickets take 2 days to arrive."), passage("Story time is at 10:30.")])
    assert index.reader.read("how long does it take to arrive") == [("arriv",)]
    assert index.reader.read("what time is story time") == [("stori",), ("time",)]
    assert index.reader.read("my mum wants tickets") == [("ticket",)]
