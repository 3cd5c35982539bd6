"""The Official Joke API: a random joke, `{"setup": ..., "punchline": ...}`."""

from __future__ import annotations

from dataclasses import dataclass

from skills.http import Upstream, wrong_shape


@dataclass(frozen=True)
class Joke:
    setup: str
    punchline: str


class JokesClient:
    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream

    def random(self) -> Joke:
        data = self.upstream.get_json("/random_joke")
        if not isinstance(data, dict):
            raise wrong_shape("joke", "not an object")
        setup, punchline = data.get("setup"), data.get("punchline")
        if not isinstance(setup, str) or not isinstance(punchline, str) or not setup.strip():
            raise wrong_shape("joke", "no 'setup' and 'punchline'")
        return Joke(setup.strip(), punchline.strip())
