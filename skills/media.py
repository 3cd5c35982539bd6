"""Downloading a file a user sent: a WhatsApp attachment (Twilio's `MediaUrlN`) or a link.

Twilio serves `MediaUrlN` behind HTTP Basic auth (Account SID, Auth Token) and redirects to
its CDN. The credentials go only to a media URL of our own account on Twilio's API origin
exactly as `TWILIO_API_URL` names it (scheme, host and port), and only on the first hop:
redirects are followed here, hop by hop, never with credentials, and every hop off Twilio's
origin goes through the SSRF guard. A URL on any other host is fetched like a link: no
credentials, guarded. Every fetch is capped in redirects, bytes and total time, and the
answer must be one of the content types the caller accepts.

Failures are a `MediaError` whose `problem` (one of `PROBLEMS`) picks the kind reply and
whose `detail` is for the log; neither ever holds a URL or a credential.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from email.message import Message
from http.cookiejar import DefaultCookiePolicy
from typing import Any
from urllib.parse import SplitResult, unquote, urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import ReadTimeoutError

from skills.guard import LOOPBACK, BlockedAddress, GuardedAdapter, Network
from skills.http import CONNECT_TIMEOUT, READ_TIMEOUT, USER_AGENT, UpstreamError, describe

MAX_REDIRECTS = 3
# A whole fetch, redirects included: 10 MB in 20 s is 4 Mbit/s, far below Twilio's CDN. A
# document this slow is answered as a follow-up (the reply budget), so it may take longer
# than Twilio's 15 s webhook limit.
DEADLINE = 20.0
MB = 1024 * 1024
CHUNK = 64 * 1024
PROBLEMS = ("not_allowed", "too_large", "wrong_type", "unreachable", "too_slow", "unauthorized")
_SID = r"[A-Za-z0-9]+"


class MediaError(UpstreamError):
    """A download failed: `problem` is one of `PROBLEMS`, `detail` says more, for the log."""

    def __init__(self, problem: str, detail: str, status: int | None = None) -> None:
        super().__init__("media", problem, status)
        self.detail = detail

    def __str__(self) -> str:
        return f"media: {self.problem} ({self.detail})"


@dataclass(frozen=True)
class Fetched:
    """A downloaded file. `final_url` may carry a CDN's signed query: show it, never log it."""

    data: bytes
    content_type: str
    filename: str
    final_url: str


def media_type(header: str) -> str:
    """`Application/PDF; charset=binary` -> `application/pdf`."""
    return header.split(";", 1)[0].strip().lower()


def safe_filename(name: str) -> str:
    """The last path segment of `name`, without control characters, leading dots or length."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c) not in {"Cc", "Cf"})
    return name.strip().lstrip(".").strip()[:120]


def filename_of(disposition: str, urls: Collection[str]) -> str:
    """The name in Content-Disposition (`filename*` too), else the last segment of a URL's
    path (the final URL first), else "document"."""
    if disposition:
        header = Message()
        header["Content-Disposition"] = disposition
        try:
            named = safe_filename(header.get_filename() or "")
        except (ValueError, LookupError):  # a broken RFC 2231 value: fall back to the URL
            named = ""
        if named:
            return named
    for url in urls:
        named = safe_filename(unquote(urlsplit(url).path))
        if named:
            return named
    return "document"


def _parts(url: str) -> SplitResult:
    """The parts of an http(s) URL with a host and no user:password, or `MediaError`."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- a bad port is refused here, not deep in requests
    except ValueError:
        raise MediaError("not_allowed", "not a valid URL") from None
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        raise MediaError("not_allowed", "only http and https URLs are fetched")
    if parts.username is not None or parts.password is not None:
        # requests would turn them into an Authorization header; and no log may show them.
        raise MediaError("not_allowed", "a URL with a user name or password")
    return parts


def _origin(parts: SplitResult) -> tuple[str, str, int]:
    scheme = parts.scheme.lower()
    return scheme, parts.hostname or "", parts.port or (443 if scheme == "https" else 80)


