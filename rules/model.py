"""The plain structure the matcher walks: what a loaded rule set is made of.

The loader builds these from YAML and checks them; nothing here parses or matches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

BUILTIN_SLOT_TYPES = frozenset({"text", "number", "currency", "url", "email", "place", "date"})
# Slot types whose value is taken as a span of the message's own words.
SPAN_SLOT_TYPES = frozenset({"text", "place"})
# Actions the engine itself performs: `repeat` runs the previous intent again ("another one").
BUILTIN_ACTIONS = frozenset({"repeat"})


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
class Slot:
    """A value an intent can take from the message; `ask` makes it required."""

    name: str
    type: str = "text"
    ask: str = ""
    refuse: frozenset[str] = frozenset()  # folded words a value may not contain ("my")

    @property
    def required(self) -> bool:
        return bool(self.ask)


class Mark(NamedTuple):
    """A slot value marked in an example (`weather in [Lisbon](city)`): which slot, and where
    its value stands in the example's plain text."""

    slot: str
    start: int
    end: int


class Literal(NamedTuple):
    """A word of a pattern, compared by stem."""

    word: str
    stem: str


class SlotRef(NamedTuple):
    """A `{name}` or `{name:type}` placeholder in a pattern."""

    name: str
    type: str


@dataclass(frozen=True)
class Pattern:
    """`weather in {city}`: words and slot placeholders, matched in order."""

    text: str
    parts: tuple[Literal | SlotRef, ...]


@dataclass(frozen=True)
class Intent:
    """Something a user may want, how they say it, and what the bot answers.

    An intent with no responses and no action is silent on purpose: the bot says nothing.
    """

    name: str
    examples: tuple[str, ...] = ()  # plain text: marked values without their brackets
    marks: tuple[tuple[Mark, ...], ...] = ()  # per example, its marked slot values
    patterns: tuple[Pattern, ...] = ()
    keywords: tuple[str, ...] = ()
    responses: tuple[Response, ...] = ()
    otherwise: tuple[Response, ...] = ()
    slots: tuple[Slot, ...] = ()
    action: str = ""
    context: tuple[str, ...] = ()
    remember: tuple[str, ...] = ()
    description: str = ""
    priority: int = 0
    source: str = ""

    def slot(self, name: str) -> Slot | None:
        return next((s for s in self.slots if s.name == name), None)


@dataclass(frozen=True)
class Settings:
    """Rule-set-wide behaviour: fallback and special replies, wording, menu and thresholds."""

    fallback: tuple[Response, ...]
    on_media: tuple[Response, ...] = ()
    on_location: tuple[Response, ...] = ()
    on_empty: tuple[Response, ...] = ()
    cancelled: tuple[Response, ...] = (Response("OK, cancelled."),)
    suggestion: tuple[Response, ...] = (Response("Did you mean *{suggestion}*? (yes/no)"),)
    menu_invalid: tuple[Response, ...] = (Response("Please pick a number from 1 to {count}."),)
    clarify: tuple[Response, ...] = (
        Response("I'm not sure which you meant:\n{choices}\nReply with a number."),
    )
    gave_up: tuple[Response, ...] = (
        Response(
            "Sorry, I still didn't get that, so let's leave it. Type *help* to see what I can do."
        ),
    )
    # A person instead of the bot (engine/people.py): what is said when one is offered, taken
    # on, declined, handed back by an operator or after their silence, or not to be had.
    human_offer: tuple[Response, ...] = (
        Response("Sorry this isn't going well. 🙏 Would you like me to get a person?\n1 Yes\n2 No"),
    )
    human_handover: tuple[Response, ...] = (
        Response(
            "OK, I've asked a person to take over. 🙋 Someone from the team will reply here; "
            "until then I'll stay quiet."
        ),
    )
    human_declined: tuple[Response, ...] = (
        Response("OK, I'll keep trying. 🙂 Type *help* to see what I can do."),
    )
    human_back: tuple[Response, ...] = (
        Response("You're back with the bot. 🤖 Type *help* to see what I can do."),
    )
    human_idle: tuple[Response, ...] = (
        Response(
            "Nobody from the team has written for a while, so you're back with the bot. 🤖 "
            "Ask for a person again any time."
        ),
    )
    human_unavailable: tuple[Response, ...] = (
        Response("Sorry, nobody from the team can chat here right now. 🙏"),
    )
    human_intent: str = ""  # an explicit request for a person goes to this intent
    location_intent: str = ""
    link_intent: str = ""
    document_intent: str = ""  # a document the user sends goes to this intent
    fallback_intent: str = ""  # what nothing matched goes to this intent's action first
    substitutions: dict[str, str] = field(default_factory=dict)
    synonyms: dict[str, str] = field(default_factory=dict)
    cancel: tuple[str, ...] = ("cancel", "stop", "never mind", "nevermind", "forget it")
    affirm: tuple[str, ...] = ("yes", "yeah", "yep", "y", "sure", "ok", "okay", "please", "👍")
    menu: tuple[str, ...] = ()
    threshold: float = 0.5
    suggest_threshold: float = 0.3


@dataclass(frozen=True)
class RuleSet:
    """All intents from the rule files, the custom entity lists and the settings."""

    intents: tuple[Intent, ...]
    settings: Settings
    entities: dict[str, dict[str, str]] = field(default_factory=dict)
    files: tuple[str, ...] = ()

    def intent(self, name: str) -> Intent | None:
        return next((i for i in self.intents if i.name == name), None)

    @cached_property  # asked once per template when rules load: 2000 intents, 4000 times
    def memory_variables(self) -> frozenset[str]:
        return frozenset(name for intent in self.intents for name in intent.remember)
