"""Wikipedia: a page's summary from the REST API; for an unknown or ambiguous title, the
closest titles from the OpenSearch API."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from skills.http import Upstream, UpstreamError, wrong_shape


@dataclass(frozen=True)
class Summary:
    title: str
    extract: str
    url: str


@dataclass(frozen=True)
class Ambiguous:
    """A disambiguation page: the topic means several things."""

    title: str
    options: tuple[str, ...]
    url: str


@dataclass(frozen=True)
class NotFound:
    suggestions: tuple[str, ...]


class WikipediaClient:
    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream

    def lookup(self, topic: str) -> Summary | Ambiguous | NotFound:
        title = quote(topic.strip().replace(" ", "_"), safe="")
        try:
            data = self.upstream.get_json(f"/api/rest_v1/page/summary/{title}")
        except UpstreamError as error:
            if error.status == 404:
                return NotFound(self.search(topic))
            raise
        if not isinstance(data, dict) or not isinstance(data.get("title"), str):
            raise wrong_shape("wiki", "summary has no title")
        url = _page_url(data)
        if data.get("type") == "disambiguation":
            options = tuple(t for t in self.search(topic) if t != data["title"])
            return Ambiguous(data["title"], options, url)
        extract = data.get("extract")
        if not isinstance(extract, str) or not extract.strip():
            return NotFound(self.search(topic))
        return Summary(data["title"], extract.strip(), url)

    def search(self, topic: str, limit: int = 5) -> tuple[str, ...]:
        """Up to `limit` titles close to `topic` (OpenSearch: [query, titles, texts, urls])."""
        data = self.upstream.get_json(
            "/w/api.php",
            {"action": "opensearch", "search": topic, "limit": limit, "format": "json"},
        )
        if not isinstance(data, list) or len(data) < 2 or not isinstance(data[1], list):
            raise wrong_shape("wiki", "opensearch answer is not [query, titles, ...]")
        return tuple(t for t in data[1] if isinstance(t, str))[:limit]


def _page_url(data: dict) -> str:
    urls = data.get("content_urls")
    if isinstance(urls, dict):
        for kind in ("mobile", "desktop"):
            page = urls.get(kind, {})
            if isinstance(page, dict) and isinstance(page.get("page"), str):
                return page["page"]
    return ""
