"""The place index as a worker holds it: names (keys) -> ranked candidate places, and the
places' fields, in a few flat arrays read straight from the index file."""

from __future__ import annotations

import zlib
from array import array
from bisect import bisect_left
from collections.abc import Sequence
from typing import Any

from nlp.places.model import CITY, COUNTRY, KINDS, Place


class Index:
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
