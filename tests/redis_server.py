"""A redis-server of our own: on a free loopback port, in a temporary folder, saving nothing.

The tests and the benches empty the databases they use, so they use a Redis of their own
unless a setting names one (BOT_TEST_REDIS_URL, BOT_BENCH_REDIS_URL): a developer's Redis at
6379 is never touched by accident. No pytest here, so the benches can use it too.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from tests.helpers import closed_port

START_SECONDS = 30  # a hang guard: redis-server is ready in milliseconds
READY = "Ready to accept connections"


class RedisUnavailable(RuntimeError):
    """No redis-server to start, or it would not start; the message says why."""


class RedisServer:
    """`with RedisServer() as server:` a running redis-server at `server.url`, stopped and
    its folder removed afterwards."""

    def __init__(self, binary: str | None = None) -> None:
        self.binary = binary or shutil.which("redis-server") or ""
        self.port = 0
        self.url = ""
        self._folder: tempfile.TemporaryDirectory[str] | None = None
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        if not self.binary or not Path(self.binary).is_file():
            raise RedisUnavailable("no redis-server on PATH (Debian: apt-get install redis-server)")
        self._folder = tempfile.TemporaryDirectory(prefix="bot-redis-")
        for _ in range(3):  # another process may take the free port first
            self.port = closed_port()
            log = self._launch()
            if READY in log:
                self.url = f"redis://127.0.0.1:{self.port}/0"
                threading.Thread(target=self._drain, daemon=True).start()
                return
        self.stop()
        raise RedisUnavailable(f"redis-server did not start:\n{log}")

    def _launch(self) -> str:
        """Start redis-server; what it printed up to "Ready" (or until it stopped)."""
        assert self._folder is not None
        self._process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self._folder.name, "--loglevel", "notice"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        guard = threading.Timer(START_SECONDS, self._process.kill)
        guard.start()
        lines = []
        try:
            assert self._process.stdout is not None
            for line in self._process.stdout:  # ends when the process does
                lines.append(line)
                if READY in line:
                    break
        finally:
            guard.cancel()
        if not any(READY in line for line in lines):
            self._process.wait(START_SECONDS)
        return "".join(lines)

    def _drain(self) -> None:
        """Keep reading its output, so a full pipe never blocks the server."""
        process = self._process
        if process is not None and process.stdout is not None:
            for _ in process.stdout:
                pass

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(START_SECONDS)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(START_SECONDS)
        self._process = None
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None
