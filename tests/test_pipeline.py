"""The pipeline keeps each sender's state between messages and deletes it on request."""

from __future__ import annotations

from engine import Engine, Message
from memory import MemoryStore
from pipeline import Pipeline
from rules import load_rules


def message(sender: str, body: str) -> Message:
    return Message("test", sender, body=body)


def test_state_is_kept_per_sender():
    pipeline = Pipeline(Engine(load_rules()), MemoryStore())
    pipeline.handle(message("a", "my name is Ana"))
    pipeline.handle(message("b", "my name is Bo"))
    assert pipeline.handle(message("a", "whats my name")).replies[0].text == "Your name is Ana 😊"
    assert pipeline.store.load("b").variables == {"name": "Bo"}


def test_forget_me_deletes_the_stored_state():
    store = MemoryStore()
    pipeline = Pipeline(Engine(load_rules()), store)
    pipeline.handle(message("a", "call me Jo"))
    assert "a" in store
    turn = pipeline.handle(message("a", "delete my data"))
    assert turn.forget
    assert "a" not in store
