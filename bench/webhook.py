"""Measure one message's cost in-process: the engine alone, and the whole signed webhook.

Prints JSON: median and p99 in microseconds for each, over distinct signed requests
(fresh MessageSid each) through Flask's test client. No network: this is the app's own cost.
Run with `make bench`.
"""

from __future__ import annotations

import itertools
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from twilio.request_validator import RequestValidator

from bot import create_app
from engine import ConversationState, Message

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


def bench_webhook(app, rounds: int) -> dict[str, float]:
    client = app.test_client()
    validator = RequestValidator(TOKEN)
    samples = []
    for i, text in enumerate(itertools.islice(itertools.cycle(TEXTS), rounds)):
        form = {
            "MessageSid": f"SM{i:032d}",
            "From": "whatsapp:+15550001111",
            "Body": text,
            "NumMedia": "0",
        }
        headers = {"X-Twilio-Signature": validator.compute_signature("http://localhost/bot", form)}
        start = time.perf_counter()
        response = client.post("/bot", data=form, headers=headers)
        samples.append(time.perf_counter() - start)
        assert response.status_code == 200, response.status_code
    return percentiles(samples)


def main() -> None:
    app = create_app({"TWILIO_AUTH_TOKEN": TOKEN, "BOT_LOG_LEVEL": "WARNING"})
    engine = app.extensions["bot.pipeline"].engine
    bench_engine(engine, 2000)  # warm caches
    result = {
        "engine_respond": bench_engine(engine, 20_000),
        "webhook_in_process": bench_webhook(app, 5_000),
        "python": sys.version.split()[0],
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
