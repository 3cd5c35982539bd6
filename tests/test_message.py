"""The `Message` a channel builds keeps only printable text where a reply may echo it: no
control characters, no bidi overrides; every script, emoji and joiner intact."""

from __future__ import annotations

import pytest

from conversation import Button, Location, Message
from conversation.message import printable

BIDI = [
    "\u202a", "\u202b", "\u202c", "\u202d", "\u202e",  # embeddings, overrides, pop
    "\u2066", "\u2067", "\u2068", "\u2069",  # isolates
    "\u200e", "\u200f", "\u061c",  # LRM, RLM, ALM
]  # fmt: skip
CONTROLS = [chr(c) for c in [*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0)]]
KEPT = [
    "Zoë Ångström, café, naïve",
    "Cafe\u0301 (a combining accent)",
    "👩\u200d👩\u200d👧\u200d👦 🏳️\u200d🌈 👍🏽 🇵🇹",  # ZWJ sequences, a skin tone, a flag
    "محمد ٣ ﷺ",  # Arabic letters and digits
    "שלום עולם",
    "می\u200cخواهم",  # Persian needs the zero-width non-joiner
    "two\nlines\tand a tab",
    "",
]


@pytest.mark.parametrize("character", BIDI + CONTROLS)
def test_each_control_and_bidi_character_is_removed(character):
    assert printable(f"Sam{character}my") == "Sammy"


@pytest.mark.parametrize("text", KEPT)
def test_legitimate_text_is_kept_as_it_is(text):
    assert printable(text) == text
    assert Message("test", "u", body=text, profile_name=text).body == text


def test_clean_text_is_the_same_object():
    body = "what's the weather in Lisbon?"
    assert Message("test", "u", body=body).body is body


def test_every_echoable_text_of_a_message_is_cleaned():
    message = Message(
        "whatsapp",
        "whatsapp:+15550001",
        body="hi\u202e there\x1b[31m",
        profile_name="\u2067Sam\u2069\x85",
        button=Button("Yes\u200f", "confirm\x00"),
        location=Location(1.0, 2.0, "1 Main\u202d St", "Home\u061c"),
    )
    assert message.body == "hi there[31m"
    assert message.profile_name == "Sam"
    assert message.button == Button("Yes", "confirm")
    assert message.location == Location(1.0, 2.0, "1 Main St", "Home")
    assert message.text == "hi there[31m"


def test_ids_are_kept_as_the_channel_sent_them():
    # State is keyed on them: changing one would merge or split users.
    message = Message("whatsapp", "whatsapp:\u202e+1555", message_id="SM\x00", wa_id="1\u200e")
    assert (message.sender, message.message_id, message.wa_id) == (
        "whatsapp:\u202e+1555",
        "SM\x00",
        "1\u200e",
    )
