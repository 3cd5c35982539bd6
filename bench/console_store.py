"""How fast the store answers the operator console with 10,000 conversations kept.

Fills a store through the same turns the pipeline makes: CONVERSATIONS senders, EXCHANGES
exchanges each, one in a hundred handed to a person, and DELIVERIES delivery statuses per
sender (queued, then delivered). Then times, as a median over RUNS calls: the console's list
(`conversations(200)`), one user's deliveries (`deliveries(sender)`, a different sender each
call) and the overview's counts (`delivery_counts(a day ago)`); and the cost of recording one
status (`record_delivery`). Prints a table and writes bench/out/console_store.json
(untracked).

Stores: a SQLite file in a temporary folder, and Redis: a redis-server of the bench's own
on a free loopback port, stopped afterwards (no Redis row when there is no redis-server), or
the one BOT_BENCH_REDIS_URL names, such as redis://127.0.0.1:6379/14, whose database the
bench EMPTIES before and after.

    .venv/bin/python bench/console_store.py
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from bench.redis_db import bench_redis
from conversation import ConversationState, Reply
from memory import Exchange, RedisStore, SqliteStore, Store

RESULTS = Path(__file__).resolve().parent / "out"  # untracked
CONVERSATIONS = 10_000
EXCHANGES = 3
WITH_PERSON = 100  # one in a hundred
DELIVERIES = 2
RUNS = 20
LISTED = 200
HOUR = 3600.0


def fill(store: Store, now: float, conversations: int) -> float:
    """Keep `conversations` conversations, oldest first; the seconds it took."""
    started = time.perf_counter()
    every = max(1, conversations // WITH_PERSON)
    for n in range(conversations):
        sender = f"whatsapp:+1555{n:07d}"
        at = now - (conversations - n)  # a second apart, the last one now
        since = at - HOUR if n % every == 0 else 0.0
        for k in range(EXCHANGES):
            message_id = f"SM{n:07d}{k}"
            with store.turn(sender, message_id, optimistic=True) as turn:
                turn.count_message()
                state = ConversationState(last_intent="greet", turns=k + 1, human_since=since)
                text = f"message {k} from customer {n}"
                exchange = Exchange(message_id, at - EXCHANGES + k + 1, "whatsapp", text,
                                    "greet", 0.9, (Reply("Hello! How can I help?"),))  # fmt: skip
                turn.keep(state, exchange)
        for k in range(DELIVERIES):
            sid = f"SMout{n:07d}{k}"
            store.record_delivery(sid, "queued", about=f"SM{n:07d}{k}", sender=sender, at=at)
            store.record_delivery(sid, "delivered", at=at + 2)
    return time.perf_counter() - started


def timed(call: Callable[[int], object], runs: int) -> dict[str, float]:
    """Median and slowest of `runs` calls, in milliseconds (after one warm-up call)."""
    call(-1)
    samples = []
    for n in range(runs):
        started = time.perf_counter()
        call(n)
        samples.append(time.perf_counter() - started)
    return {
        "median_ms": round(statistics.median(samples) * 1000, 3),
        "max_ms": round(max(samples) * 1000, 3),
        "runs": runs,
    }


def measure(store: Store, conversations: int, runs: int) -> dict:
    now = time.time()
    result: dict = {"fill_s": round(fill(store, now, conversations), 1)}
    listed = store.conversations(LISTED)
    people = sum(c.with_person for c in listed)
    assert len(listed) == min(LISTED, conversations), len(listed)
    assert people == min(WITH_PERSON, conversations), people
    result["conversations_200"] = timed(lambda n: store.conversations(LISTED), runs)
    result["deliveries_of_one_sender"] = timed(
        lambda n: store.deliveries(f"whatsapp:+1555{n * 499 % conversations:07d}"), runs
    )
    result["delivery_counts_last_day"] = timed(
        lambda n: store.delivery_counts(now - 24 * HOUR), runs
    )
    result["record_delivery"] = timed(
        lambda n: store.record_delivery(f"SMbench{n}", "sent", sender="whatsapp:+15550000000"),
        runs,
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=CONVERSATIONS)
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--out", type=Path, default=RESULTS / "console_store.json")
    args = parser.parse_args()
    results: dict = {
        "python": sys.version.split()[0],
        "conversations": args.conversations,
        "exchanges_each": EXCHANGES,
        "with_person": min(WITH_PERSON, args.conversations),
        "deliveries_each": DELIVERIES,
    }
    with (
        tempfile.TemporaryDirectory(prefix="bench-console-") as folder,
        bench_redis("bench/console_store.py") as url,
    ):
        store: Store = SqliteStore(Path(folder) / "bench.db", retention_days=30)
        results["sqlite"] = measure(store, args.conversations, args.runs)
        store.close()
        if url:
            store = RedisStore(url, retention_days=30)
            results["redis"] = measure(store, args.conversations, args.runs)
            store.close()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"{args.conversations} conversations ({EXCHANGES} exchanges and {DELIVERIES} "
          f"deliveries each, {results['with_person']} with a person); ms, median of {args.runs}")  # fmt: skip
    print(f"{'store':<8}{'fill s':>8}{'list 200':>10}{'deliveries':>12}{'counts':>9}{'record':>9}")
    for name in ("sqlite", "redis"):
        if name in results:
            row = results[name]
            print(f"{name:<8}{row['fill_s']:>8}{row['conversations_200']['median_ms']:>10}"
                  f"{row['deliveries_of_one_sender']['median_ms']:>12}"
                  f"{row['delivery_counts_last_day']['median_ms']:>9}"
                  f"{row['record_delivery']['median_ms']:>9}")  # fmt: skip


if __name__ == "__main__":
    main()
