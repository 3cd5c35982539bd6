"""Slot types: turn the words of a message into numbers, currency codes, URLs, e-mails and
custom entity values.

Every parser looks at the analysed terms from position `i` and returns the value and how
many terms it used, or None. Free text (`text`) is taken by position in a pattern instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from nlp.analysis import Term

MAX_WINDOW = 4  # words in the longest multi-word value ("united states dollars")

_NUMBER = re.compile(r"^\d+(?:[.,]\d+)*$")
_EMAIL = re.compile(r"^[\w.+-]+@[\w-]+(?:\.[\w-]+)+$")
NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50, "hundred": 100, "thousand": 1000, "dozen": 12,
}  # fmt: skip
_ISO = """USD EUR GBP JPY INR CNY CHF CAD AUD NZD BRL MXN ZAR SEK NOK DKK PLN TRY KRW SGD HKD
AED NGN KES RUB CZK HUF ILS THB IDR MYR PHP ARS CLP COP EGP SAR PKR BDT VND UAH RON BGN ISK"""
ISO_CODES = frozenset(_ISO.split())
CURRENCY_NAMES = {
    "$": "USD", "dollar": "USD", "dollars": "USD", "buck": "USD", "bucks": "USD",
    "us dollar": "USD", "us dollars": "USD", "usd": "USD",
    "€": "EUR", "euro": "EUR", "euros": "EUR",
    "£": "GBP", "pound": "GBP", "pounds": "GBP", "quid": "GBP", "sterling": "GBP",
    "british pound": "GBP", "british pounds": "GBP", "pound sterling": "GBP",
    "¥": "JPY", "yen": "JPY", "japanese yen": "JPY",
    "₹": "INR", "rupee": "INR", "rupees": "INR", "indian rupee": "INR", "indian rupees": "INR",
    "yuan": "CNY", "renminbi": "CNY", "rmb": "CNY", "franc": "CHF", "francs": "CHF",
    "swiss franc": "CHF", "swiss francs": "CHF", "canadian dollar": "CAD", "canadian dollars": "CAD",
    "australian dollar": "AUD", "australian dollars": "AUD", "real": "BRL", "reais": "BRL",
    "peso": "MXN", "pesos": "MXN", "rand": "ZAR", "won": "KRW", "naira": "NGN", "shilling": "KES",
    "shillings": "KES", "lira": "TRY", "zloty": "PLN", "dirham": "AED", "dirhams": "AED",
}  # fmt: skip


def parse_number(word: str) -> int | float | None:
    """`"20"` -> 20, `"20.5"` -> 20.5, `"1,000"` -> 1000, `"2,5"` -> 2.5, `"ten"` -> 10."""
    if word in NUMBER_WORDS:
        return NUMBER_WORDS[word]
    if not _NUMBER.match(word):
        return None
    if re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", word):
        word = word.replace(",", "")
    elif word.count(",") == 1 and "." not in word:
        word = word.replace(",", ".")
    elif word.count(".") > 1 or "," in word:
        return None
    value = float(word)
    return int(value) if value.is_integer() and "." not in word else value


def _window(terms: Sequence[Term], i: int, size: int) -> str:
    return " ".join(t.word for t in terms[i : i + size])


def _lookup(terms: Sequence[Term], i: int, table: Mapping[str, str]) -> tuple[str, int] | None:
    """The longest run of words from `i` found in `table`, as (value, words used)."""
    for size in range(min(MAX_WINDOW, len(terms) - i), 0, -1):
        value = table.get(_window(terms, i, size))
        if value is not None:
            return value, size
    return None


def parse_at(
    slot_type: str,
    terms: Sequence[Term],
    i: int,
    text: str,
    entities: Mapping[str, Mapping[str, str]],
) -> tuple[Any, int] | None:
    """The value of type `slot_type` that starts at term `i`, and how many terms it takes."""
    word = terms[i].word
    if slot_type == "number":
        value = parse_number(word)
        return None if value is None else (value, 1)
    if slot_type == "currency":
        if word.upper() in ISO_CODES and len(word) == 3:
            return word.upper(), 1
        return _lookup(terms, i, CURRENCY_NAMES)
    if slot_type == "url":
        raw = text[terms[i].start : terms[i].end]
        if word.startswith(("http://", "https://")):
            return raw, 1
        return (f"https://{raw}", 1) if word.startswith("www.") else None
    if slot_type == "email":
        return (text[terms[i].start : terms[i].end], 1) if _EMAIL.match(word) else None
    if slot_type in entities:
        return _lookup(terms, i, entities[slot_type])
    return None


def find_all(
    slot_type: str, terms: Sequence[Term], text: str, entities: Mapping[str, Mapping[str, str]]
) -> list[tuple[Any, int, int]]:
    """Every value of `slot_type` in the message, in order, as (value, first term, end term)."""
    found = []
    i = 0
    while i < len(terms):
        parsed = parse_at(slot_type, terms, i, text, entities)
        if parsed is None:
            i += 1
            continue
        value, used = parsed
        found.append((value, i, i + used))
        i += used
    return found


_LINK = re.compile(r"\bhttps?://[^\s<>\"']+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}»”’"


def find_link(text: str) -> str | None:
    """The first http(s) URL in `text`, without the punctuation that often follows one.

    A `]` that closes a `[` stays: it ends an IPv6 literal (`http://[::1]`).
    """
    found = _LINK.search(text)
    if found is None:
        return None
    link = found[0]
    opened, closed = link.count("["), link.count("]")
    end = len(link)
    while end and link[end - 1] in _TRAILING:
        if link[end - 1] == "]":
            if opened >= closed:
                break
            closed -= 1
        end -= 1
    return link[:end]
