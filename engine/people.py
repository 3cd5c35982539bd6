"""A person instead of the bot: offering one, handing the conversation over, staying quiet
while a person has it, and handing it back.

- An explicit request (the rules' `human_intent`: "talk to a person", "agent please") hands
  the conversation over at once; the user asked, so asking back would only annoy.
- A frustrated user (`nlp.frustration`: what the message says, and the conversation's
  fallbacks and repeats in a row) is offered one: "Would you like me to get a person? 1 Yes
  2 No". Yes hands over; no keeps the bot; anything else is answered as usual.
- While a person has the conversation the bot says nothing (the message is still kept, so the
  operator reads it; forget-me still works, and the pipeline still counts the rate limit).
  When no person has written for `idle` seconds (BOT_HANDOFF_IDLE_MINUTES), the next message
  finds the bot back, says so, and is answered.
- Without operators (`available` False) a request for a person gets `human_unavailable`
  (the intent's own responses when it has any), and no offer is made: a user whose message
  is frustrated and not understood is told how to reach the team (those responses) instead
  of the fallback.

The conversation state carries it all (`human_since`, `human_seen`, `offered_person`,
`fallbacks`, `said`, `repeats`), so it works on every store and host; the console hands back
with `Engine.hand_back`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace

from conversation import ConversationState, Message
from engine.results import Turn, Understanding
from engine.speaker import Speaker
from nlp.frustration import Frustration
from rules.model import RuleSet

FORGET_ACTION = "forget_me"  # still carried out while a person has the conversation
YES = frozenset({"1", "yes", "yeah", "yep", "y", "yes please", "please", "ok", "okay", "sure"})
NO = frozenset({"2", "no", "nope", "n", "no thanks", "no thank you", "not now", "nah"})


class People:
    """Decides the turns a person takes part in; `Engine` asks it before and after the bot."""

    def __init__(
        self,
        rules: RuleSet,
        speaker: Speaker,
        now: Callable[[], float],
        available: bool,
        idle: float,
        frustration: Frustration | None = None,
    ) -> None:
        self.rules = rules
        self.settings = rules.settings
        self._speaker = speaker
        self._now = now
        self.available = available
        self.idle = idle
        self._frustration = frustration or Frustration()

    def back_if_idle(self, state: ConversationState) -> tuple[ConversationState, Turn | None]:
        """`state` returned to the bot, with the turn that says so, when no person has written
        for `idle` seconds; else `state` unchanged and None."""
        if not state.with_person or self._now() - state.human_seen < self.idle:
            return state, None
        back = self.hand_back(state, idle=True)
        return back.state, back

    def before(
        self, state: ConversationState, message: Message, phrase: str, understood: Understanding
    ) -> Turn | None:
        """The turn when a person decides it: quiet while one has the conversation, the answer
        to an offer, an explicit request. None: the bot answers."""
        intent = self.rules.intent(understood.intent) if understood.intent else None
        if state.with_person:
            if intent is not None and intent.action == FORGET_ACTION:
                return None
            quiet = Understanding(understood.intent, understood.confidence, matched="person")
            return Turn(state.next_turn(state.last_intent), (), quiet)
        if state.offered_person and phrase in YES and self.available:
            return self.hand_over(state, message, understood)
        if state.offered_person and phrase in NO:
            declined = Understanding(None, understood.confidence, matched="declined_person")
            return self._say(state.next_turn(None), self.settings.human_declined, message, declined)
        asked = (
            self.settings.human_intent
            and understood.intent == self.settings.human_intent
            and understood.confidence >= self.settings.threshold
        )
        if not asked:
            return None
        if self.available:
            return self.hand_over(state, message, understood)
        if intent is not None and intent.responses:
            return None  # the intent says how to reach the team
        return self._say(
            state.next_turn(None), self.settings.human_unavailable, message, understood
        )

    def hand_over(
        self, state: ConversationState, message: Message, understood: Understanding
    ) -> Turn:
        """The conversation given to a person from now on; `matched` says "handover"."""
        now = self._now()
        name = self.settings.human_intent or understood.intent
        taken = Understanding(name, understood.confidence, matched="handover")
        handed = replace(state.next_turn(name), human_since=now, human_seen=now)
        return self._say(handed, self.settings.human_handover, message, taken)

    def hand_back(self, state: ConversationState, idle: bool = False) -> Turn:
        """The conversation back with the bot, and the words that tell the user."""
        back = replace(state.next_turn(None), human_since=0.0, human_seen=0.0)
        responses = self.settings.human_idle if idle else self.settings.human_back
        understood = Understanding(None, 1.0, matched="idle" if idle else "handback")
        return self._say(back, responses, Message("people", ""), understood)

    def after(self, turn: Turn, before: ConversationState, message: Message) -> Turn:
        """`turn` with the conversation's signals brought up to date (fallbacks and repeats in
        a row, the bot's address) and, for a frustrated user, a person offered."""
        if turn.forget:
            return turn
        phrase = message.text.strip().casefold()
        said = hashlib.blake2s(phrase.encode(), digest_size=6).hexdigest() if phrase else ""
        # The same words again after the bot missed them: a greeting said twice is not.
        again = said and said == before.said and before.fallbacks > 0
        repeats = before.repeats + 1 if again else 0
        missed = turn.understanding.intent is None and bool(phrase)
        fallbacks = before.fallbacks + 1 if missed else 0
        state = replace(
            turn.state,
            fallbacks=fallbacks,
            said=said,
            repeats=repeats,
            recipient=message.recipient or turn.state.recipient,
        )
        turn = replace(turn, state=state)
        matched = turn.understanding.matched
        if not self.available:
            plain = missed and not matched and before.pending is None
            return self._how_to_reach(turn, message) if plain else turn
        if (
            state.with_person
            or state.offered_person
            or matched in {"handover", "declined_person", "cancel", "person"}
            or not phrase
            or not self._frustration.frustrated(message.text, fallbacks, repeats)
        ):
            return turn
        offer = self._say(replace(state, offered_person=True), self.settings.human_offer, message)
        # Instead of "I didn't get that", or after a real answer.
        replies = offer.replies if missed else turn.replies + offer.replies
        return replace(turn, state=offer.state, replies=replies)

    def _how_to_reach(self, turn: Turn, message: Message) -> Turn:
        """Without operators, a user whose message itself is frustrated and was not understood
        (a plain fallback) is told how to reach the team (the human intent's responses)
        instead of "I didn't get that". Fallbacks in a row alone do not: with nobody to offer,
        "haha" after two misses is still just not understood."""
        intent = self.rules.intent(self.settings.human_intent)
        if intent is None or not intent.responses:
            return turn
        if not self._frustration.frustrated(message.text):
            return turn
        reach = self._speaker.say(turn.state, intent.responses, {}, message, turn.understanding)
        return replace(turn, replies=reach.replies)

    def _say(
        self,
        state: ConversationState,
        responses,
        message: Message,
        understood: Understanding | None = None,
    ) -> Turn:
        understanding = understood or Understanding(None, 0.0)
        return self._speaker.say(state, responses, {}, message, understanding)
