"""ZenQuotes: a random quote, `[{"q": text, "a": author}]`."""

from __future__ import annotations

from dataclasses import dataclass

from skills.http import Upstream, UpstreamError, wrong_shape


@dataclass(frozen=True)
class Quote:
    text: str
    author: str


class QuotesClient:
    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream

    def random(self) -> Quote:
        data = self.upstream.get_json("/api/random")
        if not isinstance(data, list) or not data or not isinstance(data[0], dict):
            raise wrong_shape("quote", "not a list of quotes")
        text, author = data[0].get("q"), data[0].get("a")
        if not isinstance(text, str) or not isinstance(author, str) or not text.strip():
            raise wrong_shape("quote", "no 'q' and 'a'")
        if author.strip().lower() == "zenquotes.io":
            # Its rate-limit notice comes dressed as a quote by "zenquotes.io".
            raise UpstreamError("quote", f"refused: {text.strip()}")
        return Quote(text.strip(), author.strip())
