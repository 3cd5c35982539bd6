"""TwiML rendering: always well-formed XML, ≤ 1600 characters a message, capped with notice."""

from __future__ import annotations

import pytest

from channels.twiml import CUT_NOTICE, MAX_BODY, MAX_MESSAGES, clean_text, plan, render, split_text
from engine import Reply
from tests.conftest import LONG_REPLY, parse_twiml, post_whatsapp, twiml_messages


def test_nothing_to_say_is_an_empty_response_element():
    xml = render([])
    assert parse_twiml(xml) == []
    assert xml.endswith("<Response />")


def test_clean_text_drops_xml_illegal_characters_and_keeps_the_rest():
    dirty = "a\x00b\x07c\x0bd\x1fe\tf\ng\r\nh\ud800i\ufffej\uffffk 😀 שלום"
    assert clean_text(dirty) == "abcde\tf\ng\nhijk 😀 שלום"


@pytest.mark.parametrize(
    "text",
    [
        "bell\x07 & <tag> \"quoted\" 'single'",
        "😀👨‍👩‍👧‍👦🇧🇷",
        "مرحبا بك 👋 שלום",
        "\x00" * 50,
        "]]> <![CDATA[",
    ],
)
def test_any_text_renders_to_parseable_xml(text):
    [(body, media)] = parse_twiml(render([Reply(text + " end")]))
    assert body == clean_text(text + " end").strip()
    assert media == []


def test_media_reply_is_body_plus_media():
    assert parse_twiml(render([Reply("a cat", ("https://example.org/cat.jpg",))])) == [
        ("a cat", ["https://example.org/cat.jpg"])
    ]


def test_media_only_reply_has_no_empty_body():
    assert parse_twiml(render([Reply("", ("https://example.org/dog.jpg",))])) == [
        (None, ["https://example.org/dog.jpg"])
    ]


def test_several_media_go_one_per_message():
    reply = Reply("pets", ("https://x.org/1.jpg", "https://x.org/2.jpg"))
    assert parse_twiml(render([reply])) == [
        ("pets", ["https://x.org/1.jpg"]),
        (None, ["https://x.org/2.jpg"]),
    ]


def test_empty_reply_is_skipped():
    assert parse_twiml(render([Reply(""), Reply("hi")])) == [("hi", [])]


def test_long_reply_splits_at_paragraphs():
    chunks = split_text(LONG_REPLY)
    assert len(LONG_REPLY) > 5000
    assert all(len(c) <= MAX_BODY for c in chunks)
    assert all(c.endswith("weather today.") for c in chunks)
    # Nothing lost: only the whitespace between chunks differs.
    assert " ".join(chunks).split() == LONG_REPLY.split()


def test_one_huge_paragraph_splits_at_sentences():
    text = " ".join(f"Sentence number {i} is here." for i in range(400))
    chunks = split_text(text)
    assert len(chunks) > 3
    assert all(len(c) <= MAX_BODY and c.endswith("is here.") for c in chunks)
    assert " ".join(chunks) == text


def test_one_huge_sentence_splits_at_words():
    text = " ".join(f"word{i}" for i in range(1000))
    chunks = split_text(text)
    assert all(len(c) <= MAX_BODY for c in chunks)
    assert " ".join(chunks) == text


def test_text_without_spaces_is_cut_hard():
    chunks = split_text("x" * 4000)
    assert [len(c) for c in chunks] == [1600, 1600, 800]


def test_over_ten_messages_are_cut_with_a_notice():
    text = "\n\n".join("y " * 790 for _ in range(15))
    messages = plan([Reply(text)])
    assert len(messages) == MAX_MESSAGES
    assert all(len(m.body) <= MAX_BODY for m in messages)
    assert messages[-1].body.endswith(CUT_NOTICE)


def test_response_stays_under_twilios_64kb_even_when_escaping_grows_it():
    xml = render([Reply("&<>" * 20_000)])
    assert len(xml.encode()) < 64_000
    bodies = parse_twiml(xml)
    assert bodies[-1][0].endswith(CUT_NOTICE)
    assert all(len(body) <= MAX_BODY for body, _ in bodies)


def test_five_thousand_character_reply_through_the_webhook(edge_client):
    messages = twiml_messages(post_whatsapp(edge_client, "long reply"))
    assert len(messages) >= 4
    assert all(len(body) <= MAX_BODY for body, _ in messages)
    assert " ".join(body for body, _ in messages).split() == LONG_REPLY.split()


def test_control_characters_in_rule_text_reach_twilio_as_valid_xml(edge_client):
    [(body, _)] = twiml_messages(post_whatsapp(edge_client, "control chars"))
    assert body == "bell null escape vertical ok & <done>"


def test_right_to_left_and_emoji_survive(edge_client):
    [(body, _)] = twiml_messages(post_whatsapp(edge_client, "rtl"))
    assert body == "مرحبا بك في البوت 👋 שלום"


def test_media_reply_through_the_webhook(edge_client):
    assert twiml_messages(post_whatsapp(edge_client, "send picture")) == [
        ("Here is a picture 🖼", ["https://example.org/cat.jpg"])
    ]


def test_silent_intent_answers_empty_response(edge_client):
    response = post_whatsapp(edge_client, "ok silent")
    assert twiml_messages(response) == []
    assert response.data.strip().endswith(b"<Response />")
