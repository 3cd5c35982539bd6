"""Genuine webhook latency while slow clients trickle requests, without and with nginx.

gunicorn runs with the project's gunicorn.conf.py (2 gthread workers of 32 threads), bound to
loopback, once exposed directly and once behind nginx started from deploy/nginx.conf.template.
Each time 70 sockets connect and trickle, a byte every 2 s, paced here: 50 send whole headers
and then the body, 20 (slowloris) send the request line and then headers that never end.
While they are connected, signed messages go out one every half second, each with a 10 s
timeout; a timeout counts as starved. Prints a JSON document and a table, and writes
bench/out/slow_clients.json (untracked). Needs nginx (Debian: apt-get install nginx) for the
second run; without it only the first runs.

    .venv/bin/python bench/slow_clients.py [--genuine 12] [--pace 2] [--only direct|nginx]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import select
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

import requests
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "out"  # untracked: a run never rewrites tracked files
TEMPLATE = ROOT / "deploy" / "nginx.conf.template"
TOKEN = "bench-token"  # noqa: S105 -- a throwaway token for signing bench requests
SLOW_ADDRESSES = [f"127.0.0.{n}" for n in range(2, 7)]  # under nginx's 32 per address
MAX_ROUNDS = 60  # bytes a slow client sends at most: the trickle stops by itself
_SIDS = itertools.count()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(base: str, process: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.05)
        if process.poll() is not None:
            break
    raise SystemExit(f"{what} did not start")


def start_gunicorn(folder: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {
        **os.environ,
        "WEB_CONCURRENCY": "2",
        "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_VALIDATE": "true",
        "BOT_PUBLIC_URL": "",
        "BOT_TRUSTED_PROXIES": "1",
        "BOT_STORE_URL": f"sqlite:///{folder}/bot.db",
        "BOT_OFFLINE": "true",
        "BOT_RATE_LIMIT": "0",
        "BOT_LOG_LEVEL": "ERROR",
        "BOT_RULES": "",
    }
    command = [sys.executable, "-m", "gunicorn", "bot:create_app()", "-b", f"127.0.0.1:{port}"]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wait_healthy(f"http://127.0.0.1:{port}", process, "gunicorn")
    return process, port


def nginx_binary() -> str | None:
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")


def start_nginx(folder: str, upstream_port: int) -> tuple[subprocess.Popen, int]:
    port = free_port()
    conf = TEMPLATE.read_text()
    conf = conf.replace("${NGINX_LISTEN}", f"127.0.0.1:{port}")
    conf = conf.replace("${BOT_UPSTREAM}", f"127.0.0.1:{upstream_port}")
    prefix = Path(folder) / "nginx"
    prefix.mkdir()
    (prefix / "nginx.conf").write_text(conf)
    command = [nginx_binary(), "-p", f"{prefix}/", "-c", str(prefix / "nginx.conf")]
    with (prefix / "nginx.log").open("w") as log:
        process = subprocess.Popen([*command, "-g", "daemon off;"], stdout=log, stderr=log)
    wait_healthy(f"http://127.0.0.1:{port}", process, "nginx")
    return process, port


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(timeout=60)


def form(text: str) -> dict[str, str]:
    return {
        "MessageSid": f"SM{next(_SIDS):032d}",
        "AccountSid": "AC" + "1" * 32,
        "From": f"whatsapp:+1555000{next(_SIDS) % 10000:04d}",
        "To": "whatsapp:+14155238886",
        "Body": text,
        "NumMedia": "0",
    }


class SlowClients:
    """Slow sockets, and the thread that sends each its next byte every `pace` seconds."""

    def __init__(self, port: int, bodies: int, lorises: int, pace: float) -> None:
        sources = itertools.cycle(SLOW_ADDRESSES)
        body = urlencode(form("x" * 200)).encode()
        self.socks: list[socket.socket] = []
        self.rests: list[bytes] = []
        for n in range(bodies + lorises):
            sock = socket.create_connection(
                ("127.0.0.1", port), timeout=10, source_address=(next(sources), 0)
            )
            if n < bodies:
                start = (
                    f"POST /bot HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                    "Content-Type: application/x-www-form-urlencoded\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n"
                ).encode() + body[:1]
                rest = body[1:]
            else:
                start = f"POST /bot HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Slow: ".encode()
                rest = b"a" * MAX_ROUNDS
            sock.sendall(start)
            self.socks.append(sock)
            self.rests.append(rest)
        self.pace = pace
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._trickle, daemon=True)
        self.thread.start()

    def _trickle(self) -> None:
        for _ in range(MAX_ROUNDS):
            if self.stopped.wait(self.pace):
                return
            for i, sock in enumerate(self.socks):
                if self.rests[i]:
                    try:
                        sock.send(self.rests[i][:1])
                    except OSError:  # closed by the server: `still_open` counts it
                        continue
                    self.rests[i] = self.rests[i][1:]

    def still_open(self) -> int:
        """How many the server has neither answered nor closed."""
        readable, _, _ = select.select(self.socks, [], [], 0)
        return len(self.socks) - len(readable)

    def close(self) -> None:
        self.stopped.set()
        self.thread.join(10)
        for sock in self.socks:
            sock.close()


def genuine(base: str, timeout: float) -> float | None:
    """One signed message; seconds to its 200, or None if it timed out or failed."""
    data = form("what can you do")
    signature = RequestValidator(TOKEN).compute_signature(f"{base}/bot", data)
    started = time.perf_counter()
    try:
        response = requests.post(
            f"{base}/bot", data=data, headers={"X-Twilio-Signature": signature}, timeout=timeout
        )
    except requests.RequestException:
        return None
    latency = time.perf_counter() - started
    ok = response.status_code == 200 and b"<Response>" in response.content
    return latency if ok else None


def run(front: str, args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-slow-") as folder:
        bot, bot_port = start_gunicorn(folder)
        nginx = None
        port = bot_port
        try:
            if front == "nginx":
                nginx, port = start_nginx(folder, bot_port)
            base = f"http://127.0.0.1:{port}"
            slow = SlowClients(port, args.bodies, args.lorises, args.pace)
            try:
                time.sleep(args.pace * 1.5)  # let every slow client send a byte or two
                connected_before = slow.still_open()
                with ThreadPoolExecutor(max_workers=args.genuine) as pool:
                    futures = []
                    for _ in range(args.genuine):
                        futures.append(pool.submit(genuine, base, args.timeout))
                        time.sleep(args.interval)
                    latencies = [f.result() for f in futures]
                connected_after = slow.still_open()
            finally:
                slow.close()
        finally:
            if nginx is not None:
                stop(nginx)
            stop(bot)
    answered = [s for s in latencies if s is not None]
    return {
        "front": front,
        "slow_clients": args.bodies + args.lorises,
        "slow_connected_before": connected_before,
        "slow_connected_after": connected_after,
        "genuine": len(latencies),
        "answered": len(answered),
        "starved": len(latencies) - len(answered),
        "median_ms": round(statistics.median(answered) * 1000, 1) if answered else None,
        "max_ms": round(max(answered) * 1000, 1) if answered else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bodies", type=int, default=50, help="slow-body clients")
    parser.add_argument("--lorises", type=int, default=20, help="slow-header clients")
    parser.add_argument("--pace", type=float, default=2.0, help="seconds between two bytes")
    parser.add_argument("--genuine", type=int, default=12, help="signed messages to send")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between them")
    parser.add_argument("--timeout", type=float, default=10.0, help="a message's timeout")
    parser.add_argument("--only", choices=["direct", "nginx"])
    parser.add_argument("--out", type=Path, default=RESULTS / "slow_clients.json")
    args = parser.parse_args()

    fronts = [args.only] if args.only else ["direct", "nginx"]
    if "nginx" in fronts and nginx_binary() is None:
        print("nginx is not installed (Debian: apt-get install nginx): measuring direct only")
        fronts.remove("nginx")
    results = [run(front, args) for front in fronts]
    print(json.dumps(results, indent=2))
    print(
        f"\n{'front':<8} {'slow open':>10} {'answered':>9} {'starved':>8} {'median':>9} {'max':>9}"
    )
    for r in results:
        median = "-" if r["median_ms"] is None else f"{r['median_ms']} ms"
        worst = "-" if r["max_ms"] is None else f"{r['max_ms']} ms"
        print(
            f"{r['front']:<8} {r['slow_connected_after']:>4}/{r['slow_clients']:<5} "
            f"{r['answered']:>4}/{r['genuine']:<4} {r['starved']:>8} {median:>9} {worst:>9}"
        )
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
