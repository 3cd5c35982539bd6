"""How long the operator console's list takes with 10,000 conversations stored.

Fills a store with CONVERSATIONS users (each with one exchange; WAITING of them handed to a
person), signs an operator in, and times GET /console (the list page), GET
/console/conversations.json, one user's history page and the overview (which reads every
exchange kept) through Flask's test client: the
app's own cost and the store's, no HTTP. Median and slowest of ROUNDS requests each, for a
SQLite file and for Redis (a redis-server of the bench's own on a free loopback port, left
out when there is none; BOT_BENCH_REDIS_URL names another, whose database it EMPTIES).
Prints JSON and writes bench/out/console_page.json (untracked).

    .venv/bin/python bench/console_page.py
"""

from __future__ import annotations

import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from werkzeug.security import generate_password_hash

from bench.redis_db import bench_redis
from bot import create_app
from console.refs import ref_for
from conversation import ConversationState, Reply
from memory import Exchange, Store, shown_url

CONVERSATIONS = 10_000
WAITING = 50  # of them with a person
ROUNDS = 10
PASSWORD = "bench password, not a secret"  # noqa: S105
RESULTS = Path(__file__).resolve().parent / "out"


def fill(store: Store, now: float) -> None:
    """CONVERSATIONS users, one exchange each a second apart; the first WAITING with a person."""
    for number in range(CONVERSATIONS):
        sender = f"whatsapp:+1555{number:07d}"
        at = now - CONVERSATIONS + number
        person = number < WAITING
        state = ConversationState(
            last_intent="greet",
            turns=1,
            human_since=at if person else 0.0,
            human_seen=at if person else 0.0,
            recipient="whatsapp:+14155238886",
        )
        exchange = Exchange(
            f"SM{number:032d}", at, "whatsapp", f"hello number {number}", "greet", 0.9,
            (Reply("Hi there! 👋"),),
        )  # fmt: skip
        with store.turn(sender, exchange.message_id) as turn:
            turn.keep(state, exchange)


def timed(client, path: str) -> dict[str, float]:
    seconds = []
    size = 0
    for _ in range(ROUNDS):
        started = time.perf_counter()
        response = client.get(path)
        seconds.append(time.perf_counter() - started)
        assert response.status_code == 200, (path, response.status_code)
        size = len(response.data)
    return {
        "median_ms": round(statistics.median(seconds) * 1000, 1),
        "max_ms": round(max(seconds) * 1000, 1),
        "bytes": size,
    }


def measure(store_url: str) -> dict[str, object]:
    operators = f"ana={generate_password_hash(PASSWORD)}"
    app = create_app(
        {"BOT_STORE_URL": store_url, "BOT_OPERATORS": operators, "SECRET_KEY": "bench-key"}
    )
    app.extensions["bot.console"].sweeper.stop()
    store = app.extensions["bot.answering"].pipeline.store
    started = time.perf_counter()
    fill(store, time.time())
    filled = time.perf_counter() - started
    client = app.test_client()
    page = client.get("/console/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)[1]
    signed = client.post("/console/login", data={"name": "ana", "password": PASSWORD, "csrf": csrf})
    assert signed.status_code == 303, signed.status_code
    listed = client.get("/console").text
    assert listed.count('class="row') == 200, "the list shows 200 conversations"
    return {
        "store": shown_url(store_url),
        "conversations": CONVERSATIONS,
        "fill_seconds": round(filled, 1),
        "GET /console": timed(client, "/console"),
        "GET /console/conversations.json": timed(client, "/console/conversations.json"),
        "GET /console/c/<ref>": timed(client, f"/console/c/{ref_for('whatsapp:+15550000001')}"),
        "GET /console/overview": timed(client, "/console/overview"),
    }


def main() -> None:
    results = []
    with tempfile.TemporaryDirectory(prefix="bot-console-bench-") as folder:
        results.append(measure(f"sqlite:///{folder}/bot.db"))
    with bench_redis("bench/console_page.py") as url:
        if url is not None:
            results.append(measure(url))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "console_page.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
