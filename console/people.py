"""What an operator does to a conversation, without Flask: write to the user, return the
conversation to the bot, and the idle sweep that returns the ones no person wrote in for
BOT_HANDOFF_IDLE_MINUTES.

What an operator does is kept in the user's history as an `Exchange` of channel "operator":
`text` names the operator (empty for the idle sweep) and `replies` hold what the user was
sent; `intent` is "operator" for a message and "return-to-bot" for a return. An operator's
WhatsApp message is kept under its Twilio MessageSid, so its delivery status joins it; a
return's words go out `about` the exchange's own id.

WhatsApp allows free-form messages only within 24 hours of the user's last message (Twilio
error 63016 after that), so the console works that out from the history before sending, and
says so rather than trying. Web-chat users get a frame through the hub, in the web chat's
shape, on every tab they have open.

Sending happens outside the sender's lock (Twilio may take seconds); the exchange is kept in
a turn of its own afterwards, which reads the state afresh.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from channels.followups import OUTSIDE_WINDOW, SendError
from channels.webchat_frames import message_frame
from console.context import CONSOLE_KEY, Console
from console.frames import exchange_frame, returned_frame
from conversation import ConversationState, Reply
from conversation.message import printable
from logs import sender_hash
from memory import Exchange, Store, StoreUnavailable

log = logging.getLogger("bot.console")

WINDOW = 24 * 3600.0  # WhatsApp's customer-service window, seconds
MAX_TEXT = 1600  # characters of one WhatsApp message
OPERATOR = "operator"  # the channel and intent of an operator's message
RETURNED = "return-to-bot"  # the intent of a return to the bot
SWEEP_LIMIT = 500  # conversations a sweep looks at, those with a person first


@dataclass(frozen=True)
class Done:
    """What became of an operator's action: whether it happened, and a sentence for them."""

    ok: bool
    note: str


def channel_of(sender: str) -> str:
    """The user's channel, from their key: "whatsapp", "web", or what comes before ":"."""
    return sender.partition(":")[0] if ":" in sender else "unknown"


def new_id() -> str:
    return f"op-{uuid.uuid4().hex}"


def last_user_message(history: Iterable[Exchange]) -> float | None:
    """When the user last wrote (the operators' exchanges aside), or None."""
    times = [e.at for e in history if e.channel != OPERATOR]
    return max(times) if times else None


def read_state(store: Store, sender: str) -> ConversationState:
    """The sender's state now, without holding their lock unless another message does."""
    with store.turn(sender, optimistic=True) as turn:
        if not turn.busy:
            return turn.state
    with store.turn(sender) as turn:
        return turn.state


def why_not(
    console: Console,
    sender: str,
    state: ConversationState,
    history: list[Exchange],
) -> str | None:
    """Why an operator cannot write to this user now (a sentence), or None."""
    channel = channel_of(sender)
    if channel == "web":
        return None
    if channel != "whatsapp":
        return f"Users of the {channel} channel cannot be written to from the console."
    if console.followups is None:
        return (
            "Replies to WhatsApp users go through Twilio's API, and TWILIO_ACCOUNT_SID and "
            "TWILIO_AUTH_TOKEN are not both set."
        )
    last = last_user_message(history)
    if last is None or not state.recipient:
        return (
            "The bot does not know which of its WhatsApp numbers this user wrote to: "
            "a reply can go once they write again."
        )
    if console.now() - last >= WINDOW:
        when = datetime.fromtimestamp(last, console.zone).strftime("%d %b %Y %H:%M")
        return (
            f"Outside WhatsApp's 24-hour window: the user last wrote on {when}, more than "
            "24 hours ago, so WhatsApp accepts only an approved template message now "
            f"(Twilio error {OUTSIDE_WINDOW}). They can be written to again once they write."
        )
    return None


def _deliver(console: Console, sender: str, state: ConversationState, text: str, about: str) -> str:
    """Send `text` to the user; the message id it goes under (Twilio's sid on WhatsApp).
    Raises `SendError` when Twilio does not take it."""
    if channel_of(sender) == "whatsapp":
        followups = console.followups
        assert followups is not None  # why_not said so before
        return followups.send(sender, state.recipient, text, about=about)  # records "queued"
    # The id the history keeps it under, so a web chat reading that history (a SQLite store
    # with several workers) does not show it twice.
    message_id = about or new_id()
    console.hub.publish(sender, message_frame(Reply(text), message_id=message_id))
    return message_id


