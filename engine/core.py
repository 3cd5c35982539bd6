"""The engine: one turn of conversation, from (state, message) to (new state, replies)."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass

from engine.matcher import NOTHING, PhraseMatcher, Understanding
from engine.message import Message, Reply
from engine.state import ConversationState
from nlp import fold
from rules import RuleSet
from rules.loader import TEMPLATE_VARIABLE


@dataclass(frozen=True)
class Turn:
    """The outcome of one message: the state to keep, what to say, and what was understood."""

    state: ConversationState
    replies: tuple[Reply, ...]
    understanding: Understanding


class Engine:
    """Answers messages from a `RuleSet`; `rng` makes the choice among response variants."""

    def __init__(self, rules: RuleSet, rng: random.Random | None = None) -> None:
        self.rules = rules
        self._matcher = PhraseMatcher(rules)
        self._rng = rng or random.Random()  # noqa: S311 -- picks a phrasing, not a secret
        self._by_name = {fold(i.name): i for i in rules.intents}

    def understand(self, message: Message) -> Understanding:
        """The intent behind `message`; a button payload naming an intent wins outright."""
        if message.button is not None and message.button.payload:
            intent = self._by_name.get(fold(message.button.payload.strip()))
            if intent is not None:
                return Understanding(intent=intent.name, confidence=1.0, matched="button")
        if not message.text.strip():
            return NOTHING
        return self._matcher.match(message.text)

    def respond(self, state: ConversationState, message: Message) -> Turn:
        understanding = self.understand(message)
        variables = _variables(message)
        if understanding.intent is not None:
            responses = self.rules.intent(understanding.intent).responses
        elif message.location is not None:
            responses = self.rules.on_location
        elif message.media:
            responses = self.rules.on_media
        elif not message.text.strip():
            responses = self.rules.on_empty
        else:
            responses = self.rules.fallback
        replies = ()
        if responses:
            chosen = self._rng.choice(responses)
            replies = (Reply(render(chosen.text, variables), chosen.media),)
        return Turn(state.next_turn(understanding.intent), replies, understanding)


def render(template: str, variables: Mapping[str, str]) -> str:
    """Fill `{name}` placeholders; `{{` and `}}` stand for literal braces."""
    filled = TEMPLATE_VARIABLE.sub(lambda m: variables.get(m[1], m[0]), template)
    return filled.replace("{{", "{").replace("}}", "}")


def _media_kind(content_type: str) -> str:
    kind = content_type.split("/", 1)[0].lower()
    return {"image": "picture", "video": "video", "audio": "voice note"}.get(kind, "file")


def _variables(message: Message) -> dict[str, str]:
    variables = {"profile_name": message.profile_name.strip() or "there"}
    if message.media:
        variables["media_kind"] = _media_kind(message.media[0].content_type)
    if message.location is not None:
        loc = message.location
        variables["latitude"] = f"{loc.latitude:.5f}"
        variables["longitude"] = f"{loc.longitude:.5f}"
        variables["place"] = loc.label or loc.address or f"{loc.latitude:.4f}, {loc.longitude:.4f}"
    return variables
