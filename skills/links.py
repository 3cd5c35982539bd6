"""A link's title and first sentences, fetched through the SSRF guard.

http and https only, at most 3 redirects (each checked), 1 MB, text/html or text/plain,
short timeouts. The page is read with the standard library's HTML parser: the title (or
og:title), then the description (og:description, description), else the first paragraphs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import SplitResult, urlsplit

import requests

from skills.guard import LOOPBACK, BlockedAddress, GuardedAdapter, Network
from skills.http import (
    READ_TIMEOUT,
    USER_AGENT,
    UpstreamError,
    describe,
    read_capped,
    timeouts,
)

MAX_PAGE_BYTES = 1024 * 1024
MAX_REDIRECTS = 3
SUMMARY_CHARS = 300
TEXT_TYPES = {"text/html", "text/plain", "application/xhtml+xml"}
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_SPACE = re.compile(r"\s+")
# Page furniture whose text is not the page's content.
_SKIP = frozenset({"script", "style", "noscript", "nav", "header", "footer", "aside", "form"})


@dataclass(frozen=True)
class Page:
    url: str
    title: str
    summary: str


class _Reader(HTMLParser):
    """Collects the title, the meta descriptions and the text of <p> elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.meta: dict[str, str] = {}
        self.paragraphs: list[str] = []
        self._in_title = False
        self._skipping = 0
        self._paragraph: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        values = {k: v or "" for k, v in attrs}
        if tag == "title":
            self._in_title = True
        elif tag == "meta":
            key = (values.get("property") or values.get("name") or "").lower()
            if key in {"og:title", "og:description", "description", "twitter:description"}:
                self.meta.setdefault(key, values.get("content", ""))
        elif tag in _SKIP:
            self._skipping += 1
        elif tag == "p" and not self._skipping:
            self._paragraph = []

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False
        elif tag in _SKIP and self._skipping:
            self._skipping -= 1
        elif tag == "p" and self._paragraph is not None:
            text = _SPACE.sub(" ", "".join(self._paragraph)).strip()
            if len(text) > 40:
                self.paragraphs.append(text)
            self._paragraph = None

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        elif self._paragraph is not None and not self._skipping:
            self._paragraph.append(data)


def first_sentences(text: str, limit: int = SUMMARY_CHARS) -> str:
    """Whole sentences up to `limit` characters (at least one, cut with … if needed)."""
    text = _SPACE.sub(" ", text).strip()
    kept = ""
    for sentence in _SENTENCE_END.split(text):
        if kept and len(kept) + 1 + len(sentence) > limit:
            break
        kept = f"{kept} {sentence}".strip()
    return kept if len(kept) <= limit else kept[: limit - 1].rstrip() + "…"


def summarise(body: str, content_type: str) -> tuple[str, str]:
    """(title, summary) of a page."""
    if content_type == "text/plain":
        lines = [line.strip() for line in body.splitlines() if line.strip()]
        title = lines[0][:120] if lines else ""
        return title, first_sentences(" ".join(lines[1:]) if len(lines) > 1 else "")
    reader = _Reader()
    try:
        reader.feed(body)
        reader.close()
    except (AssertionError, ValueError):  # pragma: no cover -- the parser is lenient
        pass
    title = _SPACE.sub(" ", reader.meta.get("og:title") or reader.title).strip()
    description = (
        reader.meta.get("og:description")
        or reader.meta.get("description")
        or reader.meta.get("twitter:description")
        or " ".join(reader.paragraphs[:3])
    )
    return title[:200], first_sentences(description)


def parse_link(url: str) -> SplitResult:
    """The parts of an http(s) link with a host; UpstreamError for anything else.

    `urlsplit` raises ValueError for a broken IPv6 literal (`http://[::1`, `http://[zz]/`),
    and `.port` for a port out of range: a user sent them, so they are answers, not crashes.
    An IPv6 literal that parses is judged by the guard like any other address.
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- parsed now, so a bad port is refused here, not later
    except ValueError:
        raise UpstreamError("link", "not a valid link") from None
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        raise UpstreamError("link", "only http and https links can be read")
    return parts


def link_host(url: str) -> str:
    """The host of `url` to show the user, or "" when it has none or cannot be parsed."""
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


class LinkPreviewer:
    """Fetches user-sent links safely; `allowed` networks are let through (tests only)."""

    def __init__(
        self,
        allow_private: bool = False,
        allowed: tuple[Network, ...] = (),
        timeout: float = READ_TIMEOUT,
    ) -> None:
        self.timeout = timeout
        self.session = requests.Session()
        adapter = GuardedAdapter(allowed=allowed or (LOOPBACK if allow_private else ()))
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.max_redirects = MAX_REDIRECTS
        self.session.headers["User-Agent"] = USER_AGENT
        self.session.headers["Accept"] = "text/html, text/plain;q=0.9"
        self.session.trust_env = False  # no proxies from the environment: we pin addresses

    def preview(self, url: str) -> Page:
        parts = parse_link(url)
        try:
            response = self.session.get(url, timeout=timeouts(self.timeout), stream=True)
        except BlockedAddress as error:
            raise UpstreamError("link", f"refused: {error}") from None
        except requests.TooManyRedirects:
            raise UpstreamError("link", f"more than {MAX_REDIRECTS} redirects") from None
        except requests.RequestException as error:
            raise UpstreamError("link", describe(error)) from None
        if response.status_code != 200:
            response.close()
            raise UpstreamError("link", f"HTTP {response.status_code}", response.status_code)
        header = response.headers.get("Content-Type", "")
        content_type = header.split(";")[0].strip().lower()
        if content_type not in TEXT_TYPES:
            response.close()
            raise UpstreamError("link", f"not a web page ({content_type or 'no type'})")
        body = read_capped(response, MAX_PAGE_BYTES, "link", self.timeout + 3)
        # requests assumes ISO-8859-1 for text without a charset; the web is UTF-8.
        charset = response.encoding if "charset=" in header.lower() else "utf-8"
        try:
            text = body.decode(charset or "utf-8", errors="replace")
        except LookupError:
            text = body.decode("utf-8", errors="replace")
        title, summary = summarise(text, "text/plain" if content_type == "text/plain" else "html")
        return Page(response.url, title or parts.hostname, summary)