def _keep(
    console: Console, sender: str, exchange: Exchange, took: bool
) -> ConversationState | None:
    """Keep an operator's exchange in a turn of its own: `human_seen` is now, and `took`
    (a message) gives the conversation to a person if the bot still had it. The state kept,
    or None when the store would not take it (the message went all the same)."""
    try:
        with console.store.turn(sender, exchange.message_id) as turn:
            if turn.busy or turn.in_flight:
                raise StoreUnavailable("the user's conversation stayed locked")
            state = turn.state
            since = state.human_since or (exchange.at if took else 0.0)
            kept = replace(state, human_since=since, human_seen=exchange.at)
            turn.keep(kept, exchange)
        if turn.duplicate is not None:  # the id names an exchange kept already
            raise StoreUnavailable(f"message id {exchange.message_id} is in the history already")
    except StoreUnavailable as error:
        log.error(
            "operator message %s to %s sent but not kept: %s",
            exchange.message_id,
            sender_hash(sender, console.answering.log_salt),
            error,
        )
        return None
    return kept


def reply(console: Console, operator: str, sender: str, text: str) -> Done:
    """Send the operator's `text` to the user and keep it in their history. Writing takes
    the conversation from the bot, if it still had it, until it is returned."""
    text = printable(text).strip()
    if not text:
        return Done(False, "Write something first.")
    if len(text) > MAX_TEXT:
        return Done(False, f"That is {len(text)} characters; WhatsApp takes {MAX_TEXT} at most.")
    try:
        state = read_state(console.store, sender)
        history = console.store.history(sender)
    except StoreUnavailable:
        return Done(False, "The conversation store is not answering: try again in a minute.")
    reason = why_not(console, sender, state, history)
    if reason is not None:
        return Done(False, reason)
    try:
        message_id = _deliver(console, sender, state, text, about="")
    except SendError as error:
        code = f" (Twilio error {error.code})" if error.code else ""
        return Done(False, f"Not sent: {error.reason}{code}.")
    exchange = Exchange(
        message_id, console.now(), OPERATOR, operator, OPERATOR, 1.0, (Reply(text),)
    )
    kept = _keep(console, sender, exchange, took=True)
    if kept is None:
        return Done(True, "Sent, but the store did not keep it: it is missing from the history.")
    console.hub.publish(CONSOLE_KEY, exchange_frame(sender, exchange, kept))
    return Done(True, "Sent.")


def return_to_bot(console: Console, sender: str, operator: str = "", idle: bool = False) -> Done:
    """Give the conversation back to the bot (`engine.hand_back`) and tell the user, in one
    turn that checks a person still has it. `idle`: the sweep does it, no operator did."""
    now = console.now()
    try:
        with console.store.turn(sender, new_id()) as turn:
            state = turn.state
            if turn.busy or turn.in_flight:
                return Done(False, "The user's conversation is busy: try again in a moment.")
            if not state.with_person:
                return Done(False, "The bot has this conversation already.")
            if idle and now - state.human_seen < console.idle_minutes * 60:
                return Done(False, "A person wrote in it since.")
            back = console.engine.hand_back(state, idle=idle)
            exchange = Exchange(
                turn.message_id, now, OPERATOR, operator, RETURNED, 1.0, back.replies
            )
            turn.keep(back.state, exchange)
    except StoreUnavailable:
        return Done(False, "The conversation store is not answering: try again in a minute.")
    console.hub.publish(CONSOLE_KEY, returned_frame(sender, exchange, back.state))
    told = _tell(console, sender, back.state, exchange)
    return Done(True, "The bot has the conversation again." + (f" {told}" if told else ""))


def _tell(console: Console, sender: str, state: ConversationState, exchange: Exchange) -> str:
    """Send a return's words to the user; "" when they went, else why not."""
    try:
        history = console.store.history(sender)
    except StoreUnavailable:
        history = [exchange]
    reason = why_not(console, sender, state, history)
    if reason is not None:
        return f"The user was not told: {reason}"
    for words in exchange.replies:
        try:
            _deliver(console, sender, state, words.text, about=exchange.message_id)
        except SendError as error:
            return f"The user was not told: {error.reason}."
    return ""


def sweep_idle(console: Console) -> int:
    """Return to the bot every conversation no person wrote in for BOT_HANDOFF_IDLE_MINUTES,
    telling each user; how many went back. Safe on every host at once: each is re-checked
    inside its own turn, and only the first host to get there finds a person still on it."""
    idle = console.idle_minutes * 60
    returned = 0
    try:
        waiting = [c for c in console.store.conversations(SWEEP_LIMIT) if c.with_person]
    except StoreUnavailable as error:
        log.warning("idle sweep skipped: %s", error)
        return 0
    for conversation in waiting:
        if console.now() - conversation.human_since < idle:
            continue  # not even handed over that long ago
        if return_to_bot(console, conversation.sender, idle=True).ok:
            returned += 1
    if returned:
        log.info("idle sweep: %d conversation(s) back with the bot", returned)
    return returned
