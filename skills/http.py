"""The one HTTP client the skills share: timeouts, bounded retries, a User-Agent naming the
bot, a cap on the bytes read, and every failure turned into an `UpstreamError`.

A skill never sees a `requests` exception: it gets domain values or an `UpstreamError` whose
`problem` says what went wrong (for the log), and answers the user politely.
"""

from __future__ import annotations

import json
import time
from typing import Any

import requests
from prometheus_client import Counter
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ReadTimeoutError
from urllib3.util.retry import Retry

USER_AGENT = "whatsapp-rule-bot/0.2 (+https://github.com/; a WhatsApp chatbot)"
READ_TIMEOUT = 5.0  # seconds to wait for each piece of an answer (BOT_UPSTREAM_TIMEOUT)
CONNECT_TIMEOUT = 3.05
MAX_JSON_BYTES = 512 * 1024

# Counted where the calls are made; GET /metrics exposes it with the rest.
UPSTREAM_ERRORS = Counter("bot_upstream_errors", "Failed third-party API calls", ["service"])


class UpstreamError(Exception):
    """A third-party API failed; `problem` says how, `status` is the HTTP status if any."""

    def __init__(self, service: str, problem: str, status: int | None = None) -> None:
        super().__init__(f"{service}: {problem}")
        self.service = service
        self.problem = problem
        self.status = status


def describe(error: requests.RequestException) -> str:
    """What went wrong, in a few words: "timed out" or "unreachable: <kind>"."""
    reason = getattr(error.args[0], "reason", None) if error.args else None
    if isinstance(error, requests.Timeout) or isinstance(reason, ReadTimeoutError):
        # With retries on, urllib3 reports a read timeout as a connection error.
        return "timed out"
    return f"unreachable: {type(error).__name__}"


def retry_policy() -> Retry:
    """Retry idempotent GETs on connection failures and gateway errors, twice, quickly. A
    read timeout is not retried: an upstream that hangs once will hang again."""
    return Retry(
        total=2,
        connect=2,
        read=0,
        status=2,
        backoff_factor=0.2,
        backoff_max=1.0,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=frozenset({"GET", "HEAD"}),
        respect_retry_after_header=False,
        raise_on_status=False,
    )


def make_session() -> requests.Session:
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry_policy(), pool_maxsize=16)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    return session


def timeouts(read: float) -> tuple[float, float]:
    """(connect, read) timeouts for requests."""
    return min(CONNECT_TIMEOUT, read), read


def read_capped(response: requests.Response, limit: int, service: str, deadline: float) -> bytes:
    """The body, at most `limit` bytes and within `deadline` seconds, or `UpstreamError`
    (a read timeout alone would let an answer trickle in forever)."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise UpstreamError(service, f"answer of {declared} bytes is over the {limit} cap")
    started = time.monotonic()
    chunks, size = [], 0
    try:
        for chunk in response.iter_content(16 * 1024):
            size += len(chunk)
            if size > limit:
                raise UpstreamError(service, f"answer over the {limit}-byte cap")
            if time.monotonic() - started > deadline:
                raise UpstreamError(service, f"answer took over {deadline:g} s")
            chunks.append(chunk)
    except requests.RequestException as error:
        raise UpstreamError(service, f"reading failed: {type(error).__name__}") from None
    finally:
        response.close()
    return b"".join(chunks)


class Upstream:
    """One third-party API: its base URL (from the environment) and JSON GETs against it."""

    def __init__(
        self,
        service: str,
        base_url: str,
        session: requests.Session,
        timeout: float = READ_TIMEOUT,
    ) -> None:
        self.service = service
        self.base_url = base_url.rstrip("/")
        self.session = session
        self.timeout = timeout

    def get_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        url = self.base_url + path
        try:
            response = self.session.get(
                url, params=params, timeout=timeouts(self.timeout), stream=True
            )
        except requests.RequestException as error:
            raise UpstreamError(self.service, describe(error)) from None
        if response.status_code != 200:
            response.close()
            raise UpstreamError(
                self.service, f"HTTP {response.status_code}", status=response.status_code
            )
        body = read_capped(response, MAX_JSON_BYTES, self.service, self.timeout + 3)
        try:
            return json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise UpstreamError(self.service, "answer is not JSON") from None


def wrong_shape(service: str, what: str) -> UpstreamError:
    return UpstreamError(service, f"answer has the wrong shape: {what}")