class MediaFetcher:
    """Fetches user-sent files; `allowed` networks pass the guard (tests only)."""

    def __init__(
        self,
        twilio_url: str,
        account_sid: str,
        auth_token: str,
        max_bytes: int,
        *,
        allow_private: bool = False,
        allowed: tuple[Network, ...] = (),
        timeout: float = READ_TIMEOUT,
        deadline: float = DEADLINE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        twilio = urlsplit(twilio_url.rstrip("/"))
        self.twilio = _origin(twilio)
        self._media_path = re.compile(
            rf"{re.escape(twilio.path)}/2010-04-01/Accounts/{re.escape(account_sid)}"
            rf"/Messages/{_SID}/Media/{_SID}"
        )
        self._auth = (account_sid, auth_token) if account_sid and auth_token else None
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.deadline = deadline
        self.clock = clock
        # No retries: they multiply the time a hop takes, and the deadline is what counts.
        self._trusted = _session(HTTPAdapter())
        self._guarded = _session(GuardedAdapter(allowed or (LOOPBACK if allow_private else ())))

    @classmethod
    def from_settings(
        cls, settings: Mapping[str, Any], *, allowed: tuple[Network, ...] = ()
    ) -> MediaFetcher:
        return cls(
            settings["TWILIO_API_URL"],
            settings["TWILIO_ACCOUNT_SID"],
            settings["TWILIO_AUTH_TOKEN"],
            int(settings["BOT_MEDIA_MAX_MB"]) * MB,
            allow_private=bool(settings["BOT_ALLOW_PRIVATE_URLS"]),
            allowed=allowed,
            timeout=float(settings["BOT_UPSTREAM_TIMEOUT"]),
        )

    def fetch(self, url: str, accept: Collection[str], *, credentials: bool = True) -> Fetched:
        """The file at `url`, of a type in `accept`. Pass `credentials=False` for a link a
        user typed: Twilio's credentials then go nowhere, even to a Twilio media URL."""
        wanted = {media_type(kind) for kind in accept}
        started = self.clock()

        def time_left() -> float:
            left = self.deadline - (self.clock() - started)
            if left <= 0:
                raise MediaError("too_slow", f"over the {self.deadline:g} s deadline")
            return left

        current, authorised = url, credentials and self._auth is not None
        for _ in range(MAX_REDIRECTS + 1):
            parts = _parts(current)
            # Credentials never come back once a hop has gone without them.
            authorised = authorised and self._is_our_media(parts)
            response = self._get(current, parts, authorised, wanted, time_left())
            if not response.is_redirect:
                return self._read(response, wanted, current, url, time_left)
            current = urljoin(current, response.headers["Location"])
            response.close()
        raise MediaError("unreachable", f"more than {MAX_REDIRECTS} redirects")

    def _is_our_media(self, parts: SplitResult) -> bool:
        return _origin(parts) == self.twilio and bool(self._media_path.fullmatch(parts.path))

    def _get(
        self, url: str, parts: SplitResult, authorised: bool, wanted: set[str], left: float
    ) -> requests.Response:
        # Twilio's configured origin is trusted as it is (a loopback server in tests); every
        # other hop is pinned to an address the guard checked.
        session = self._trusted if _origin(parts) == self.twilio else self._guarded
        try:
            return session.get(
                url,
                auth=self._auth if authorised else None,
                headers={"Accept": ", ".join(sorted(wanted))},
                allow_redirects=False,
                stream=True,
                timeout=(min(CONNECT_TIMEOUT, left), min(self.timeout, left)),
            )
        except BlockedAddress as error:
            raise MediaError("not_allowed", str(error)) from None
        except requests.RequestException as error:
            problem = describe(error)
            if problem == "timed out":
                raise MediaError("too_slow", "no answer in time") from None
            raise MediaError("unreachable", problem) from None

    def _read(
        self,
        response: requests.Response,
        wanted: set[str],
        final_url: str,
        first_url: str,
        time_left: Callable[[], float],
    ) -> Fetched:
        try:
            status = response.status_code
            if status in {401, 403}:
                raise MediaError("unauthorized", f"HTTP {status}", status)
            if status != 200:
                raise MediaError("unreachable", f"HTTP {status}", status)
            content_type = media_type(response.headers.get("Content-Type", ""))
            if content_type not in wanted:
                raise MediaError("wrong_type", content_type or "no content type")
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > self.max_bytes:
                raise MediaError("too_large", f"{declared} bytes declared, cap {self.max_bytes}")
            data = self._body(response, time_left)
        finally:
            response.close()
        disposition = response.headers.get("Content-Disposition", "")
        filename = filename_of(disposition, (final_url, first_url))
        return Fetched(data, content_type, filename, final_url)

    def _body(self, response: requests.Response, time_left: Callable[[], float]) -> bytes:
        """The body, decoded, stopped at the cap and the deadline. `read1` returns after one
        socket read, so a trickle cannot hold a read for longer than the read timeout (set
        at most to the time that was left), and decoding stops at CHUNK bytes per read."""
        chunks, size = [], 0
        try:
            while chunk := response.raw.read1(CHUNK, decode_content=True):
                size += len(chunk)
                if size > self.max_bytes:
                    raise MediaError("too_large", f"over the {self.max_bytes}-byte cap")
                time_left()
                chunks.append(chunk)
        except ReadTimeoutError:
            raise MediaError("too_slow", "the body stopped coming") from None
        except (Urllib3Error, OSError) as error:
            raise MediaError("unreachable", f"reading failed: {type(error).__name__}") from None
        return b"".join(chunks)


def _session(adapter: HTTPAdapter) -> requests.Session:
    session = requests.Session()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    # The file itself, not a compressed copy of it; servers that compress anyway are decoded.
    session.headers["Accept-Encoding"] = "identity"
    # No proxies or ~/.netrc credentials from the environment, no cookies kept between users.
    session.trust_env = False
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    return session
