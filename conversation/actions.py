"""The contract between the engine and the actions rule files name with `action:`.

An action gets an `ActionContext` (the message, the filled slots, the user's memory, the
time, the dice and the API clients) and returns an `Outcome`. A `Skill` describes one
action to the rule loader (which variables its templates may use) and to the engine
(whether it may wait for the network). The skills themselves live in `skills/`; the
composition root (`bot.py`) hands them to the loader and the engine.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from conversation.documents import UserDocument
from conversation.message import Message


@dataclass(frozen=True)
class ActionContext:
    """What an action may look at: the message, its slots, the memory, the time, the dice."""

    message: Message
    slots: Mapping[str, Any]
    memory: Mapping[str, str]
    now: datetime
    rng: random.Random
    services: Any = None  # the skills' API clients; None in tests that want no network
    knowledge: Any = None  # the operator's knowledge base (documents.KnowledgeBase), if any
    documents: tuple[UserDocument, ...] = ()  # the user's kept documents, for a skill that asks


@dataclass(frozen=True)
class Outcome:
    """What an action produced: template variables, media URLs, a request to forget; values
    to keep in the user's memory (`remember`), a document to keep for their questions, and
    `declined`: the action had no answer, so the bot says its fallback instead."""

    variables: dict[str, str] = field(default_factory=dict)
    media: tuple[str, ...] = ()
    forget: bool = False
    remember: dict[str, str] = field(default_factory=dict)
    document: UserDocument | None = None
    declined: bool = False


Action = Callable[[ActionContext], Outcome]


@dataclass(frozen=True)
class Skill:
    """One action: its function, the template variables it provides, and whether it
    promises never to wait (`quick`: no network, no files), so that its messages can be
    answered on the request's own thread, and whether it reads the user's documents
    (the pipeline then fetches them from the store for it)."""

    function: Action
    outputs: frozenset[str] = frozenset()
    quick: bool = False
    reads_documents: bool = False  # gets the user's kept documents in its context
