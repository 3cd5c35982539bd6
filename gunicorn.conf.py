"""gunicorn settings for the webhook; gunicorn reads this file from the working directory.

Twilio waits 15 s for an answer and never retries a slow one, so a worker stuck longer than
that is of no use to anyone; a deploy, on the other hand, must let in-flight messages finish.
"""

import contextlib
import ctypes
import os
import tempfile

from gunicorn.workers.gthread import ThreadWorker

# Workers add up their metrics through files in one folder (prometheus-client's
# multiprocess mode); it must be set before they import the app.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="bot-metrics-")

# glibc gives each new thread its own malloc arena (up to 8 per core), and a threaded worker
# keeps every one of them half full: capping them at 2 saves a few MB per worker at no
# measurable cost (bench/load.py). Set here in the master, so every forked worker has it.
M_ARENA_MAX = -8
with contextlib.suppress(OSError, AttributeError):  # not glibc (macOS, musl): no arenas
    ctypes.CDLL("libc.so.6").mallopt(M_ARENA_MAX, int(os.environ.get("MALLOC_ARENA_MAX", "2")))

# Conversations live in the store (SQLite or Redis), not in the process, so any worker can
# answer any message; a per-user lock in the store keeps one user's messages in order.
# Processes use both cores. gthread serves the webhook and the web chat's WebSockets
# together: an open chat holds one thread, so there are 32, and the app accepts at most
# BOT_CHAT_MAX_SOCKETS (16) chats per process, which leaves the rest for Twilio.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
# The app is imported once, in the master; the workers fork from it and share its pages:
# 33 MB PSS a worker instead of 59 MB (bench/memory.py). The store's connections, the
# thread pool and the Redis hub's listener are opened in each worker after the fork. New
# code then takes a restart, not a HUP.
preload_app = True
threads = int(os.environ.get("GUNICORN_THREADS", "32"))
# Kill a worker silent for longer than Twilio is willing to wait.
timeout = 15
# On SIGTERM, give in-flight requests as long as Twilio would wait, and a little more.
graceful_timeout = 20
keepalive = 5
# Twilio's webhook body is small; refuse absurd request lines and header floods early.
limit_request_line = 8190
limit_request_fields = 100
accesslog = None  # the app logs each message itself, without phone numbers
errorlog = "-"


# A process runs Python on one thread at a time (the GIL), and a webhook request hands it over
# around every SQLite statement and socket call. With a worker's threads spread over the
# cores, each hand-over wakes a thread on another core: measured side by side with wrk on
# the 2-core development machine, the bot used about a fifth more CPU a message and answered
# 13-30% fewer at 8 connections than with each worker kept on one core. So each threaded
# worker keeps to one core, the one the fewest live workers use, of those this process may
# use (Linux only). Sync workers, one thread each, are left to the scheduler.
_cores: dict[int, int] = {}  # the master's record: worker age -> core


def pre_fork(server, worker):
    """Choose the new worker's core, before the fork, in the master."""
    if not isinstance(worker, ThreadWorker) or not hasattr(os, "sched_setaffinity"):
        return
    live = {sibling.age for sibling in server.WORKERS.values()}
    for age in [age for age in _cores if age not in live]:
        del _cores[age]
    _cores[worker.age] = min(sorted(os.sched_getaffinity(0)), key=list(_cores.values()).count)


def post_fork(server, worker):
    """Keep the worker, and every thread it starts, on its core."""
    if worker.age in _cores:
        with contextlib.suppress(OSError):  # a container may refuse: run unpinned
            os.sched_setaffinity(0, {_cores[worker.age]})


def post_worker_init(worker):
    """On SIGTERM, also tell open web chats to close, then stop as gunicorn would."""
    import signal

    from channels import webchat

    stop = signal.getsignal(signal.SIGTERM)

    def closing(signum, frame):
        webchat.CLOSING.set()
        if callable(stop):
            stop(signum, frame)

    signal.signal(signal.SIGTERM, closing)


def child_exit(server, worker):
    """A dead worker's live gauges are dropped; its counters stay in the sum."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
