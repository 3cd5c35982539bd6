"""The overview's numbers, from the kept history (`store.exchanges()`, the retention period's
worth), the delivery statuses, and this server's /metrics histogram for reply latency.

Users' messages are the exchanges of every channel but "operator". The fallback rate and the
top unmatched messages are those of `flask --app bot report` (a message with text that no
intent matched, grouped as `memory.commands` groups them, numbers masked). A handoff is an
exchange whose intent is the human intent ("human"): the request, or the "yes" that took an
offer.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from prometheus_client import REGISTRY, CollectorRegistry, multiprocess

from memory import Exchange
from memory.commands import normalise  # the report's grouping, shared

HUMAN_INTENT = "human"
OPERATOR = "operator"
HOURS = 24
DAYS = 14
TOP = 10
LATENCY_METRIC = "bot_message_seconds"
QUARTER = 900  # seconds


@dataclass
class Latency:
    """The median reply time this server measured since it started, or None."""

    median: float | None
    messages: int


@dataclass
class Figures:
    per_hour: list[tuple[str, int]] = field(default_factory=list)
    per_day: list[tuple[str, int]] = field(default_factory=list)
    intents: list[tuple[str, int]] = field(default_factory=list)
    messages: int = 0
    fallbacks: int = 0
    unmatched: list[tuple[str, int]] = field(default_factory=list)
    handoffs: int = 0
    handoffs_per_day: list[tuple[str, int]] = field(default_factory=list)
    operator_messages: int = 0

    @property
    def fallback_rate(self) -> float | None:
        return self.fallbacks / self.messages if self.messages else None


def figures(exchanges: Iterable[Exchange], now: float, zone: ZoneInfo) -> Figures:
    """Everything the overview counts, in one pass over the history."""
    hour_now = datetime.fromtimestamp(now, zone).replace(minute=0, second=0, microsecond=0)
    hours = [hour_now - timedelta(hours=n) for n in reversed(range(HOURS))]
    days = [hour_now.date() - timedelta(days=n) for n in reversed(range(DAYS))]
    # Counted by quarter of an hour first (every zone's offset is whole quarters), so a
    # datetime is made once per quarter rather than once per message.
    quarters: Counter[int] = Counter()
    handoff_quarters: Counter[int] = Counter()
    intents: Counter[str] = Counter()
    missed: Counter[str] = Counter()
    result = Figures()
    for exchange in exchanges:
        if exchange.channel == OPERATOR:
            result.operator_messages += exchange.intent == OPERATOR
            continue
        quarter = int(exchange.at // QUARTER)
        quarters[quarter] += 1
        result.messages += 1
        intents[exchange.intent or "fallback"] += 1
        if exchange.intent is None and exchange.text.strip():
            result.fallbacks += 1
            missed[normalise(exchange.text)] += 1
        if exchange.intent == HUMAN_INTENT:
            result.handoffs += 1
            handoff_quarters[quarter] += 1
    per_hour: Counter[datetime] = Counter()
    per_day: Counter[date] = Counter()
    for quarter, count in quarters.items():
        when = datetime.fromtimestamp(quarter * QUARTER, zone)
        per_hour[when.replace(minute=0, second=0, microsecond=0)] += count
        per_day[when.date()] += count
    handoffs_per_day: Counter[date] = Counter()
    for quarter, count in handoff_quarters.items():
        handoffs_per_day[datetime.fromtimestamp(quarter * QUARTER, zone).date()] += count
    result.per_hour = [(hour.strftime("%H:00"), per_hour[hour]) for hour in hours]
    result.per_day = [(day.strftime("%a %d"), per_day[day]) for day in days]
    result.handoffs_per_day = [(day.strftime("%a %d"), handoffs_per_day[day]) for day in days]
    result.intents = intents.most_common(TOP)
    result.unmatched = missed.most_common(TOP)
    return result


def latency() -> Latency:
    """The median of /metrics' reply-time histogram (every channel), interpolated within its
    bucket as Prometheus' histogram_quantile does. Under gunicorn, every worker's numbers
    on this host (prometheus-client's multiprocess files); elsewhere, this process's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    buckets: Counter[float] = Counter()
    for metric in registry.collect():
        if metric.name != LATENCY_METRIC:
            continue
        for sample in metric.samples:
            if sample.name == f"{LATENCY_METRIC}_bucket":
                buckets[float(sample.labels["le"])] += sample.value
    return median_of(sorted(buckets.items()))


def median_of(cumulative: list[tuple[float, float]]) -> Latency:
    """The median from cumulative histogram buckets (upper bound, count up to it)."""
    total = int(cumulative[-1][1]) if cumulative else 0
    if not total:
        return Latency(None, 0)
    half = total / 2
    lower, below = 0.0, 0.0
    for bound, count in cumulative:
        if count >= half:
            if math.isinf(bound):
                return Latency(lower, total)  # beyond the last bucket: its lower edge
            share = (half - below) / (count - below) if count > below else 0.0
            return Latency(lower + (bound - lower) * share, total)
        lower, below = bound, count
    return Latency(lower, total)  # pragma: no cover -- the +Inf bucket holds every count
