"""Frankfurter: exchange rates from the European Central Bank, `{"rates": {...}}`. A pair's
rate is cached for a few minutes, since the bank publishes once a day."""

from __future__ import annotations

from dataclasses import dataclass

from skills.cache import TTLCache
from skills.http import Upstream, wrong_shape

RATE_TTL = 300.0


@dataclass(frozen=True)
class Rate:
    source: str
    target: str
    rate: float
    date: str


class RatesClient:
    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream
        self._rates = TTLCache(size=256, ttl=RATE_TTL)

    def rate(self, source: str, target: str) -> Rate:
        if source == target:
            return Rate(source, target, 1.0, "")
        cached = self._rates.get((source, target))
        if cached is not None:
            return cached
        data = self.upstream.get_json("/latest", {"amount": 1, "from": source, "to": target})
        rates = data.get("rates") if isinstance(data, dict) else None
        value = rates.get(target) if isinstance(rates, dict) else None
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise wrong_shape("currency", f"no positive rate for {target}")
        rate = Rate(source, target, float(value), str(data.get("date") or ""))
        self._rates.put((source, target), rate)
        return rate
