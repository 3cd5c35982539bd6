"""Understand latency (preprocess + match + slots) and rule load time, at growing rule sets.

Generated rule sets have N intents, each with its own invented topic words (which may
collide between intents), eight examples in the way people type, keywords and a slot
pattern, all sharing common words ("show me", "i want", "tell me about"); the messages mix
exact examples, typos, slot patterns and misses. Every message is distinct, so no cache answers for free.
Prints JSON, then a short table. Run with `make bench`.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import ruletools
from engine import Engine
from rules import DEMO_RULES

SYLLABLES = [
    "ba",
    "be",
    "bi",
    "bo",
    "bu",
    "ka",
    "ke",
    "ki",
    "ko",
    "ku",
    "la",
    "le",
    "li",
    "lo",
    "lu",
    "ma",
    "me",
    "mi",
    "mo",
    "mu",
    "na",
    "ne",
    "ni",
    "no",
    "nu",
    "ra",
    "re",
    "ri",
    "ro",
    "ru",
    "sa",
    "se",
    "si",
    "so",
    "su",
    "ta",
    "te",
    "ti",
    "to",
    "tu",
    "va",
    "ve",
    "vi",
    "vo",
    "vu",
    "za",
    "ze",
    "zi",
    "zo",
    "zu",
]
FRAMES = ["{a}", "{a} {b}", "show me {a}", "i want {a} {b} pls", "{a} please", "whats the {a}",
          "can u {a} the {b}", "tell me about {a} {c}"]  # fmt: skip
DEMO_MESSAGES = ["hi", "qoutes!!", "need some inspiration", "weather in paris", "wheather",
                 "convert 20 gbp to usd", "how much is 30 pounds in euros", "book me a taxi",
                 "who is Ada Lovelace?", "show me a doggo pic", "what can you do", "pay my brother back",
                 "joek", "whats my name", "my name is Sam", "delete my data", "haha", "k"]  # fmt: skip


def word(rng: random.Random) -> str:
    # Mostly three syllables: two-syllable words alone (2,500 of them) would make every
    # word of a 2000-intent set a typo-neighbour of another, far denser than real vocabularies.
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.choice((2, 3, 3, 3, 4))))


def generate(count: int, seed: int = 1) -> tuple[dict, list[list[str]]]:
    """A rule set of `count` intents, and each intent's own topic words."""
    rng = random.Random(seed)
    intents, topics = [], []
    for n in range(count):
        a, b, c = word(rng), word(rng), word(rng)
        topics.append([a, b, c])
        intents.append(
            {
                "name": f"intent_{n}",
                "examples": [f.format(a=a, b=b, c=c) for f in FRAMES],
                "keywords": [a, c],
                "patterns": [f"{a} for {{thing}}"],
                "responses": [f"answer {n} {{thing}}", f"answer {n}"],
            }
        )
    return {"intents": intents, "settings": {"fallback": ["?"]}}, topics


def typo(text: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(text) - 1)
    return text[:i] + text[i + 1] + text[i] + text[i + 2 :]


def messages(topics: list[list[str]], count: int, seed: int = 2) -> list[str]:
    rng = random.Random(seed)
    result = []
    for i in range(count):
        a, b, c = rng.choice(topics)
        kind = i % 5
        if kind == 0:
            result.append(f"show me {a} {i}")
        elif kind == 1:
            result.append(f"i want {typo(a, rng) if len(a) > 4 else a} {b} pls {i}")
        elif kind == 2:
            result.append(f"{a} for the Thing Number {i}")
        elif kind == 3:
            result.append(f"book me a taxi to gate {i}")
        else:
            result.append(f"can u {c} the {b} {i} 🙏")
    return result


PASSES = 3


def timed(engine: Engine, texts: list[str]) -> dict[str, float]:
    """Median and p99 over `texts`, from the best of three passes (the others lost time to
    whatever else the machine was doing), each pass with its own distinct messages."""
    passes = []
    for number in range(PASSES):
        samples = []
        for text in texts:
            text = f"{text} {number}"  # new to every cache in each pass
            start = time.perf_counter()
            engine.matcher.understand(text)
            samples.append(time.perf_counter() - start)
        samples.sort()
        passes.append(
            (statistics.median(samples), samples[int(len(samples) * 0.99) - 1], len(samples))
        )
    median, p99, count = min(passes)
    return {
        "median_us": round(median * 1e6, 1),
        "p99_us": round(p99 * 1e6, 1),
        "messages": count,
        "passes": PASSES,
    }


def load(path: Path) -> tuple[Engine, float]:
    start = time.perf_counter()
    engine = ruletools.engine_for(ruletools.load(path))
    return engine, time.perf_counter() - start


def main() -> None:
    results: dict[str, dict] = {}
    engine, seconds = load(DEMO_RULES)
    demo_texts = [f"{m} {i}" if i % 2 else m for i in range(300) for m in DEMO_MESSAGES]
    timed(engine, demo_texts[:500])  # warm up
    results["demo"] = {
        "intents": len(engine.rules.intents),
        "load_s": round(seconds, 3),
        **timed(engine, demo_texts),
    }
    with tempfile.TemporaryDirectory() as folder:
        for count in (200, 2000):
            rules, topics = generate(count)
            path = Path(folder) / f"generated_{count}.yml"
            path.write_text(yaml.safe_dump(rules), encoding="utf-8")
            engine, seconds = load(path)
            texts = messages(topics, 6000)
            timed(engine, texts[:500])
            results[f"generated_{count}"] = {
                "intents": count,
                "load_s": round(seconds, 3),
                **timed(engine, texts[500:]),
            }
    base, big = results["generated_200"], results["generated_2000"]
    results["growth_2000_vs_200"] = {
        "median": round(big["median_us"] / base["median_us"], 2),
        "p99": round(big["p99_us"] / base["p99_us"], 2),
    }
    print(json.dumps(results, indent=2))
    print(f"\n{'rules':<16}{'intents':>8}{'load s':>9}{'median µs':>11}{'p99 µs':>9}")
    for name, row in results.items():
        if "intents" in row:
            print(
                f"{name:<16}{row['intents']:>8}{row['load_s']:>9}{row['median_us']:>11}{row['p99_us']:>9}"
            )


if __name__ == "__main__":
    main()
