"""The plain values one message leads to: what was understood (`Understanding`), how it will
be answered (`Plan`), and the finished turn (`Turn`). The dialogue, the pipeline and the
evaluation tools read them; nothing in them acts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from conversation import ConversationState, Message, Reply, UserDocument
from rules import Intent


@dataclass(frozen=True)
class Candidate:
    intent: str
    confidence: float


@dataclass(frozen=True)
class Understanding:
    """What the engine made of a message: the intent (None for fallback) and how sure it is."""

    intent: str | None
    confidence: float
    slots: dict[str, Any] = field(default_factory=dict)
    alternatives: tuple[Candidate, ...] = ()
    matched: str = ""
    choices: tuple[str, ...] = ()  # intents too close to call: the bot asks which one
    # The intent "Did you mean…?" would have offered, when the fallback intent was asked
    # first: said after all if its action declines.
    suggestion: str | None = None


NOTHING = Understanding(intent=None, confidence=0.0)


@dataclass(frozen=True)
class Turn:
    """The outcome of one message: the state to keep, what to say, what was understood, and
    whether everything about the user must be forgotten."""

    state: ConversationState
    replies: tuple[Reply, ...]
    understanding: Understanding
    forget: bool = False
    document: UserDocument | None = None  # to keep for the user's questions


@dataclass(frozen=True)
class Plan:
    """How a message will be answered, decided before anything slow runs: the finished
    `turn`, or the `intent` whose action is still to run with `slots`. `may_wait` says
    whether that action may wait for the network, so the caller can give it a thread of
    its own, and `reads_documents` whether the caller must fetch the user's documents for
    it; `carry_out` finishes the plan."""

    state: ConversationState
    message: Message
    understanding: Understanding
    turn: Turn | None = None
    intent: Intent | None = None
    slots: dict[str, Any] = field(default_factory=dict)
    may_wait: bool = False
    reads_documents: bool = False  # its action wants the user's kept documents
    notice: tuple[Reply, ...] = ()  # said first: the conversation came back to the bot
