"""Dog CEO (`{"message": url}`) and The Cat API (`[{"url": ...}]`): a random picture's URL."""

from __future__ import annotations

from urllib.parse import urlsplit

from skills.http import Upstream, wrong_shape

MAX_URL = 2000


def _picture_url(value: object, service: str) -> str:
    """Only an http(s) URL of sane length goes to WhatsApp as media."""
    if not isinstance(value, str) or len(value) > MAX_URL:
        raise wrong_shape(service, "no picture URL")
    parts = urlsplit(value.strip())
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise wrong_shape(service, "picture URL is not http(s)")
    return value.strip()


class DogClient:
    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream

    def random(self) -> str:
        data = self.upstream.get_json("/api/breeds/image/random")
        if not isinstance(data, dict) or data.get("status", "success") != "success":
            raise wrong_shape("dog", "not a successful answer")
        return _picture_url(data.get("message"), "dog")


class CatClient:
    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream

    def random(self) -> str:
        data = self.upstream.get_json("/v1/images/search")
        if not isinstance(data, list) or not data or not isinstance(data[0], dict):
            raise wrong_shape("cat", "not a list of images")
        return _picture_url(data[0].get("url"), "cat")
