"""Slot types: numbers, currencies, URLs, e-mails and custom entities from analysed terms."""

from __future__ import annotations

import pytest

from engine.slots import find_all, parse_number
from nlp.analysis import Analyzer

ANALYZER = Analyzer([])
ENTITIES = {"colour": {"red": "red", "crimson": "red", "sky blue": "blue", "blue": "blue"}}


def values(slot_type: str, text: str) -> list:
    return [v for v, _, _ in find_all(slot_type, ANALYZER.analyze(text), text, ENTITIES)]


@pytest.mark.parametrize(
    ("word", "number"),
    [("20", 20), ("20.5", 20.5), ("1,000", 1000), ("1,000,000.25", 1000000.25), ("2,5", 2.5),
     ("ten", 10), ("dozen", 12), ("1.2.3", None), ("abc", None)],
)  # fmt: skip
def test_numbers(word, number):
    assert parse_number(word) == number


def test_numbers_in_text():
    assert values("number", "send 3 cats and 2,5 dogs, twenty times") == [3, 2.5, 20]


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("20 gbp to usd", ["GBP", "USD"]),
        ("30 pounds in euros", ["GBP", "EUR"]),
        ("$ € £ ¥ ₹", ["USD", "EUR", "GBP", "JPY", "INR"]),
        ("us dollars to swiss francs", ["USD", "CHF"]),
        ("rupees and yen and quid", ["INR", "JPY", "GBP"]),
        ("Chf to sek", ["CHF", "SEK"]),
        ("the cat sat", []),
    ],
)
def test_currencies(text, codes):
    assert values("currency", text) == codes


def test_urls_keep_their_case_and_www_gets_https():
    assert values("url", "see https://Example.com/A?b=1, and www.bbc.co.uk/News.") == [
        "https://Example.com/A?b=1",
        "https://www.bbc.co.uk/News",
    ]


def test_emails():
    assert values("email", "mail Ana.B+bot@Example.org or x@y") == ["Ana.B+bot@Example.org"]


def test_custom_entities_prefer_the_longest_synonym():
    assert values("colour", "sky blue or crimson or green") == ["blue", "red"]
