"""One message as the place matcher walks it: its tokens, the gaps between them, and which of a
name's places count as the name is written there. Capitals matter: "US" is the country and
"us" a pronoun, "TX" is Texas after "in" or "for", "NZ" only as a qualifier ("Perth, NZ"),
and in a message all in capitals they say nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import NamedTuple

from nlp.places.index import Index
from nlp.places.model import (
    ALIAS,
    ALTERNATE,
    CAPS,
    CODE,
    COMMON,
    MAX_WORDS,
    NAME,
    QUALIFIER,
    RESTRICTED,
    WORD,
)
from nlp.text import Token

NAME_GAP = re.compile(r"[\s.'’\-‐–]{0,3}")  # between the words of one name: "St. Louis"
QUALIFIER_GAP = re.compile(r"\s*,?\s*")  # "Portland, Maine", "Paris Texas"
TYPO_CONTEXT = frozenset({"in", "at", "near", "for", "to", "from", "around"})
# Where each way of naming a place counts (see `model.NAME`...), as masks of those codes.
ANYWHERE = 1 << NAME | 1 << ALTERNATE | 1 << ALIAS
ALONE = ANYWHERE | 1 << CAPS | 1 << CODE
ANY = ALONE | 1 << QUALIFIER


class Scan(NamedTuple):
    """One message as the matcher walks it."""

    text: str
    toks: tuple[Token, ...]
    words: list[str]
    shouting: bool  # all in capitals ("WEATHER IN TEXAS", not "NYC"): capitals say nothing
    whole: bool  # the text is meant to be one place name (`lookup`)


def gap(scan: Scan, j: int) -> str:
    """The text between token `j - 1` and token `j`."""
    return scan.text[scan.toks[j - 1].end : scan.toks[j].start]


def windows(scan: Scan, i: int, size: int = MAX_WORDS) -> Iterator[tuple[int, str]]:
    """(last token, key) for the names of 1, 2, ... `size` words that could start at `i`."""
    key = scan.words[i]
    yield i, key
    for j in range(i + 1, min(i + size, len(scan.toks))):
        if not NAME_GAP.fullmatch(gap(scan, j)):
            return
        key = f"{key} {scan.words[j]}"
        yield j, key


def counts(index: Index, scan: Scan, key: int, start: int, end: int) -> bool:
    """Whether `key` names a place as it is written here."""
    if index.key_flags[key] & RESTRICTED:
        return bool(allowed(index, scan, key, start, end))
    return index.cand_off[key + 1] > index.cand_off[key]


def allowed(index: Index, scan: Scan, key: int, start: int, end: int) -> Sequence[int]:
    """The packed candidates of `key` that count as it is written here (see `CODE`)."""
    if not index.key_flags[key] & RESTRICTED:
        return index.candidates(key)
    mask = ALONE if scan.whole else ANYWHERE
    written = scan.text[scan.toks[start].start : scan.toks[end - 1].end]
    if not scan.whole and written.isupper() and not scan.shouting:
        mask |= 1 << CAPS
        if start > 0 and scan.words[start - 1] in TYPO_CONTEXT:
            mask |= 1 << CODE
    return [c for c in index.candidates(key) if mask >> (c & 7) & 1]


def stays_common(index: Index, scan: Scan, key: int, start: int, end: int, how: int) -> bool:
    """Everyday words stay common; other short names do not when written in capitals
    ("LA" but not "la"), nor do codes, which count only in capitals anyway."""
    flags = index.key_flags[key]
    if not flags & COMMON or how in (CAPS, CODE):
        return False
    written = scan.text[scan.toks[start].start : scan.toks[end - 1].end]
    return bool(flags & WORD) or not written.isupper() or scan.shouting
