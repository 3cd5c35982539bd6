"""Understand latency next to RiveScript, on equivalent generated brains.

The same generated rule sets as bench/understand.py (200 and 2000 intents) become RiveScript
brains with one trigger per intent around its topic word (`+ [*] <word> [*]`), which is how
a RiveScript author would catch the intent's keyword anywhere in a message. Both answer the
same distinct messages; medians and p99s, and how many times faster we are. Prints JSON and
writes bench/out/rivescript.json (untracked). RiveScript is a benchmark-only dependency (requirements-bench.txt). Run with `make bench`.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml
from rivescript import RiveScript

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from understand import generate, load, messages, timed

MESSAGES = 1500


def brain(topics: list[list[str]]) -> RiveScript:
    lines = ["! version = 2.0", ""]
    for n, (a, _b, _c) in enumerate(topics):
        lines += [f"+ [*] {a} [*]", f"- answer {n}", ""]
    lines += ["+ *", "- ?"]
    bot = RiveScript(utf8=True)
    bot.stream("\n".join(lines))
    bot.sort_replies()
    return bot


def timed_rivescript(bot: RiveScript, texts: list[str]) -> dict[str, float]:
    samples = []
    for text in texts:
        start = time.perf_counter()
        bot.reply("bench", text)
        samples.append(time.perf_counter() - start)
    samples.sort()
    return {
        "median_us": round(statistics.median(samples) * 1e6, 1),
        "p99_us": round(samples[int(len(samples) * 0.99) - 1] * 1e6, 1),
        "messages": len(samples),
    }


def main() -> None:
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for count in (200, 2000):
            rules, topics = generate(count)
            path = Path(folder) / f"generated_{count}.yml"
            path.write_text(yaml.safe_dump(rules), encoding="utf-8")
            engine, _ = load(path)
            texts = messages(topics, MESSAGES + 200)
            timed(engine, texts[:200])
            ours = timed(engine, texts[200:])
            bot = brain(topics)
            timed_rivescript(bot, texts[:50])
            theirs = timed_rivescript(bot, texts[200:])
            results[str(count)] = {
                "ours": ours,
                "rivescript": theirs,
                "times_faster_median": round(theirs["median_us"] / ours["median_us"], 1),
                "times_faster_p99": round(theirs["p99_us"] / ours["p99_us"], 1),
            }
    out = Path(__file__).parent / "out"  # untracked: a run never rewrites tracked files
    out.mkdir(exist_ok=True)
    (out / "rivescript.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
