"""How the engine and the pipeline carry documents, with actions of the test's own: a document
the user sends goes to `document_intent`, whose action's document is kept in the store; what
nothing matched goes to `fallback_intent`, whose action gets the user's kept documents (only
when they have one) and may decline, which says the fallback."""

from __future__ import annotations

import textwrap

import pytest

from conversation import Media, Message, Outcome, Skill, UserDocument
from memory import MemoryStore, SqliteStore
from pipeline import Pipeline
from rules import load_rules
from ruletools import engine_for

RULES = textwrap.dedent(
    """
    settings:
      fallback: ["I didn't get that."]
      document_intent: read_document
      fallback_intent: look_up
    intents:
      - name: read_document
        patterns: ["read my document"]
        action: read
        responses: ["Read *{title}*."]
      - name: look_up
        patterns: ["look it up"]
        action: look_up
        responses: ["{answer}"]
      - name: greet
        examples: ["hello there"]
        responses: ["Hi!"]
    """
)


def read(context) -> Outcome:
    media = context.message.media[0]
    at = context.now.timestamp()
    kept = UserDocument(context.message.message_id, at, "Menu", "pdf", media.url, ((1, "Soup."),))
    return Outcome({"title": "Menu"}, remember={"document": "Menu"}, document=kept)


SEEN: list[tuple[str, ...]] = []


def look_up(context) -> Outcome:
    SEEN.append(tuple(d.title for d in context.documents))
    if "soup" in context.message.text.lower() and context.documents:
        return Outcome({"answer": f"From *{context.documents[0].title}*: Soup."})
    return Outcome(declined=True)


ACTIONS = {
    "read": Skill(read, frozenset({"title"})),
    "look_up": Skill(look_up, frozenset({"answer"}), quick=True, reads_documents=True),
}


@pytest.fixture(params=["memory", "sqlite"])
def pipeline(request, tmp_path):
    path = tmp_path / "rules.yml"
    path.write_text(RULES, encoding="utf-8")
    engine = engine_for(load_rules(path, ACTIONS), actions=ACTIONS)
    store = MemoryStore() if request.param == "memory" else SqliteStore(tmp_path / "bot.db")
    SEEN.clear()
    yield Pipeline(engine, store)
    store.close()


def say(pipeline, text: str, sid: str, media: tuple[Media, ...] = ()) -> str:
    message = Message(channel="test", sender="u", body=text, message_id=sid, media=media)
    return "\n".join(r.text for r in pipeline.handle(message, budget=5).replies)


def test_a_sent_document_is_read_kept_and_asked_about(pipeline):
    assert say(pipeline, "is there soup?", "SM1") == "I didn't get that."
    assert SEEN == [()]  # no document kept yet: none to look in
    pdf = (Media("https://api.twilio.com/Media/ME1", "application/pdf"),)
    assert say(pipeline, "", "SM2", pdf) == "Read *Menu*."
    assert [d.title for d in pipeline.store.documents("u")] == ["Menu"]
    assert say(pipeline, "is there soup?", "SM3") == "From *Menu*: Soup."
    assert say(pipeline, "what about cake", "SM4") == "I didn't get that."  # declined
    assert SEEN == [(), ("Menu",), ("Menu",)]
    assert say(pipeline, "hello there", "SM5") == "Hi!"  # an intent still wins
    pipeline.close()


def test_near_an_intent_a_users_documents_are_asked_before_the_suggestion(pipeline):
    # "hello soup please" is only close to greet: "Did you mean…?" range.
    assert say(pipeline, "hello soup please", "SM1") == "Did you mean *greet*? (yes/no)"
    assert SEEN == []  # no document kept: the action is not asked
    pdf = (Media("https://api.twilio.com/Media/ME1", "application/pdf"),)
    assert say(pipeline, "", "SM2", pdf) == "Read *Menu*."
    assert say(pipeline, "hello soup please", "SM3") == "From *Menu*: Soup."
    # Nothing in the document: the suggestion after all, and "yes" takes it.
    assert say(pipeline, "hello cake please", "SM4") == "Did you mean *greet*? (yes/no)"
    assert SEEN == [("Menu",), ("Menu",)]
    assert say(pipeline, "yes", "SM5") == "Hi!"
    pipeline.close()


def test_a_picture_is_not_a_document(pipeline):
    photo = (Media("https://api.twilio.com/Media/ME2", "image/jpeg"),)
    assert say(pipeline, "", "SM1", photo) == ""  # no on_media reply in these rules
    assert pipeline.store.documents("u") == []
    pipeline.close()
