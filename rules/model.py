"""The plain structure the matcher walks: what a loaded rule set is made of."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a rule file, at a 1-based line."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class RuleError(Exception):
    """Rule files that cannot be loaded; `problems` lists every `file:line: message`."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class Response:
    """One response variant: a text template, optionally with media URLs to send with it."""

    text: str
    media: tuple[str, ...] = ()


@dataclass(frozen=True)
class Intent:
    """Something a user may want, the phrases that say it, and what the bot answers.

    An intent with no responses is silent on purpose: the bot sends nothing back.
    """

    name: str
    examples: tuple[str, ...]
    responses: tuple[Response, ...]
    description: str = ""
    priority: int = 0
    source: str = ""


@dataclass(frozen=True)
class RuleSet:
    """All intents from the rule files, plus the replies for what matches no intent."""

    intents: tuple[Intent, ...]
    fallback: tuple[Response, ...]
    on_media: tuple[Response, ...]
    on_location: tuple[Response, ...]
    on_empty: tuple[Response, ...]
    files: tuple[str, ...] = ()

    def intent(self, name: str) -> Intent | None:
        return next((i for i in self.intents if i.name == name), None)
