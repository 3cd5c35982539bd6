"""gunicorn settings for the webhook; gunicorn reads this file from the working directory.

Twilio waits 15 s for an answer and never retries a slow one, so a worker stuck longer than
that is of no use to anyone; a deploy, on the other hand, must let in-flight messages finish.
"""

import contextlib
import ctypes
import os
import tempfile

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
