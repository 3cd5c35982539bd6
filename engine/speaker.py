"""Saying things: the response variant chosen for what is known, its template filled with
the slots, the message's own variables, the remembered ones and the menu, as one `Turn`."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import replace

from conversation import ConversationState, Message, Reply
from engine.replies import choose, message_variables, render
from engine.results import Turn, Understanding
from rules import Response, RuleSet


class Speaker:
    """Turns responses into replies for the rules' settings, `rng` picking among variants."""

    def __init__(self, rules: RuleSet, rng: random.Random) -> None:
        self.settings = rules.settings
        self._rng = rng
        self._menu = _menu_text(rules)  # the rules do not change, so neither does the menu

    def say(
        self,
        state: ConversationState,
        responses: tuple[Response, ...],
        variables: Mapping[str, str],
        message: Message,
        understanding: Understanding,
        *,
        media: tuple[str, ...] = (),
        otherwise: tuple[Response, ...] = (),
        forget: bool = False,
    ) -> Turn:
        """The turn that says one of `responses` (else of `otherwise`, else the fallback),
        with `media` attached; saying the menu opens it for a numbered choice."""
        values = {**message_variables(message), "menu": self._menu, **state.variables, **variables}
        chosen = choose(responses, values, self._rng) or choose(otherwise, values, self._rng)
        if chosen is None and responses:
            chosen = choose(self.settings.fallback, values, self._rng)
        if chosen is None:
            return Turn(state, (Reply("", media),) if media else (), understanding, forget)
        if "{menu}" in chosen.text and self.settings.menu:
            state = replace(state, menu_open=True)
        reply = Reply(render(chosen.text, values), chosen.media + media)
        return Turn(state, (reply,), understanding, forget)


def _menu_text(rules: RuleSet) -> str:
    lines = []
    for number, name in enumerate(rules.settings.menu, start=1):
        intent = rules.intent(name)
        lines.append(f"{number}. {intent.description or name}")
    return "\n".join(lines)
