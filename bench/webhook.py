"""Measure one message's cost in-process: the engine alone, and the whole signed webhook
with each store (memory, a SQLite file, Redis).

Prints JSON: median and p99 in microseconds for each, over distinct signed requests
(fresh MessageSid each) through Flask's test client. No HTTP: this is the app's own cost,
plus the store's. Also, per message: the Python function calls the pipeline makes for
"hello" and for "convert 20 gbp to usd" (an action that may wait), and, with Redis, the
commands Redis ran (`INFO commandstats`, script bodies included), the round trips the bot
made and the Redis CPU it cost. Run with `make bench`.

Redis: a redis-server of the bench's own on a free loopback port, stopped afterwards (the
Redis rows are left out when there is no redis-server). BOT_BENCH_REDIS_URL names another
one instead, such as redis://127.0.0.1:6379/14: the bench EMPTIES that database before and
after, and resets that server's command statistics (CONFIG RESETSTAT).
"""

from __future__ import annotations

import cProfile
import itertools
import json
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis
from twilio.request_validator import RequestValidator

from bench.redis_db import bench_redis
from bot import create_app
from engine import ConversationState, Message
from pipeline import Pipeline

TOKEN = "bench-token"  # noqa: S105 -- a throwaway token for signing bench requests
TEXTS = ["hi", "what can you do", "thanks a lot!", "bye 👋", "book me a taxi", "HELLO there"]


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_us": round(statistics.median(ordered) * 1e6, 1),
        "p99_us": round(ordered[int(len(ordered) * 0.99) - 1] * 1e6, 1),
        "n": len(ordered),
    }


def bench_engine(engine, rounds: int) -> dict[str, float]:
    samples = []
    state = ConversationState()
    for text in itertools.islice(itertools.cycle(TEXTS), rounds):
        message = Message(channel="bench", sender="u", body=text)
        start = time.perf_counter()
        state = engine.respond(state, message).state
        samples.append(time.perf_counter() - start)
    return percentiles(samples)


def bench_webhook(app, rounds: int, first: int = 0) -> dict[str, float]:
    client = app.test_client()
    validator = RequestValidator(TOKEN)
    samples = []
    for i, text in enumerate(itertools.islice(itertools.cycle(TEXTS), rounds), start=first):
        form = {
            "MessageSid": f"SM{i:032d}",
            "From": f"whatsapp:+1555{i // 10:07d}",  # ten messages a sender: under the rate limit
            "To": "whatsapp:+14155238886",
            "Body": text,
            "NumMedia": "0",
        }
        headers = {"X-Twilio-Signature": validator.compute_signature("http://localhost/bot", form)}
        start = time.perf_counter()
        response = client.post("/bot", data=form, headers=headers)
        samples.append(time.perf_counter() - start)
        assert response.status_code == 200, response.status_code
    return percentiles(samples)


def function_calls(pipeline: Pipeline, text: str) -> int:
    """Function calls for one message through the pipeline (with a reply budget, as the
    webhook runs it), caches warm: the median of five."""
    counts = []
    for n in range(6):
        message = Message("bench", "whatsapp:+15550002222", body=text, message_id=f"SMc{n}{text}")
        profile = cProfile.Profile()
        profile.enable()
        pipeline.handle(message, budget=10.0)
        profile.disable()
        if n:  # the first warms the caches
            counts.append(pstats.Stats(profile).total_calls)
    return int(statistics.median(counts))


def redis_cost(app, url: str, rounds: int) -> dict[str, float]:
    """Commands, round trips and Redis CPU per message over `rounds` webhook messages."""
    client = redis.Redis.from_url(url)
    sent = [0]
    send = redis.connection.Connection.send_packed_command

    def counting(self, command, check_health=True):
        sent[0] += 1
        return send(self, command, check_health)

    def totals() -> tuple[int, int]:
        stats = client.info("commandstats")
        return (
            sum(v["calls"] for v in stats.values()),
            sum(v["usec"] for v in stats.values()),
        )

    bench_webhook(app, 50)  # scripts loaded, connections open
    client.config_resetstat()
    redis.connection.Connection.send_packed_command = counting
    try:
        bench_webhook(app, rounds, first=10_000)
    finally:
        redis.connection.Connection.send_packed_command = send
    calls, usec = totals()
    client.close()
    return {
        "commands_per_message": round(calls / rounds, 2),
        "round_trips_per_message": round(sent[0] / rounds, 2),
        "redis_cpu_us_per_message": round(usec / rounds, 1),
        "n": rounds,
    }


def app_with(store_url: str):
    settings = {"TWILIO_AUTH_TOKEN": TOKEN, "BOT_LOG_LEVEL": "WARNING", "BOT_STORE_URL": store_url}
    settings["BOT_OFFLINE"] = "true"  # these messages need no upstream; never touch the network
    return create_app(settings)


def main() -> None:
    engine = app_with("memory://").extensions["bot.answering"].pipeline.engine
    bench_engine(engine, 2000)  # warm caches
    result = {"engine_respond": bench_engine(engine, 20_000)}
    with tempfile.TemporaryDirectory() as folder, bench_redis("bench/webhook.py") as redis_url:
        stores = {"memory": "memory://", "sqlite": f"sqlite:///{folder}/bench.db"}
        if redis_url:
            stores["redis"] = redis_url
        for name, url in stores.items():
            app = app_with(url)
            result[f"webhook_in_process_{name}"] = bench_webhook(app, 5_000)
            if name == "sqlite":
                pipeline = app.extensions["bot.answering"].pipeline
                result["function_calls"] = {
                    text: function_calls(pipeline, text)
                    for text in ("hello", "convert 20 gbp to usd")
                }
            if name == "redis":
                result["redis_per_message"] = redis_cost(app_with(url), url, 2_000)
        if "redis" in stores:
            ratio = (
                result["webhook_in_process_redis"]["median_us"]
                / result["webhook_in_process_sqlite"]["median_us"]
            )
            result["redis_over_sqlite_median"] = round(ratio, 2)
    result["python"] = sys.version.split()[0]
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
