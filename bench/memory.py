"""Memory per gunicorn worker as PSS, with and without `--preload`.

PSS (the `Pss:` line of /proc/PID/smaps_rollup) charges each page to the processes that
share it in equal parts, so the master's and workers' PSS add up to what the server costs
the machine. RSS counts every page a process touches, shared or not: a worker forked from
a preloaded master looks no smaller in RSS, however much it shares.

Each mode runs ROUNDS times: gunicorn under the project's gunicorn.conf.py with WORKERS
workers, a SQLite store and signature checks on, no upstream (BOT_OFFLINE). Once /health
answers and the workers have stopped growing ("idle"), WARM_MESSAGES signed messages from
CONNECTIONS connections at once warm every worker (rules, places index, caches) and the
processes are read again ("warm"). The summary is the median over rounds of the largest
worker, the master and the total. Prints a table and writes bench/out/memory.json (untracked).

    .venv/bin/python bench/memory.py
    .venv/bin/python bench/memory.py --root /tmp/oldclone --out /tmp/memory-old.json

`--root` measures another checkout (an older commit cloned beside this one) with this
interpreter and its packages.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "out"  # untracked: a run never rewrites tracked files
TOKEN = "bench-token"  # noqa: S105 -- a throwaway token for signing bench requests
TEXTS = ["hello", "weather in Paris tomorrow", "tell me a joke", "what time is it",
         "my name is Sam", "whats my name", "is it raining in Lisbn", "thanks a lot",
         "book me a taxi", "bye 👋"]  # fmt: skip
MODES = {"fork": [], "preload": ["--preload"]}
WORKERS = 2
ROUNDS = 3
WARM_MESSAGES = 300
CONNECTIONS = 8
START_SECONDS = 60  # for gunicorn to answer /health and its workers to finish loading
WARM_SECONDS = 120  # for all the warm-up messages
STOP_SECONDS = 30  # gunicorn.conf.py gives in-flight requests 20 s after SIGTERM
_SIDS = itertools.count()  # a MessageSid is never reused: a repeat is answered from its record


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def memory_mb(pid: int) -> dict[str, float]:
    """PSS and RSS of one process, in MB."""
    rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    kb = dict(re.findall(r"^(Pss|Rss):\s+(\d+) kB", rollup, re.MULTILINE))
    return {"pss_mb": round(int(kb["Pss"]) / 1024, 1), "rss_mb": round(int(kb["Rss"]) / 1024, 1)}


def cpu_seconds(pid: int) -> float:
    """User and system CPU time so far: a worker that served nothing has next to none."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return round((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), 2)


def children(pid: int) -> list[int]:
    listing = Path(f"/proc/{pid}/task/{pid}/children")
    if listing.exists():
        return sorted(int(child) for child in listing.read_text().split())
    found = []  # a kernel without CONFIG_PROC_CHILDREN: each process's parent, from stat
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
        if parent == pid:
            found.append(int(stat.parent.name))
    return sorted(found)


def snapshot(master: int) -> dict:
    return {
        "master": memory_mb(master),
        "workers": [{"pid": pid, **memory_mb(pid), "cpu_s": cpu_seconds(pid)}
                    for pid in children(master)],
    }  # fmt: skip


def settled(master: int, deadline: float) -> None:
    """Wait until all WORKERS workers exist and none grew in the last 0.2 s (still loading
    the app after /health was answered by another)."""
    last = -1.0
    while time.monotonic() < deadline:
        workers = children(master)
        total = sum(memory_mb(pid)["rss_mb"] for pid in workers)
        if len(workers) == WORKERS and abs(total - last) <= 0.2:
            return
        last = total
        time.sleep(0.2)
    raise TimeoutError("the workers did not settle")


def start(root: Path, folder: Path, preload: bool) -> tuple[subprocess.Popen, str]:
    """gunicorn as the project runs it, on a free port; (process, base URL) once /health
    answers 200."""
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "bot:create_app()",
               "--bind", f"127.0.0.1:{port}", *MODES["preload" if preload else "fork"]]  # fmt: skip
    metrics = tempfile.mkdtemp(prefix="metrics-", dir=folder)
    env = {
        **os.environ,
        "PYTHONPATH": str(root),
        "WEB_CONCURRENCY": str(WORKERS),
        "PROMETHEUS_MULTIPROC_DIR": metrics,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_ACCOUNT_SID": "",
        "TWILIO_VALIDATE": "true",
        "BOT_PUBLIC_URL": "",
        "BOT_STORE_URL": f"sqlite:///{folder}/bot.db",
        "BOT_OFFLINE": "true",
        "BOT_LOG_LEVEL": "WARNING",
    }
    with (folder / "gunicorn.log").open("a") as log:
        process = subprocess.Popen(
            command, cwd=root, env=env, stdout=log, stderr=log, start_new_session=True
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if requests.get(f"{base}/health", timeout=1).status_code == 200:
                settled(process.pid, deadline)
                return process, base
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.05)
    stop(process)
    tail = (folder / "gunicorn.log").read_text()[-2000:]
    raise SystemExit(f"gunicorn did not start in {root}:\n{tail}")


