"""Parse untrusted bytes in a child process that is killed when it takes too long.

A hostile file (a PDF nested ten thousand levels deep, a stream that inflates to gigabytes, a
Word file that is a zip bomb, HTML that sends the standard library's parser quadratic) must
not hang or crash a gunicorn worker. So a parser runs as `python -m documents.<module>` with
the bytes on stdin and the result as JSON on stdout, under `subprocess.run(timeout=...)`,
which kills it (SIGKILL) and reaps it when time is up.

Why a fresh interpreter rather than `multiprocessing`: a gunicorn worker runs 32 threads, and
forking a threaded process is unsafe, so the choice was "spawn" anyway; `subprocess` spawns
the same way (fork+exec in C, no Python run between them) and adds no resource-tracker
process, no pickling, and no re-import of the parent's `__main__`. The child gets an empty
environment (no Twilio token in its reach), no core dumps, no file writes, a memory ceiling
and a CPU-time ceiling of its own. Its start costs about 15 ms, plus ~120 ms to import pypdf
(~90 ms for python-docx): measured on the 2-core development machine.

What comes back is bounded twice: the child cuts its document (`layout.bounded`: pages, title,
a ceiling for the whole), and the parent reads at most MAX_OUTPUT_BYTES of its answer, so a
reader's bug cannot fill the worker's memory. When the child fails, the last line it wrote
to stderr is logged (a broken install, pypdf that cannot be imported, shows there).

At most MAX_CHILDREN readers run at once in one process (each may take a core and 1 GiB of
address space): a document that finds them all busy waits for one up to its time limit,
then gets the "too slow" reply, so a burst of PDFs cannot take the machine's memory.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import resource
import select
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from documents.layout import MAX_DOCUMENT_CHARS, bounded
from documents.model import PROBLEMS, Document, DocumentError, Page

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 10.0  # seconds for one document, the interpreter's start included
MEMORY_BYTES = 1024 * 1024 * 1024  # address space of the child, libraries included
# The longest answer a bounded document gives: every character escaped in JSON ("\\u0001"),
# plus its titles and headings.
MAX_OUTPUT_BYTES = 6 * MAX_DOCUMENT_CHARS + 1_000_000
_STDERR_BYTES = 4096  # the end of the child's stderr that is kept, for the log
_LOGGED_CHARS = 200
# Passed on from the parent's environment: what the interpreter may need to start, no more.
_ENVIRONMENT = ("PATH", "LD_LIBRARY_PATH", "LANG", "LC_ALL", "TMPDIR")

Parser = Callable[[bytes, int], Document]


MAX_CHILDREN = 2  # readers at once per process
CHILDREN = threading.BoundedSemaphore(MAX_CHILDREN)


def run_child(
    argv: list[str],
    data: bytes,
    timeout: float = TIMEOUT,
    limit: int = MAX_OUTPUT_BYTES,
    slots: threading.BoundedSemaphore | None = None,
) -> bytes:
    """Run `argv` with `data` on stdin, in one of `slots` (this process's MAX_CHILDREN); its
    stdout, or DocumentError if no slot came free in time, it was too slow, said more than
    `limit` bytes or died without answering."""
    slots = CHILDREN if slots is None else slots
    if not slots.acquire(timeout=timeout):
        raise DocumentError("too_slow", f"no reader free within {timeout:g} s")
    try:
        return _run(argv, data, timeout, limit)
    finally:
        slots.release()


def _run(argv: list[str], data: bytes, timeout: float, limit: int) -> bytes:
    environment = {name: os.environ[name] for name in _ENVIRONMENT if name in os.environ}
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module, no shell
        argv,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env=environment,
    )
    try:
        stdout, stderr = _exchange(process, data, time.monotonic() + timeout, limit)
    except subprocess.TimeoutExpired:
        raise DocumentError("too_slow", f"not read within {timeout:g} s") from None
    finally:
        process.kill()  # a no-op when it has ended; reaped either way
        process.wait()
        for stream in (process.stdin, process.stdout, process.stderr):
            stream.close()
    if process.returncode == -signal.SIGXCPU:
        raise DocumentError("too_slow", "the reader ran out of CPU time")
    if process.returncode != 0:
        last = stderr.decode("utf-8", errors="replace").strip().rsplit("\n", 1)[-1]
        log.warning(
            "document reader %s stopped (exit status %s): %s",
            argv[argv.index("-m") + 1] if "-m" in argv else argv[0],
            process.returncode,
            last[-_LOGGED_CHARS:] or "nothing on stderr",
        )
        raise DocumentError("corrupt", f"the reader stopped (exit status {process.returncode})")
    return stdout


def _exchange(
    process: subprocess.Popen, data: bytes, deadline: float, limit: int
) -> tuple[bytes, bytes]:
    """Write `data` to the child and read what it says, as `communicate` does, but keeping
    at most `limit` bytes of stdout (more is `too_large`) and the end of stderr."""
    stdout, stderr = bytearray(), bytearray()
    view = memoryview(data)
    written = 0
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ, stdout)
        selector.register(process.stderr, selectors.EVENT_READ, stderr)
        if data:
            selector.register(process.stdin, selectors.EVENT_WRITE)
        else:
            process.stdin.close()
        while selector.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise subprocess.TimeoutExpired(process.args, 0)
            for key, _ in selector.select(remaining):
                if key.fileobj is process.stdin:
                    try:
                        written += os.write(key.fd, view[written : written + select.PIPE_BUF])
                    except BrokenPipeError:
                        written = len(data)  # it stopped reading: its answer will say why
                    if written >= len(data):
                        selector.unregister(key.fileobj)
                        key.fileobj.close()
                    continue
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    selector.unregister(key.fileobj)
                    key.fileobj.close()
                    continue
                key.data.extend(chunk)
                if key.data is stderr:
                    del stderr[:-_STDERR_BYTES]
                elif len(stdout) > limit:
                    raise DocumentError("too_large", f"the reader said more than {limit} bytes")
    return bytes(stdout), bytes(stderr)


def parse_isolated(
    module: str, data: bytes, max_pages: int, timeout: float = TIMEOUT, *options: str
) -> Document:
    """The document `documents.<module>` reads from `data`, parsed in a child process;
    `options` are passed on to it after the page cap and the time limit."""
    argv = [sys.executable, "-E", "-s", "-m", f"documents.{module}", str(max_pages), f"{timeout:g}"]
    output = run_child([*argv, *options], data, timeout)
    try:
        answer = json.loads(output)
        if "problem" in answer:
            problem = answer["problem"] if answer["problem"] in PROBLEMS else "corrupt"
            raise DocumentError(problem, str(answer.get("detail", "")))
        pages = tuple(Page(int(n), str(text), str(heading)) for n, text, heading in answer["pages"])
        return Document(str(answer["title"]), str(answer["kind"]), pages, "")
    except (ValueError, KeyError, TypeError):
        raise DocumentError("corrupt", "the reader's answer was not understood") from None


def _limit_resources(timeout: float) -> None:
    """Ceilings the kernel enforces on this (child) process."""
    cpu = math.ceil(timeout) + 1
    for limit, value in (
        (resource.RLIMIT_AS, MEMORY_BYTES),
        (resource.RLIMIT_CPU, cpu),
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_FSIZE, 0),
    ):
        _, hard = resource.getrlimit(limit)
        with contextlib.suppress(ValueError, OSError):  # a platform without this limit
            resource.setrlimit(limit, (value if hard < 0 else min(value, hard), hard))


def serve(parse: Parser) -> None:
    """The child's side: read stdin, parse, answer on stdout. Every failure is an answer."""
    max_pages, timeout = int(sys.argv[1]), float(sys.argv[2])
    _limit_resources(timeout)
    data = sys.stdin.buffer.read()
    try:
        document = bounded(parse(data, max_pages))
        answer: dict = {
            "title": document.title,
            "kind": document.kind,
            "pages": [[page.number, page.text, page.heading] for page in document.pages],
        }
    except DocumentError as error:
        answer = {"problem": error.problem, "detail": error.detail}
    except MemoryError:
        answer = {"problem": "too_large", "detail": "it needs too much memory to read"}
    except RecursionError:
        answer = {"problem": "corrupt", "detail": "nested too deeply"}
    except Exception as error:  # a parser's bug or a file it chokes on: either way, unreadable
        answer = {"problem": "corrupt", "detail": type(error).__name__}
    sys.stdout.buffer.write(json.dumps(answer, ensure_ascii=False).encode("utf-8"))
