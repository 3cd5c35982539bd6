"""The engine: one turn of conversation, from (state, message) to (new state, replies).

The order of a turn: an open slot question is answered first, then a "Did you mean…?"
suggestion, then a numbered-menu choice, a shared location, and finally the message is
understood on its own. Flask, Twilio and storage stay outside; actions come from `skills`.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from conversation import ActionContext, ConversationState, Message, Outcome, Pending, Reply, Skill
from engine.matcher import Matcher, Understanding
from engine.replies import choose, message_variables, render, slot_text
from engine.slots import CURRENCY_NAMES, ISO_CODES, NUMBER_WORDS, find_link, parse_number
from engine.vocabulary import vocabulary
from nlp import fold, tokenize, tokens
from nlp.analysis import Analyzer
from rules import Intent, Response, RuleSet
from rules.bulk import collector_paused
from rules.model import BUILTIN_ACTIONS

MAX_ATTEMPTS = 2  # times a slot question is asked again before the bot lets it go


@dataclass(frozen=True)
class Turn:
    """The outcome of one message: the state to keep, what to say, what was understood, and
    whether everything about the user must be forgotten."""

    state: ConversationState
    replies: tuple[Reply, ...]
    understanding: Understanding
    forget: bool = False


@dataclass(frozen=True)
class Plan:
    """How a message will be answered, decided before anything slow runs: the finished
    `turn`, or the `intent` whose action is still to run with `slots`. `may_wait` says
    whether that action may wait for the network, so the caller can give it a thread of
    its own; `carry_out` finishes the plan."""

    state: ConversationState
    message: Message
    understanding: Understanding
    turn: Turn | None = None
    intent: Intent | None = None
    slots: dict[str, Any] = field(default_factory=dict)
    may_wait: bool = False


class Engine:
    """Answers messages from a `RuleSet`. `rng` picks among variants, `clock` tells the time,
    `actions` maps the action names the rules use to their `Skill` (the composition root
    passes the shipped skills), and `services` are the API clients the actions may call."""

    def __init__(
        self,
        rules: RuleSet,
        rng: random.Random | None = None,
        clock: Callable[[], datetime] | None = None,
        actions: Mapping[str, Skill] | None = None,
        services: Any = None,
    ) -> None:
        self.rules = rules
        self.settings = rules.settings
        with collector_paused():  # thousands of long-lived objects, and no cycles
            # Each example tokenised once, for the vocabulary and the matcher: 2000 intents
            # have 16,000 examples, twice what the tokens cache holds.
            tokenized = {t: tokens(t) for intent in rules.intents for t in intent.examples}
            words = (
                vocabulary(rules, tokenized)
                + list(CURRENCY_NAMES)
                + list(NUMBER_WORDS)
                + [c.lower() for c in ISO_CODES]
            )
            self.analyzer = Analyzer(words, self.settings.substitutions, self.settings.synonyms)
            self.matcher = Matcher(rules, self.analyzer, tokenized)
        self._rng = rng or random.Random()  # noqa: S311 -- picks a phrasing, not a secret
        self._clock = clock or (lambda: datetime.now(UTC))
        self._actions = dict(actions or {})
        named = {i.action for i in rules.intents if i.action} - BUILTIN_ACTIONS
        missing = sorted(named - self._actions.keys())
        if missing:
            raise ValueError(f"the rules name actions the engine was not given: {missing}")
        self._services = services  # the skills' API clients; None: offline answers
        self._by_name = {fold(i.name): i for i in rules.intents}
        self._cancel = {" ".join(tokenize(w)) for w in self.settings.cancel}
        self._affirm = {" ".join(tokenize(w)) for w in self.settings.affirm}
        self._menu = self._menu_text()  # the rules do not change, so neither does the menu

    # -- understanding ------------------------------------------------------------------------

    def understand(self, message: Message, state: ConversationState | None = None) -> Understanding:
        """The intent behind `message`; a button payload naming an intent wins outright."""
        if message.button is not None and message.button.payload:
            intent = self._by_name.get(fold(message.button.payload.strip()))
            if intent is not None:
                return Understanding(intent.name, 1.0, matched="button")
        if not message.text.strip():
            return Understanding(None, 0.0)
        if " ".join(tokenize(message.text)) in self._cancel:
            return Understanding(None, 0.0, matched="cancel")
        link = find_link(message.text) if self.settings.link_intent else None
        intent = self.rules.intent(self.settings.link_intent) if link else None
        if intent is not None:  # a message holding a URL goes to the link intent
            return Understanding(intent.name, 1.0, _filled(intent, ("url",), link), matched="link")
        after = state.last_intent if state is not None else None
        return self.matcher.understand(message.text, after)

    # -- one turn -----------------------------------------------------------------------------

    def respond(self, state: ConversationState, message: Message) -> Turn:
        """The turn for `message`, its action (if any) run on this thread."""
        return self.carry_out(self.plan(state, message))

    def plan(self, state: ConversationState, message: Message) -> Plan:
        """Understand `message` and decide the answer; an action is left for `carry_out`."""
        decided = self._decide(state, message)
        if isinstance(decided, Plan):
            return decided
        return Plan(state, message, decided.understanding, turn=decided)

    def carry_out(self, plan: Plan) -> Turn:
        """The turn `plan` leads to: its action run, its responses said."""
        if plan.turn is not None:
            return plan.turn
        state, message, intent, slots = plan.state, plan.message, plan.intent, plan.slots
        context = ActionContext(
            message, slots, state.variables, self._clock(), self._rng, self._services
        )
        outcome = self._actions[intent.action].function(context)
        return self._finish(state, message, intent, slots, plan.understanding, outcome)

    def _decide(self, state: ConversationState, message: Message) -> Turn | Plan:
        phrase = " ".join(tokenize(message.text))
        understanding = self.understand(message, state)
        if state.pending is not None:
            turn = self._answer_pending(state, message, phrase, understanding)
            if turn is not None:
                return turn
        if understanding.matched == "cancel":  # "forget it" is never mind, never "forget me"
            return self._say(
                state.next_turn(None), self.settings.cancelled, {}, message, understanding
            )
        if state.suggestion and phrase in self._affirm and self.rules.intent(state.suggestion):
            chosen = Understanding(state.suggestion, 1.0, matched="suggestion")
            return self._start(state, message, self.rules.intent(state.suggestion), {}, chosen)
        if state.choices and parse_number(phrase) is not None:
            return self._choice(state, message, parse_number(phrase))
        choice = parse_number(phrase) if state.menu_open and self.settings.menu else None
        if choice is not None:
            return self._menu_choice(state, message, choice)
        if message.location is not None and not message.text.strip():
            return self._location(state, message)
        settings = self.settings
        if understanding.choices and understanding.confidence >= settings.threshold:
            return self._clarify(state, message, understanding)
        if understanding.intent is not None and understanding.confidence >= settings.threshold:
            intent = self.rules.intent(understanding.intent)
            return self._start(state, message, intent, understanding.slots, understanding)
        if (
            understanding.intent is not None
            and understanding.confidence >= settings.suggest_threshold
        ):
            variables = {"suggestion": understanding.intent}
            state = state.next_turn(None, suggestion=understanding.intent)
            return self._say(state, settings.suggestion, variables, message, understanding)
        if message.media:
            responses = settings.on_media
        elif not message.text.strip():
            responses = settings.on_empty
        else:
            responses = settings.fallback
        return self._say(
            state.next_turn(None),
            responses,
            {},
            message,
            Understanding(None, understanding.confidence),
        )

    def _answer_pending(
        self, state: ConversationState, message: Message, phrase: str, understanding: Understanding
    ) -> Turn | Plan | None:
        """Fill the slot the bot asked for, or give way to a clearly different request."""
        pending = state.pending
        intent = self.rules.intent(pending.intent)
        if intent is None:
            return None
        if phrase in self._cancel:
            return self._say(
                state.next_turn(None), self.settings.cancelled, {}, message, understanding
            )
        switching = understanding.intent not in (None, intent.name)
        if switching and understanding.confidence >= max(0.75, self.settings.threshold):
            return None
        slots = dict(pending.slots)
        if understanding.intent == intent.name:
            # A restated request ("weather in Rome") may fill open slots, never change filled ones.
            slots.update({k: v for k, v in understanding.slots.items() if k not in slots})
        if pending.asking not in slots:
            value = self.matcher.fill(intent.slot(pending.asking).type, message.text)
            if value is None:
                if pending.attempts + 1 >= MAX_ATTEMPTS:
                    return self._say(
                        state.next_turn(None), self.settings.gave_up, {}, message, understanding
                    )
                again = Pending(intent.name, slots, pending.asking, pending.attempts + 1)
                question = (Response(intent.slot(pending.asking).ask),)
                return self._say(
                    state.next_turn(intent.name, pending=again),
                    question,
                    slots,
                    message,
                    understanding,
                )
            slots[pending.asking] = value
        filled = Understanding(intent.name, 1.0, slots, matched="answer")
        return self._start(state, message, intent, slots, filled)

    def _clarify(
        self, state: ConversationState, message: Message, understanding: Understanding
    ) -> Turn:
        """Two intents too close to call: ask which one, as a numbered choice."""
        lines = [
            f"{number}. {self.rules.intent(name).description or name}"
            for number, name in enumerate(understanding.choices, start=1)
        ]
        asked = state.next_turn(None, choices=understanding.choices, asked=message.text)
        variables = {"choices": "\n".join(lines)}
        return self._say(asked, self.settings.clarify, variables, message, understanding)

    def _choice(self, state: ConversationState, message: Message, number: float) -> Turn | Plan:
        """The answer to a clarifying question: the chosen intent, with the slots of the
        message that raised the question."""
        if number != int(number) or not 1 <= number <= len(state.choices):
            variables = {"count": str(len(state.choices))}
            again = state.next_turn(None, choices=state.choices, asked=state.asked)
            return self._say(
                again, self.settings.menu_invalid, variables, message, Understanding(None, 0.0)
            )
        intent = self.rules.intent(state.choices[int(number) - 1])
        if intent is None:
            return self._say(
                state.next_turn(None), self.settings.fallback, {}, message, Understanding(None, 0.0)
            )
        slots = self.matcher.slots_for(intent, state.asked)
        chosen = Understanding(intent.name, 1.0, slots, matched="choice")
        return self._start(state, message, intent, slots, chosen)

    def _menu_choice(
        self, state: ConversationState, message: Message, number: float
    ) -> Turn | Plan:
        menu = self.settings.menu
        if number != int(number) or not 1 <= number <= len(menu):
            variables = {"count": str(len(menu))}
            again = state.next_turn(state.last_intent, menu_open=True)
            return self._say(
                again, self.settings.menu_invalid, variables, message, Understanding(None, 0.0)
            )
        intent = self.rules.intent(menu[int(number) - 1])
        return self._start(
            state, message, intent, {}, Understanding(intent.name, 1.0, matched="menu")
        )

    def _location(self, state: ConversationState, message: Message) -> Turn | Plan:
        place = message_variables(message)["place"]
        intent = (
            self.rules.intent(self.settings.location_intent)
            if self.settings.location_intent
            else None
        )
        if intent is None:
            return self._say(
                state.next_turn(None),
                self.settings.on_location,
                {},
                message,
                Understanding(None, 0.0),
            )
        slots = _filled(intent, ("place", "text"), place)
        understanding = Understanding(intent.name, 1.0, slots, matched="location")
        return self._start(state, message, intent, slots, understanding)

    def _start(
        self,
        state: ConversationState,
        message: Message,
        intent: Intent,
        slots: dict[str, Any],
        understanding: Understanding,
    ) -> Turn | Plan:
        """Ask for the first missing required slot, or complete the intent."""
        if intent.action == "repeat" and state.last_intent and self.rules.intent(state.last_intent):
            intent = self.rules.intent(state.last_intent)
            understanding = Understanding(intent.name, understanding.confidence, matched="repeat")
        for slot in intent.slots:
            if slot.required and slot.name not in slots:
                pending = Pending(intent.name, dict(slots), slot.name)
                next_state = state.next_turn(intent.name, pending=pending)
                return self._say(next_state, (Response(slot.ask),), slots, message, understanding)
        if (
            intent.action and intent.action not in BUILTIN_ACTIONS
        ):  # "repeat" with nothing to repeat
            may_wait = not self._actions[intent.action].quick
            return Plan(state, message, understanding, None, intent, slots, may_wait)
        return self._finish(state, message, intent, slots, understanding, Outcome())

    def _finish(
        self,
        state: ConversationState,
        message: Message,
        intent: Intent,
        slots: dict[str, Any],
        understanding: Understanding,
        outcome: Outcome,
    ) -> Turn:
        if outcome.forget:
            fresh = ConversationState(last_intent=intent.name)
            return self._say(
                fresh, intent.responses, outcome.variables, message, understanding, forget=True
            )
        memory = {
            **state.variables,
            **{n: slot_text(slots[n]) for n in intent.remember if n in slots},
        }
        variables = {**{k: slot_text(v) for k, v in slots.items()}, **outcome.variables}
        next_state = state.next_turn(intent.name, variables=memory)
        responses = intent.responses
        if not responses and not intent.otherwise and not outcome.media:
            return Turn(next_state, (), understanding)
        return self._say(
            next_state,
            responses,
            variables,
            message,
            understanding,
            media=outcome.media,
            otherwise=intent.otherwise,
        )

    # -- saying things ------------------------------------------------------------------------

    def _say(
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

    def _menu_text(self) -> str:
        lines = []
        for number, name in enumerate(self.settings.menu, start=1):
            intent = self.rules.intent(name)
            lines.append(f"{number}. {intent.description or name}")
        return "\n".join(lines)


def _filled(intent: Intent, slot_types: tuple[str, ...], value: Any) -> dict[str, Any]:
    """`value` in the intent's first slot of the first of `slot_types` it has, if any: a
    shared location fills a place slot (or a text one), a link the url slot."""
    for slot_type in slot_types:
        for slot in intent.slots:
            if slot.type == slot_type:
                return {slot.name: value}
    return {}
