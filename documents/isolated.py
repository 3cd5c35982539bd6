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
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import resource
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from documents.model import PROBLEMS, Document, DocumentError, Page

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 10.0  # seconds for one document, the interpreter's start included
MEMORY_BYTES = 1024 * 1024 * 1024  # address space of the child, libraries included
# Passed on from the parent's environment: what the interpreter may need to start, no more.
_ENVIRONMENT = ("PATH", "LD_LIBRARY_PATH", "LANG", "LC_ALL", "TMPDIR")

Parser = Callable[[bytes, int], Document]


def run_child(argv: list[str], data: bytes, timeout: float = TIMEOUT) -> bytes:
    """Run `argv` with `data` on stdin; its stdout, or DocumentError if it was too slow or
    died without answering."""
    environment = {name: os.environ[name] for name in _ENVIRONMENT if name in os.environ}
    try:
        done = subprocess.run(  # noqa: S603 - our own interpreter and module, no shell
            argv,
            input=data,
            capture_output=True,
            timeout=timeout,
            cwd=ROOT,
            env=environment,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise DocumentError("too_slow", f"not read within {timeout:g} s") from None
    if done.returncode == -signal.SIGXCPU:
        raise DocumentError("too_slow", "the reader ran out of CPU time")
    if done.returncode != 0:
        raise DocumentError("corrupt", f"the reader stopped (exit status {done.returncode})")
    return done.stdout


def parse_isolated(module: str, data: bytes, max_pages: int, timeout: float = TIMEOUT) -> Document:
    """The document `documents.<module>` reads from `data`, parsed in a child process."""
    argv = [sys.executable, "-E", "-s", "-m", f"documents.{module}", str(max_pages), f"{timeout:g}"]
    output = run_child(argv, data, timeout)
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
        document = parse(data, max_pages)
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
