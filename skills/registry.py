"""Where the shipped actions register themselves, by name, with `@action`."""

from __future__ import annotations

from collections.abc import Callable

from conversation import Action, Skill

_REGISTERED: dict[str, Skill] = {}


def action(
    name: str, outputs: tuple[str, ...] = (), quick: bool = False, reads_documents: bool = False
) -> Callable[[Action], Action]:
    """Register `function` as the action `name`, providing the variables in `outputs`.

    `quick=True` promises that the action never waits for anything (no network, no files):
    its messages are then answered on the request's own thread. Any other action runs on
    the pool, under the reply budget, because it may be slow. `reads_documents=True` gives
    it the user's kept documents (`ActionContext.documents`)."""

    def register(function: Action) -> Action:
        _REGISTERED[name] = Skill(function, frozenset(outputs), quick, reads_documents)
        return function

    return register


def registered() -> dict[str, Skill]:
    """Every action registered so far, by name."""
    return dict(_REGISTERED)
