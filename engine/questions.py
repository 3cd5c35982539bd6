"""Answers to what the bot asked: a slot question ("Which city?"), a clarifying question
between two intents too close to call, and the numbered menu.

A slot question is asked again once, then let go; a clearly different request, or a cancel
word, gives way. A number picks from the choices or the menu; one out of range is asked for
again.
"""

from __future__ import annotations

from collections.abc import Set

from conversation import ConversationState, Message, Pending
from engine.fulfilment import Fulfilment
from engine.matcher import Matcher
from engine.results import Plan, Turn, Understanding
from engine.speaker import Speaker
from rules import Response, RuleSet

MAX_ATTEMPTS = 2  # times a slot question is asked again before the bot lets it go


class Questions:
    """Takes the answers to the bot's questions for `rules`: `matcher` reads the values in
    them, `fulfilment` carries the chosen intent through, `speaker` says the rest, and
    `cancel` holds the phrases that drop a question."""

    def __init__(
        self,
        rules: RuleSet,
        matcher: Matcher,
        fulfilment: Fulfilment,
        speaker: Speaker,
        cancel: Set[str],
    ) -> None:
        self.rules = rules
        self.settings = rules.settings
        self._matcher = matcher
        self._fulfilment = fulfilment
        self._speaker = speaker
        self._cancel = cancel

    def answer_pending(
        self, state: ConversationState, message: Message, phrase: str, understanding: Understanding
    ) -> Turn | Plan | None:
        """Fill the slot the bot asked for, or give way to a clearly different request."""
        pending = state.pending
        intent = self.rules.intent(pending.intent)
        if intent is None:
            return None
        say = self._speaker.say
        if phrase in self._cancel:
            return say(state.next_turn(None), self.settings.cancelled, {}, message, understanding)
        switching = understanding.intent not in (None, intent.name)
        if switching and understanding.confidence >= max(0.75, self.settings.threshold):
            return None
        slots = dict(pending.slots)
        if understanding.intent == intent.name:
            # A restated request ("weather in Rome") may fill open slots, never change filled ones.
            slots.update({k: v for k, v in understanding.slots.items() if k not in slots})
        if pending.asking not in slots:
            value = self._matcher.fill(intent.slot(pending.asking).type, message.text)
            if value is None:
                if pending.attempts + 1 >= MAX_ATTEMPTS:
                    return say(
                        state.next_turn(None), self.settings.gave_up, {}, message, understanding
                    )
                again = Pending(intent.name, slots, pending.asking, pending.attempts + 1)
                question = (Response(intent.slot(pending.asking).ask),)
                asked = state.next_turn(intent.name, pending=again)
                return say(asked, question, slots, message, understanding)
            slots[pending.asking] = value
        filled = Understanding(intent.name, 1.0, slots, matched="answer")
        return self._fulfilment.start(state, message, intent, slots, filled)

    def clarify(
        self, state: ConversationState, message: Message, understanding: Understanding
    ) -> Turn:
        """Two intents too close to call: ask which one, as a numbered choice."""
        lines = [
            f"{number}. {self.rules.intent(name).description or name}"
            for number, name in enumerate(understanding.choices, start=1)
        ]
        asked = state.next_turn(None, choices=understanding.choices, asked=message.text)
        variables = {"choices": "\n".join(lines)}
        return self._speaker.say(asked, self.settings.clarify, variables, message, understanding)

    def choice(self, state: ConversationState, message: Message, number: float) -> Turn | Plan:
        """The answer to a clarifying question: the chosen intent, with the slots of the
        message that raised the question."""
        say = self._speaker.say
        if number != int(number) or not 1 <= number <= len(state.choices):
            variables = {"count": str(len(state.choices))}
            again = state.next_turn(None, choices=state.choices, asked=state.asked)
            return say(
                again, self.settings.menu_invalid, variables, message, Understanding(None, 0.0)
            )
        intent = self.rules.intent(state.choices[int(number) - 1])
        if intent is None:
            return say(
                state.next_turn(None), self.settings.fallback, {}, message, Understanding(None, 0.0)
            )
        slots = self._matcher.slots_for(intent, state.asked)
        chosen = Understanding(intent.name, 1.0, slots, matched="choice")
        return self._fulfilment.start(state, message, intent, slots, chosen)

    def menu_choice(self, state: ConversationState, message: Message, number: float) -> Turn | Plan:
        """A number picked from the menu: its intent, or the menu's range asked for again."""
        menu = self.settings.menu
        if number != int(number) or not 1 <= number <= len(menu):
            variables = {"count": str(len(menu))}
            again = state.next_turn(state.last_intent, menu_open=True)
            return self._speaker.say(
                again, self.settings.menu_invalid, variables, message, Understanding(None, 0.0)
            )
        intent = self.rules.intent(menu[int(number) - 1])
        chosen = Understanding(intent.name, 1.0, matched="menu")
        return self._fulfilment.start(state, message, intent, {}, chosen)
