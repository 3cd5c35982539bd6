"""What the gazetteer hands out (`Place`, `Mention`, `PlacesError`) and the small codes that the
index builder and the matcher share: kinds of place, how a name reaches a place, key flags.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MAX_WORDS = 5  # words in the longest name looked for ("bosnia and herzegovina")

KINDS = ("city", "admin", "country")
CITY, ADMIN, COUNTRY = range(3)
# How a name reaches a place, kept in the three low bits of each candidate, and where it
# counts: NAME, ALTERNATE and ALIAS anywhere; CAPS ("US") written in capitals; CODE (a US
# state: "TX") in capitals after "in", "for"... or as a qualifier; QUALIFIER (an ISO
# country code: "NZ") only as a qualifier.
NAME, ALTERNATE, ALIAS, CAPS, CODE, QUALIFIER = range(6)
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
