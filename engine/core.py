"""The engine: one turn of conversation, from (state, message) to (new state, replies).

The order of a turn: an open slot question is answered first, then a "Did you mean…?"
suggestion, then a numbered-menu choice, a shared location, and finally the message is
understood on its own. Flask, Twilio and storage stay outside; actions come from `skills`.
The answers to the bot's questions are in `engine.questions`, starting and finishing an
intent in `engine.fulfilment`, and saying the replies in `engine.speaker`.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from conversation import (
    ActionContext,
    ConversationState,
    Message,
    Skill,
    UserDocument,
    is_document,
)
from engine.fulfilment import DOCUMENT_VARIABLE, Fulfilment
from engine.matcher import Matcher
from engine.people import People
from engine.questions import Questions
from engine.replies import message_variables
from engine.results import Plan, Turn, Understanding
from engine.slots import CURRENCY_NAMES, ISO_CODES, NUMBER_WORDS, find_link, parse_number
from engine.speaker import Speaker
from engine.vocabulary import vocabulary
from nlp import fold, tokenize, tokens
from nlp.analysis import Analyzer
from rules import Intent, RuleSet
from rules.bulk import collector_paused
from rules.model import BUILTIN_ACTIONS


class Engine:
    """Answers messages from a `RuleSet`. `rng` picks among variants, `clock` tells the time,
    `actions` maps the action names the rules use to their `Skill` (the composition root
    passes the shipped skills), `services` are the API clients the actions may call, and
    `knowledge` the operator's knowledge base they may answer from."""

    def __init__(
        self,
        rules: RuleSet,
        rng: random.Random | None = None,
        clock: Callable[[], datetime] | None = None,
        actions: Mapping[str, Skill] | None = None,
        services: Any = None,
        knowledge: Any = None,
        people: bool = False,
        handoff_idle: float = 1800.0,
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
        self.knowledge = knowledge  # the operator's knowledge base, for the actions that ask
        self._by_name = {fold(i.name): i for i in rules.intents}
        # Looked up once: `RuleSet.intent` scans every intent, and these are asked per message.
        self._document_intent = rules.intent(self.settings.document_intent)
        self._fallback_intent = rules.intent(self.settings.fallback_intent)
        self._cancel = {" ".join(tokenize(w)) for w in self.settings.cancel}
        self._affirm = {" ".join(tokenize(w)) for w in self.settings.affirm}
        self._speaker = Speaker(rules, self._rng)
        self._fulfilment = Fulfilment(rules, self._actions, self._speaker)
        self._questions = Questions(
            rules, self.matcher, self._fulfilment, self._speaker, self._cancel
        )
        self._people = People(
            rules, self._speaker, lambda: self._clock().timestamp(), people, handoff_idle
        )

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
        state, back = self._people.back_if_idle(state)
        notice = back.replies if back is not None else ()
        decided = self._decide(state, message)
        if isinstance(decided, Plan):
            return replace(decided, notice=notice)
        turn = self._people.after(decided, state, message)
        turn = replace(turn, replies=notice + turn.replies)
        return Plan(state, message, turn.understanding, turn=turn)

    def hand_back(self, state: ConversationState, idle: bool = False) -> Turn:
        """`state` back with the bot after a person had it (an operator's "return to bot",
        or their silence when `idle`), and the words that tell the user."""
        return self._people.hand_back(state, idle)

    def carry_out(self, plan: Plan, documents: tuple[UserDocument, ...] = ()) -> Turn:
        """The turn `plan` leads to: its action run (with the user's `documents` when it
        reads them), its responses said."""
        if plan.turn is not None:
            return plan.turn
        state, message, intent, slots = plan.state, plan.message, plan.intent, plan.slots
        context = ActionContext(
            message,
            slots,
            state.variables,
            self._clock(),
            self._rng,
            self._services,
            self.knowledge,
            documents,
        )
        outcome = self._actions[intent.action].function(context)
        turn = self._fulfilment.finish(state, message, intent, slots, plan.understanding, outcome)
        turn = self._people.after(turn, state, message)
        return replace(turn, replies=plan.notice + turn.replies)

    def _decide(self, state: ConversationState, message: Message) -> Turn | Plan:
        phrase = " ".join(tokenize(message.text))
        understanding = self.understand(message, state)
        say, start, questions = self._speaker.say, self._fulfilment.start, self._questions
        person = self._people.before(state, message, phrase, understanding)
        if person is not None:
            return person
        if state.pending is not None:
            turn = questions.answer_pending(state, message, phrase, understanding)
            if turn is not None:
                return turn
        if understanding.matched == "cancel":  # "forget it" is never mind, never "forget me"
            return say(state.next_turn(None), self.settings.cancelled, {}, message, understanding)
        if state.suggestion and phrase in self._affirm and self.rules.intent(state.suggestion):
            chosen = Understanding(state.suggestion, 1.0, matched="suggestion")
            return start(state, message, self.rules.intent(state.suggestion), {}, chosen)
        if state.choices and parse_number(phrase) is not None:
            return questions.choice(state, message, parse_number(phrase))
        choice = parse_number(phrase) if state.menu_open and self.settings.menu else None
        if choice is not None:
            return questions.menu_choice(state, message, choice)
        if message.location is not None and not message.text.strip():
            return self._location(state, message)
        settings = self.settings
        document_intent = self._document_intent
        if document_intent is not None and any(is_document(m.content_type) for m in message.media):
            read = Understanding(document_intent.name, 1.0, matched="document")
            return start(state, message, document_intent, {}, read)
        if understanding.choices and understanding.confidence >= settings.threshold:
            return questions.clarify(state, message, understanding)
        if understanding.intent is not None and understanding.confidence >= settings.threshold:
            intent = self.rules.intent(understanding.intent)
            return start(state, message, intent, understanding.slots, understanding)
        fallback_intent = self._fallback_intent
        if (
            understanding.intent is not None
            and understanding.confidence >= settings.suggest_threshold
        ):
            answerable = self._answerable(fallback_intent, state, message)
            if answerable and not message.media:
                asked = Understanding(
                    fallback_intent.name,
                    understanding.confidence,
                    matched="fallback",
                    suggestion=understanding.intent,
                )
                return start(state, message, fallback_intent, {}, asked)
            if not answerable:
                variables = {"suggestion": understanding.intent}
                state = state.next_turn(None, suggestion=understanding.intent)
                return say(state, settings.suggestion, variables, message, understanding)
        if fallback_intent is not None and message.text.strip() and not message.media:
            # The intent's action answers if it can (the user's documents, the knowledge
            # base) and declines otherwise, which says the fallback after all.
            asked = Understanding(
                fallback_intent.name, understanding.confidence, matched="fallback"
            )
            return start(state, message, fallback_intent, {}, asked)
        if message.media:
            responses = settings.on_media
        elif not message.text.strip():
            responses = settings.on_empty
        else:
            responses = settings.fallback
        unknown = Understanding(None, understanding.confidence)
        return say(state.next_turn(None), responses, {}, message, unknown)

    def _answerable(
        self, fallback_intent: Intent | None, state: ConversationState, message: Message
    ) -> bool:
        """Whether the fallback intent should be asked before "Did you mean…?": the knowledge
        base has a passage for the message, or the user has a document of their own (which
        only the action can search: a store read). If the action finds nothing, the
        suggestion is said after all."""
        if fallback_intent is None or not message.text.strip():
            return False
        if state.variables.get(DOCUMENT_VARIABLE):
            return True
        return self.knowledge is not None and self.knowledge.answer(message.text) is not None

    def _location(self, state: ConversationState, message: Message) -> Turn | Plan:
        """A shared location with no text: the location intent with the place filled in."""
        place = message_variables(message)["place"]
        intent = (
            self.rules.intent(self.settings.location_intent)
            if self.settings.location_intent
            else None
        )
        if intent is None:
            nothing = Understanding(None, 0.0)
            return self._speaker.say(
                state.next_turn(None), self.settings.on_location, {}, message, nothing
            )
        slots = _filled(intent, ("place", "text"), place)
        understanding = Understanding(intent.name, 1.0, slots, matched="location")
        return self._fulfilment.start(state, message, intent, slots, understanding)


def _filled(intent: Intent, slot_types: tuple[str, ...], value: Any) -> dict[str, Any]:
    """`value` in the intent's first slot of the first of `slot_types` it has, if any: a
    shared location fills a place slot (or a text one), a link the url slot."""
    for slot_type in slot_types:
        for slot in intent.slots:
            if slot.type == slot_type:
                return {slot.name: value}
    return {}
