"""Starting and finishing an understood intent: ask for its first missing required slot,
leave an action to be carried out, or say its responses; once its action has run, remember
what it says to remember and answer with the action's values and media."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from conversation import ConversationState, Message, Outcome, Pending, Skill
from engine.replies import slot_text
from engine.results import Plan, Turn, Understanding
from engine.speaker import Speaker
from rules import Intent, Response, RuleSet
from rules.model import BUILTIN_ACTIONS

# The memory variable that names the user's latest kept document (set by the skill that
# reads one), so only a user who has one costs a fetch of their documents.
DOCUMENT_VARIABLE = "document"


class Fulfilment:
    """Carries intents of `rules` through, with the `actions` they name, saying the outcome
    through `speaker`."""

    def __init__(self, rules: RuleSet, actions: Mapping[str, Skill], speaker: Speaker) -> None:
        self.rules = rules
        self._actions = actions
        self._speaker = speaker

    def start(
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
                return self._speaker.say(
                    next_state, (Response(slot.ask),), slots, message, understanding
                )
        # A built-in action left here is "repeat" with nothing to repeat: no action to run.
        if intent.action and intent.action not in BUILTIN_ACTIONS:
            skill = self._actions[intent.action]
            # Only a user with a document kept has any to fetch; then the action may wait
            # (a store read, and the first question indexes the documents), so it runs
            # under the reply budget on the pool.
            reads = skill.reads_documents and bool(state.variables.get(DOCUMENT_VARIABLE))
            may_wait = not skill.quick or reads
            return Plan(state, message, understanding, None, intent, slots, may_wait, reads)
        return self.finish(state, message, intent, slots, understanding, Outcome())

    def finish(
        self,
        state: ConversationState,
        message: Message,
        intent: Intent,
        slots: dict[str, Any],
        understanding: Understanding,
        outcome: Outcome,
    ) -> Turn:
        """The turn once the intent's action (if any) has given `outcome`."""
        say = self._speaker.say
        suggestion = understanding.suggestion
        if outcome.declined and suggestion and self.rules.intent(suggestion):
            # Asked before "Did you mean…?", the action had no answer: the suggestion after all.
            offered = Understanding(suggestion, understanding.confidence)
            suggested = self.rules.settings.suggestion
            later = state.next_turn(None, suggestion=suggestion)
            return say(later, suggested, {"suggestion": suggestion}, message, offered)
        if outcome.declined:  # the action had no answer: the fallback, as if nothing matched
            unknown = Understanding(None, understanding.confidence)
            fallback = self.rules.settings.fallback
            return say(state.next_turn(None), fallback, {}, message, unknown)
        if outcome.forget:
            fresh = ConversationState(last_intent=intent.name)
            return say(
                fresh, intent.responses, outcome.variables, message, understanding, forget=True
            )
        memory = {
            **state.variables,
            **{n: slot_text(slots[n]) for n in intent.remember if n in slots},
            **outcome.remember,
        }
        variables = {**{k: slot_text(v) for k, v in slots.items()}, **outcome.variables}
        next_state = state.next_turn(intent.name, variables=memory)
        responses = intent.responses
        if not responses and not intent.otherwise and not outcome.media:
            return Turn(next_state, (), understanding, document=outcome.document)
        turn = say(
            next_state,
            responses,
            variables,
            message,
            understanding,
            media=outcome.media,
            otherwise=intent.otherwise,
        )
        return replace(turn, document=outcome.document) if outcome.document else turn
