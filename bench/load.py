"""HTTP benchmarks with wrk against real gunicorn servers on loopback.

1. Webhook throughput and latency (p50, p99) at 1, 8 and 32 connections: the full bot
   (signature check on, demo rules, SQLite store, messages that need no upstream), a
   minimal Flask app returning fixed TwiML, and that app plus twilio-python's validator and
   TwiML builder (bench/twilio_floor_app.py), each under the project's gunicorn settings
   (gthread) and under 2 sync workers, all six measured side by side; the ratios to the
   minimal app, and the bot under gthread to the bot under sync workers and to the floor.
2. Cold start (process launch to the first 200 from /health) and memory (RSS) per worker.
3. Webhook p99 while the joke API hangs (the reply budget answers "one moment").

Requests are signed beforehand, each with its own MessageSid, from 5,000 senders.
Prints JSON and a table; writes bench/out/load.json (untracked). Needs `wrk` (Debian: apt-get
install wrk). Run with `make bench`.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlencode

import requests
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "out"  # untracked: a run never rewrites tracked files
TOKEN = "bench-token"  # noqa: S105 -- a throwaway token for signing bench requests
TEXTS = ["hi", "what can you do", "thanks a lot", "what time is it", "my name is Sam",
         "whats my name", "bye 👋", "book me a taxi"]  # fmt: skip
CONNECTIONS = (1, 8, 32)
SECONDS = int(os.environ.get("BENCH_SECONDS", "5"))
ROUNDS = 3  # turns of minimal app and bot per row
MAX_RATE = 5000  # requests a second to sign for each run: more than the bot can answer
_SIDS = itertools.count()  # MessageSid numbers, never reused in one run of the bench
_FILES = itertools.count()
WRK_THREADS = 2


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(
    app: str, env: dict[str, str], workers: int = 2, worker_class: str = ""
) -> tuple[subprocess.Popen, str, float]:
    """gunicorn with the project's gunicorn.conf.py (and another worker class if given);
    (process, base URL, seconds to the first 200)."""
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", app, "--bind", f"127.0.0.1:{port}"]
    if worker_class:
        # gunicorn quietly turns sync workers with threads into gthread ones.
        command += ["--worker-class", worker_class, "--threads", "1"]
    full_env = {**os.environ, "WEB_CONCURRENCY": str(workers), **env}
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=ROOT, env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    while True:
        try:
            if requests.get(f"{base}/health", timeout=1).status_code == 200:
                return process, base, time.perf_counter() - started
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.005)
        if process.poll() is not None or time.perf_counter() - started > 60:
            raise SystemExit(f"{app} did not start")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(timeout=60)


def bot_env(folder: str, name: str, **extra: str) -> dict[str, str]:
    """The full bot's settings, with its own SQLite file `name` (no run sees another's
    reply records, which would answer its requests for free)."""
    return {
        "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_ACCOUNT_SID": "",
        "TWILIO_VALIDATE": "true",
        "BOT_PUBLIC_URL": "",
        "BOT_STORE_URL": f"sqlite:///{folder}/{name}.db",
        "BOT_OFFLINE": "true",
        "BOT_LOG_LEVEL": "WARNING",
        "BOT_RULES": "",
        **extra,
    }


def signed_requests(base: str, path: Path, count: int, texts: list[str]) -> None:
    """`count` signed requests, one a line, each with a MessageSid never used before in this
    run of the bench: a repeated one would be answered from its record, for less."""
    validator = RequestValidator(TOKEN)
    url = f"{base}/bot"
    with path.open("w", encoding="utf-8") as out:
        for n in itertools.islice(_SIDS, count):
            form = {
                "MessageSid": f"SM{n:032d}",
                "AccountSid": "AC" + "0" * 32,
                "From": f"whatsapp:+1555{n % 5000:07d}",
                "To": "whatsapp:+14155238886",
                "Body": texts[n % len(texts)],
                "NumMedia": "0",
            }
            out.write(f"{validator.compute_signature(url, form)}\t{urlencode(form)}\n")


def _duration(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 1e-6, "ms": 1e-3, "s": 1.0}[unit]


def wrk(
    base: str, folder: str, connections: int, seconds: int, texts: list[str] = TEXTS
) -> dict[str, float]:
    """One wrk run on fresh requests (more than it can send; `repeated` counts any that
    it had to send again)."""
    requests_file = Path(folder) / f"requests-{next(_FILES)}.txt"
    lines = MAX_RATE * seconds
    signed_requests(base, requests_file, lines, texts)
    threads = min(WRK_THREADS, connections)
    command = [
        "wrk", "--latency", "--timeout", "15s", f"-t{threads}", f"-c{connections}",
        f"-d{seconds}s", "-s", str(ROOT / "bench" / "wrk_requests.lua"), f"{base}/bot",
        "--", str(requests_file), str(threads),
    ]  # fmt: skip
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1])
    latency = {p: _duration(v) for p, v in re.findall(r"\s(50|99)%\s+([\d.]+(?:us|ms|s))", output)}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    sent = int(re.search(r"(\d+) requests in", output)[1])
    requests_file.unlink()
    return {
        "requests_per_s": round(rate),
        "p50_ms": round(latency["50"] * 1000, 2),
        "p99_ms": round(latency["99"] * 1000, 2),
        "non_2xx": int(errors[1]) if errors else 0,
        "repeated": max(0, sent - lines),
    }


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return round(int(re.search(r"VmRSS:\s+(\d+) kB", status)[1]) / 1024, 1)


def workers_of(process: subprocess.Popen) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True)
    return [int(pid) for pid in out.stdout.split()]


# The project's gunicorn.conf.py, and the reference: 2 sync workers, which cannot
# serve the web chat's WebSockets.
SETTINGS = {"gthread": "", "sync": "sync"}


def throughput(folder: str) -> dict:
    """The three apps under both settings, six servers side by side (an idle one costs
    nothing), measured in turns ROUNDS times per row, in reverse order every other round, so
    a slow spell of the machine hits them all; each row is the run with the median rate.

    The machine's speed moves a lot from minute to minute, so each ratio between two
    servers is taken within a round and the median of the rounds is kept with its range."""
    apps = {
        "minimal": ("bench.minimal_app:create_app()", {}),
        "twilio_floor": ("bench.twilio_floor_app:create_app()", {}),
        "bot": ("bot:create_app()", {}),
    }
    servers = {
        (setting, name): start(
            app,
            bot_env(folder, f"throughput-{setting}") if name == "bot" else env,
            worker_class=worker_class,
        )
        for setting, worker_class in SETTINGS.items()
        for name, (app, env) in apps.items()
    }
    runs: dict = {key: {str(c): [] for c in CONNECTIONS} for key in servers}
    for _, base, _ in servers.values():
        wrk(base, folder, 8, 2)  # warm up
    for c in CONNECTIONS:
        for round_ in range(ROUNDS):
            order = list(servers) if round_ % 2 == 0 else list(reversed(servers))
            for key in order:
                runs[key][str(c)].append(wrk(servers[key][1], folder, c, SECONDS))
    for process, _, _ in servers.values():
        stop(process)
    results: dict = {}
    for setting in SETTINGS:
        table: dict = {
            name: {
                c: sorted(rows, key=lambda row: row["requests_per_s"])[len(rows) // 2]
                for c, rows in runs[(setting, name)].items()
            }
            for name in apps
        }
        for name in ("bot", "twilio_floor"):
            table[f"{name}_ratio"] = {
                str(c): round(
                    table[name][str(c)]["requests_per_s"]
                    / table["minimal"][str(c)]["requests_per_s"],
                    2,
                )
                for c in CONNECTIONS
            }
        results[setting] = table
    results["side_by_side"] = {
        str(c): {
            "bot_gthread_over_bot_sync": paired(runs, ("gthread", "bot"), ("sync", "bot"), c),
            "bot_over_floor_sync": paired(runs, ("sync", "bot"), ("sync", "twilio_floor"), c),
            "bot_over_floor_gthread": paired(
                runs, ("gthread", "bot"), ("gthread", "twilio_floor"), c
            ),
        }
        for c in CONNECTIONS
    }
    return results


def paired(runs: dict, top: tuple[str, str], bottom: tuple[str, str], c: int) -> dict:
    """The rate of `top` over that of `bottom` in the same round: median, lowest, highest."""
    ratios = sorted(
        a["requests_per_s"] / b["requests_per_s"]
        for a, b in zip(runs[top][str(c)], runs[bottom][str(c)], strict=True)
    )
    return {
        "median": round(ratios[len(ratios) // 2], 2),
        "min": round(ratios[0], 2),
        "max": round(ratios[-1], 2),
    }


def cold_start_and_memory(folder: str) -> dict:
    starts = []
    for n in range(3):
        process, base, seconds = start("bot:create_app()", bot_env(folder, f"cold{n}"), 1)
        starts.append(seconds)
        if n == 2:
            wrk(base, folder, 8, 3)
            worker_rss = [rss_mb(pid) for pid in workers_of(process)]
        stop(process)
    return {"cold_start_s": round(min(starts), 3), "worker_rss_mb": max(worker_rss)}


class Hang(BaseHTTPRequestHandler):
    def do_GET(self):
        time.sleep(30)

    def log_message(self, *args):
        pass


def hanging_upstream(folder: str) -> dict:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hang)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    upstream = f"http://127.0.0.1:{server.server_address[1]}"
    env = bot_env(folder, "hanging", BOT_OFFLINE="false", JOKES_URL=upstream)
    process, base, _ = start("bot:create_app()", env)
    result = wrk(base, folder, 8, 10, ["tell me a joke"])
    stop(process)
    server.shutdown()
    return result


def main() -> None:
    if subprocess.run(["which", "wrk"], capture_output=True).returncode:
        raise SystemExit("bench/load.py needs wrk: apt-get install wrk")
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    load_average = os.getloadavg()  # others' work on the machine moves every figure
    with tempfile.TemporaryDirectory() as folder:
        side_by_side = throughput(folder)
        results = {
            "throughput": side_by_side["gthread"],
            # The reference setting: 2 sync workers (no WebSockets with those).
            "throughput_sync_workers": side_by_side["sync"],
            "side_by_side": side_by_side["side_by_side"],
            "startup": cold_start_and_memory(folder),
            "upstream_hanging_8_connections": hanging_upstream(folder),
            "seconds_per_run": SECONDS,
            "cpus": os.cpu_count(),
            "started": started,
            "load_average_at_start": [round(x, 2) for x in load_average],
        }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "load.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    for key in ("throughput", "throughput_sync_workers"):
        table = results[key]
        print(f"\n{key}\n{'connections':<12}{'minimal req/s':>14}{'floor req/s':>12}"
              f"{'ratio':>7}{'bot req/s':>11}{'ratio':>7}{'bot p50 ms':>12}{'bot p99 ms':>12}")  # fmt: skip
        for c in CONNECTIONS:
            m, f, b = (table[name][str(c)] for name in ("minimal", "twilio_floor", "bot"))
            print(f"{c:<12}{m['requests_per_s']:>14}{f['requests_per_s']:>12}"
                  f"{table['twilio_floor_ratio'][str(c)]:>7}{b['requests_per_s']:>11}"
                  f"{table['bot_ratio'][str(c)]:>7}{b['p50_ms']:>12}{b['p99_ms']:>12}")  # fmt: skip
    print("\nside by side: the bot's rate over another's in the same round, median (range)")
    print(f"{'connections':<12}{'bot gthread / bot sync':>26}{'bot / floor, sync':>22}"
          f"{'bot / floor, gthread':>25}")  # fmt: skip
    for c in CONNECTIONS:
        row = results["side_by_side"][str(c)]
        shown = [
            f"{r['median']:.2f} ({r['min']:.2f}–{r['max']:.2f})"
            for r in (row[k] for k in ("bot_gthread_over_bot_sync", "bot_over_floor_sync",
                                        "bot_over_floor_gthread"))
        ]  # fmt: skip
        print(f"{c:<12}{shown[0]:>26}{shown[1]:>22}{shown[2]:>25}")
    print("targets at 8 connections: bot gthread / bot sync ≥ 0.8, bot / floor (sync) ≥ 0.5")


if __name__ == "__main__":
    main()