def stop(process: subprocess.Popen) -> None:
    """SIGTERM, as a deploy would; SIGKILL to its process group (master and workers) only
    if it outstays STOP_SECONDS."""
    process.terminate()
    try:
        process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_SECONDS)


def warm(base: str) -> int:
    """WARM_MESSAGES signed messages, each on its own connection so the kernel spreads
    them over the workers; the number not answered 200."""
    validator = RequestValidator(TOKEN)
    url = f"{base}/bot"
    deadline = time.monotonic() + WARM_SECONDS

    def send(n: int) -> bool:
        if time.monotonic() > deadline:
            return False
        form = {
            "MessageSid": f"SM{n:032d}",
            "AccountSid": "AC" + "0" * 32,
            "From": f"whatsapp:+1555{n % 50:07d}",
            "To": "whatsapp:+14155238886",
            "Body": TEXTS[n % len(TEXTS)],
            "NumMedia": "0",
        }
        headers = {"X-Twilio-Signature": validator.compute_signature(url, form)}
        try:
            return requests.post(url, data=form, headers=headers, timeout=15).status_code == 200
        except requests.RequestException:
            return False

    with ThreadPoolExecutor(CONNECTIONS) as pool:
        answered = list(pool.map(send, itertools.islice(_SIDS, WARM_MESSAGES)))
    return answered.count(False)


def one_round(root: Path, preload: bool) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as name:
        process, base = start(root, Path(name), preload)
        try:
            idle = snapshot(process.pid)
            failed = warm(base)
            return {"idle": idle, "warm": snapshot(process.pid), "not_200": failed}
        finally:
            stop(process)


def summary(rounds: list[dict], state: str) -> dict[str, float]:
    def median(values):
        return round(statistics.median(values), 1)

    snaps = [r[state] for r in rounds]
    return {
        "worker_pss_mb": median([max(w["pss_mb"] for w in s["workers"]) for s in snaps]),
        "worker_rss_mb": median([max(w["rss_mb"] for w in s["workers"]) for s in snaps]),
        "master_pss_mb": median([s["master"]["pss_mb"] for s in snaps]),
        "master_rss_mb": median([s["master"]["rss_mb"] for s in snaps]),
        "total_pss_mb": median(
            [s["master"]["pss_mb"] + sum(w["pss_mb"] for w in s["workers"]) for s in snaps]
        ),
    }


def commit(root: Path) -> str:
    out = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True)  # fmt: skip
    return out.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to run")
    parser.add_argument("--out", type=Path, default=RESULTS / "memory.json")
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args()
    root = args.root.resolve()
    results: dict = {
        "root": str(root),
        "commit": commit(root),
        "python": sys.version.split()[0],
        "workers": WORKERS,
        "warm_messages": WARM_MESSAGES,
        "rounds": args.rounds,
    }
    for mode in MODES:
        rounds = [one_round(root, mode == "preload") for _ in range(args.rounds)]
        results[mode] = {
            "idle": summary(rounds, "idle"),
            "warm": summary(rounds, "warm"),
            "runs": rounds,
        }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"{root} ({results['commit']}), {WORKERS} workers, median of {args.rounds} rounds, MB")
    print(f"{'mode':<9}{'state':<6}{'worker PSS':>11}{'worker RSS':>11}"
          f"{'master PSS':>11}{'master RSS':>11}{'total PSS':>10}{'not 200':>8}")  # fmt: skip
    for mode in MODES:
        for state in ("idle", "warm"):
            row = results[mode][state]
            failed = sum(r["not_200"] for r in results[mode]["runs"]) if state == "warm" else ""
            print(f"{mode:<9}{state:<6}{row['worker_pss_mb']:>11}{row['worker_rss_mb']:>11}"
                  f"{row['master_pss_mb']:>11}{row['master_rss_mb']:>11}"
                  f"{row['total_pss_mb']:>10}{failed:>8}")  # fmt: skip


if __name__ == "__main__":
    main()
