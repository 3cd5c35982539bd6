"""Actions: Python functions that rule files name with `action:`.

An action gets the message, the filled slots and the user's memory, and returns an
`Outcome`: variables for the intent's response templates, media to send, and whether to
forget the user. `skills.live` calls third-party APIs (one module per API) and falls back
to `skills.offline`, the answers that need no network, when an API fails or no
`services` are given.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # engine imports skills; the types alone are needed here
    from engine.message import Message
    from skills.services import Services


@dataclass(frozen=True)
class ActionContext:
    """What an action may look at: the message, its slots, the memory, the time, the dice."""

    message: Message
    slots: Mapping[str, Any]
    memory: Mapping[str, str]
    now: datetime
    rng: random.Random
    services: Services | None = None  # the API clients; None in tests that want no network


@dataclass(frozen=True)
class Outcome:
    """What an action produced: template variables, media URLs, and a request to forget."""

    variables: dict[str, str] = field(default_factory=dict)
    media: tuple[str, ...] = ()
    forget: bool = False


Action = Callable[[ActionContext], Outcome]


@dataclass(frozen=True)
class Registered:
    function: Action
    outputs: frozenset[str]
    quick: bool = False


_REGISTRY: dict[str, Registered] = {}


def action(
    name: str, outputs: tuple[str, ...] = (), quick: bool = False
) -> Callable[[Action], Action]:
    """Register `function` as the action `name`, providing the variables in `outputs`.

    `quick=True` promises that the action never waits for anything (no network, no files):
    its messages are then answered on the request's own thread. Any other action runs on
    the pool, under the reply budget, because it may be slow."""

    def register(function: Action) -> Action:
        _REGISTRY[name] = Registered(function, frozenset(outputs), quick)
        return function

    return register


def registry() -> dict[str, Registered]:
    from skills import live, offline  # noqa: F401 -- registers the shipped actions

    return dict(_REGISTRY)


def quick_actions() -> frozenset[str]:
    """The registered actions that promise never to wait (see `action`)."""
    return frozenset(name for name, entry in registry().items() if entry.quick)


def action_outputs() -> dict[str, frozenset[str]]:
    """Each registered action's name and the template variables it provides."""
    return {name: entry.outputs for name, entry in registry().items()}
