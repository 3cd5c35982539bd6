"""Conversation tests as YAML transcripts: what the user says, what the bot should answer.

    - name: weather asks for the city
      turns:
        - user: weather
          bot: Which city            # a piece of the answer
        - user: Paris
          bot: /weather in Paris/    # /…/ is a regular expression
          intent: weather            # optional: what was understood (`fallback` for none)

The same runner serves the project's tests and rule authors (`python -m ruletools test`).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from conversation import ConversationState, Message
from engine import Engine
from rules.loader import rule_files
from skills import shipped

_TURN_KEYS = {"user", "bot", "intent", "media", "profile_name"}


@dataclass(frozen=True)
class Expected:
    user: str
    bot: str | None = None
    intent: str | None = None
    media: bool | None = None
    profile_name: str = ""


@dataclass(frozen=True)
class Conversation:
    name: str
    source: str
    turns: tuple[Expected, ...]


class TranscriptError(ValueError):
    """A transcript file that cannot be read; the message names file and problem."""


def load(path: str | Path) -> list[Conversation]:
    """Every conversation in the transcript file or folder `path`."""
    conversations = []
    for file in rule_files(Path(path)):
        try:
            data = yaml.safe_load(file.read_text(encoding="utf-8")) or []
        except yaml.YAMLError as error:
            raise TranscriptError(f"{file}: invalid YAML: {error}") from None
        if not isinstance(data, list):
            raise TranscriptError(f"{file}: a transcript file is a list of conversations")
        for number, entry in enumerate(data, start=1):
            conversations.append(_conversation(entry, f"{file}#{number}"))
    return conversations


def _conversation(entry: object, source: str) -> Conversation:
    if not isinstance(entry, dict) or not isinstance(entry.get("turns"), list):
        raise TranscriptError(f"{source}: each conversation needs 'name' and a list of 'turns'")
    turns = []
    for turn in entry["turns"]:
        if not isinstance(turn, dict) or "user" not in turn or set(turn) - _TURN_KEYS:
            known = ", ".join(sorted(_TURN_KEYS))
            raise TranscriptError(f"{source}: each turn needs 'user' and may have: {known}")
        values = {k: (bool(v) if k == "media" else str(v)) for k, v in turn.items()}
        if "intent" in turn and turn["intent"] is None:
            values["intent"] = "fallback"
        turns.append(Expected(**values))
    return Conversation(str(entry.get("name", source)), source, tuple(turns))


def run(conversation: Conversation, engine: Engine) -> list[str]:
    """Play `conversation` against `engine`; return what went differently (empty: passed)."""
    state = ConversationState()
    failures = []
    for number, expected in enumerate(conversation.turns, start=1):
        message = Message(
            "transcript", "transcript-user", body=expected.user, profile_name=expected.profile_name
        )
        turn = engine.respond(state, message)
        state = turn.state
        said = "\n".join(r.text for r in turn.replies)
        where = f"{conversation.name}, turn {number} ({expected.user!r})"
        if expected.bot is not None and not _matches(expected.bot, said):
            failures.append(f"{where}: expected {expected.bot!r}, bot said {said!r}")
        understood = turn.understanding.intent or "fallback"
        if expected.intent is not None and understood != expected.intent:
            failures.append(f"{where}: expected intent {expected.intent}, got {understood}")
        has_media = any(r.media for r in turn.replies)
        if expected.media is not None and has_media != expected.media:
            failures.append(f"{where}: expected media={expected.media}, got media={has_media}")
    return failures


def _matches(expected: str, said: str) -> bool:
    if len(expected) > 1 and expected.startswith("/") and expected.endswith("/"):
        return re.search(expected[1:-1], said) is not None
    return expected in said


def engine_for_transcripts(rules) -> Engine:
    """An engine whose random choices repeat, so transcripts give the same answers each run."""
    return Engine(rules, random.Random(0), actions=shipped())  # noqa: S311 -- repeatable phrasing, not a secret
