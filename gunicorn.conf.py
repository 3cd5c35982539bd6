"""gunicorn settings for the webhook; gunicorn reads this file from the working directory.

Twilio waits 15 s for an answer and never retries a slow one, so a worker stuck longer than
that is of no use to anyone; a deploy, on the other hand, must let in-flight messages finish.
"""

import os
import sys

# Conversation state lives in the process until the shared store arrives (SQLite/Redis), so
# one process serves every message and threads give it concurrency. More processes would
# each keep their own memory: a user's answer could reach one that never asked the question.
workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
if workers > 1:
    print(
        f"WARNING: WEB_CONCURRENCY={workers}: each process keeps its own conversation memory; "
        "multi-turn questions and remembered names are not shared between them.",
        file=sys.stderr,
    )
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
