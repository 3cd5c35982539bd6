"""The /bot webhook: every documented parameter parsed, sensible replies, never a 5xx."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from bot import create_app
from channels.whatsapp import parse_form
from engine import Button, Engine, Location, Media
from logs import sender_hash
from pipeline import APOLOGY
from ruletools import load
from tests.conftest import (
    HELP,
    SENDER,
    TOKEN,
    base_settings,
    post_whatsapp,
    reply_text,
    signature_for,
    twiml_messages,
    whatsapp_form,
)


def test_parse_form_reads_every_documented_parameter():
    form = MultiDict(
        whatsapp_form(
            "Look at this",
            NumMedia="2",
            MediaUrl0="https://api.twilio.com/media/ME1",
            MediaContentType0="image/jpeg",
            MediaUrl1="https://api.twilio.com/media/ME2",
            MediaContentType1="application/pdf",
            Latitude="48.8566",
            Longitude="2.3522",
            Address="Place de l'Hôtel de Ville, Paris",
            Label="City Hall",
            ButtonText="Yes please",
            ButtonPayload="confirm_yes",
            OriginalRepliedMessageSid="SM" + "9" * 32,
            Forwarded="true",
            FrequentlyForwarded="false",
            SomethingTwilioAddsLater="ignored",
        )
    )
    message = parse_form(form)
    assert message.channel == "whatsapp"
    assert message.sender == SENDER
    assert message.recipient == "whatsapp:+14155238886"
    assert message.body == "Look at this"
    assert message.message_id == form["MessageSid"]
    assert message.account_id == form["AccountSid"]
    assert message.profile_name == "Sam"
    assert message.wa_id == "14155550123"
    assert message.media == (
        Media("https://api.twilio.com/media/ME1", "image/jpeg"),
        Media("https://api.twilio.com/media/ME2", "application/pdf"),
    )
    assert message.location == Location(
        48.8566, 2.3522, "Place de l'Hôtel de Ville, Paris", "City Hall"
    )
    assert message.button == Button("Yes please", "confirm_yes")
    assert message.replied_to == "SM" + "9" * 32
    assert message.forwarded is True
    assert message.frequently_forwarded is False


@pytest.mark.parametrize(
    ("latitude", "longitude"),
    [
        ("", ""),
        ("abc", "1"),
        ("nan", "2"),
        ("inf", "3"),
        ("91", "0"),
        ("0", "-181"),
        ("1e400", "1"),
    ],
)
def test_invalid_coordinates_are_no_location(latitude, longitude):
    assert (
        parse_form({"From": SENDER, "Latitude": latitude, "Longitude": longitude}).location is None
    )


@pytest.mark.parametrize(
    ("count", "media"),
    [
        # NumMedia says how many MediaUrlN to read: without a usable count, none are.
        ("", ()),
        ("x", ()),
        ("-3", ()),
        # A huge count reads the first MAX_MEDIA parameters, and keeps those that are there.
        ("999999999999", (Media("https://x/y", ""),)),
    ],
)
def test_odd_num_media_never_breaks_parsing(count, media):
    message = parse_form({"From": SENDER, "NumMedia": count, "MediaUrl0": "https://x/y"})
    assert message.media == media


def test_sender_is_kept_raw_even_when_not_a_phone_number():
    message = parse_form({"From": "whatsapp:bsuid.AbC-123_xyz", "Body": "hi"})
    assert message.sender == "whatsapp:bsuid.AbC-123_xyz"


def test_username_sender_gets_a_reply(client):
    response = post_whatsapp(client, "help", From="whatsapp:bsuid.AbC-123_xyz", WaId="")
    assert twiml_messages(response) == [(HELP, [])]


def test_media_only_message_gets_a_sensible_reply(edge_client):
    response = post_whatsapp(
        edge_client,
        "",
        NumMedia="1",
        MediaUrl0="https://api.twilio.com/ME1",
        MediaContentType0="audio/ogg",
    )
    assert reply_text(response) == "got your voice note"


def test_location_only_message_gets_a_sensible_reply(edge_client):
    response = post_whatsapp(
        edge_client, "", Latitude="-33.8688", Longitude="151.2093", MessageType="location"
    )
    assert reply_text(response) == "location -33.8688, 151.2093 at -33.86880,151.20930"


def test_named_place_uses_its_label(edge_client):
    response = post_whatsapp(
        edge_client, "", Latitude="1", Longitude="2", Label="Home", Address="1 Main St"
    )
    assert reply_text(response) == "location Home at 1.00000,2.00000"


def test_button_tap_matches_on_its_text(client):
    response = post_whatsapp(client, "", ButtonText="Help", ButtonPayload="opaque-123")
    assert twiml_messages(response) == [(HELP, [])]


def test_button_payload_naming_an_intent_wins(client):
    response = post_whatsapp(client, "", ButtonText="Tell me more", ButtonPayload="HELP")
    assert twiml_messages(response) == [(HELP, [])]


def test_empty_message_gets_a_nudge(edge_client):
    assert reply_text(post_whatsapp(edge_client, "   ")) == "empty message"


def test_unknown_words_get_the_fallback(edge_client):
    assert reply_text(post_whatsapp(edge_client, "book me a taxi")) == "fallback reply"


def test_demo_greeting_uses_the_profile_name(client):
    assert reply_text(post_whatsapp(client, "hello there")) in {
        "Hi Sam! 👋 I'm a demo bot. Type *help* to see what I can do.",
        "Hello Sam! Type *help* for the list of things I understand.",
    }


def test_engine_failure_gives_an_apology_and_a_redacted_traceback(monkeypatch, capsys):
    client = create_app(base_settings()).test_client()

    def explode(self, state, message):
        raise RuntimeError(f"rule blew up for {message.sender} (wa {message.wa_id})")

    monkeypatch.setattr(Engine, "plan", explode)  # the pipeline's first call into the engine
    capsys.readouterr()
    response = post_whatsapp(client, "hi")
    assert twiml_messages(response) == [(APOLOGY, [])]
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert "Traceback (most recent call last):" in lines
    # Hashed with the auth token: the log salt when BOT_LOG_SALT is unset.
    sender, wa_id = sender_hash(SENDER, TOKEN), sender_hash("14155550123", TOKEN)
    assert f"RuntimeError: rule blew up for <sender:{sender}> (wa <phone:{wa_id}>)" in lines
    assert "14155550123" not in err
    assert "+1415" not in err


def test_oversized_body_gets_413(client):
    response = client.post("/bot", data=whatsapp_form("x" * 70_000))
    assert response.status_code == 413
    assert response.mimetype == "text/plain"


def test_body_just_under_the_limit_is_processed(client):
    response = post_whatsapp(client, "help " + "x" * 60_000)
    assert response.status_code == 200


@pytest.mark.parametrize("method", ["get", "put", "delete", "patch"])
def test_other_methods_get_405(client, method):
    response = getattr(client, method)("/bot")
    assert response.status_code == 405
    assert sorted(response.headers["Allow"].split(", ")) == ["OPTIONS", "POST"]


def test_json_body_is_refused_like_any_unsigned_request(client):
    assert client.post("/bot", json={"Body": "hi"}).status_code == 403


def test_health_reports_ok():
    client = create_app(base_settings(BOT_METRICS_TOKEN="metrics-token")).test_client()
    response = client.get("/health", headers={"Authorization": "Bearer metrics-token"})
    assert response.status_code == 200
    assert response.json["status"] == "ok"
    assert response.json["intents"] == len(load().intents)
    assert response.json["signature_validation"] is True


def test_unknown_path_is_a_short_404(client):
    response = client.get("/nope")
    assert response.status_code == 404
    assert response.data == b"404 Not Found\n"


# -- strict identifiers ---------------------------------------------------------------------


def greetings(name: str) -> set[str]:
    return {
        f"Hi {name}! 👋 I'm a demo bot. Type *help* to see what I can do.",
        f"Hello {name}! Type *help* for the list of things I understand.",
    }


def post_signed(client, form):
    return client.post("/bot", data=form, headers={"X-Twilio-Signature": signature_for(form)})


def shifted(form: dict[str, str]) -> dict[str, str]:
    """`form` with the parameter after MessageSid (in signing order) moved into its value:
    `MessageSid=<sid>NumMedia0` for `MessageSid=<sid>`, `NumMedia=0`."""
    names = sorted(form)
    following = names[names.index("MessageSid") + 1]
    moved = dict(form)
    moved["MessageSid"] += following + moved.pop(following)
    return moved


@pytest.mark.parametrize(
    ("dropped", "value"),
    [
        # Without MessageType, NumMedia comes next: the shift the issue reports.
        (("MessageType",), "NumMedia0"),
        ((), "MessageTypetext"),
    ],
)
def test_a_signed_form_replayed_with_a_shifted_boundary_is_refused(client, dropped, value):
    genuine = {k: v for k, v in whatsapp_form("hi").items() if k not in dropped}
    signature = signature_for(genuine)
    replay = shifted(genuine)
    assert replay["MessageSid"] == genuine["MessageSid"] + value
    assert signature_for(replay) == signature  # one signature covers both forms
    headers = {"X-Twilio-Signature": signature}
    assert client.post("/bot", data=genuine, headers=headers).status_code == 200
    response = client.post("/bot", data=replay, headers=headers)
    assert response.status_code == 400
    assert response.mimetype == "text/plain"
    assert (
        response.data == b"Bad Request: MessageSid is not SM or MM and 32 lowercase hex digits.\n"
    )


def test_a_signed_form_replayed_with_from_folded_into_body_is_refused(client):
    # `Body` sorts just before `From`: `Body=hiFromwhatsapp:+1…` without `From` signs alike,
    # and would pass for a new sender's message (replies are remembered per sender).
    genuine = whatsapp_form("my name is Ana")
    signature = signature_for(genuine)
    replay = dict(genuine)
    replay["Body"] += "From" + replay.pop("From")
    assert signature_for(replay) == signature
    headers = {"X-Twilio-Signature": signature}
    assert client.post("/bot", data=genuine, headers=headers).status_code == 200
    response = client.post("/bot", data=replay, headers=headers)
    assert (response.status_code, response.data) == (400, b"Bad Request: no From.\n")


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"From": "whatsapp:+14155550124"}, "WaId is not the number in From"),
        ({"From": ""}, "From is not whatsapp:+"),
        ({"From": "whatsapp:+1415 NumMedia0"}, "From is not whatsapp:+"),
        ({"To": "whatsapp:+14155238886WaId14155550123"}, "To is not whatsapp:+"),
    ],
)
def test_a_sender_that_is_not_twilios_is_refused(client, params, problem):
    form = {**whatsapp_form("hi"), **params}
    response = post_signed(client, form)
    assert response.status_code == 400
    assert response.data.decode().startswith(f"Bad Request: {problem}")


def test_a_form_without_message_sid_is_refused(client):
    form = whatsapp_form("hi")
    del form["MessageSid"]
    response = post_signed(client, form)
    assert response.status_code == 400
    assert response.data == b"Bad Request: no MessageSid.\n"


SID = "SM" + "ab12" * 8


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"MessageSid": "SM" + "AB12" * 8}, "MessageSid is not SM or MM"),
        ({"MessageSid": SID[:-1]}, "MessageSid is not SM or MM"),
        ({"MessageSid": SID + "0"}, "MessageSid is not SM or MM"),
        ({"MessageSid": SID + "\n"}, "MessageSid is not SM or MM"),
        ({"MessageSid": "SK" + SID[2:]}, "MessageSid is not SM or MM"),
        ({"MessageSid": ""}, "MessageSid is not SM or MM"),
        ({"SmsSid": "SM123"}, "SmsSid is not SM or MM"),
        (
            {"MessageSid": SID, "SmsMessageSid": "SM" + "0" * 32},
            "SmsMessageSid is not the MessageSid",
        ),
        ({"AccountSid": "AC123"}, "AccountSid is not AC and 32 lowercase hex digits"),
        ({"MessagingServiceSid": "MG" + "g" * 32}, "MessagingServiceSid is not MG"),
        ({"WaId": "+14155550123"}, "WaId is not at most 15 digits"),
        ({"WaId": "1415555012300000"}, "WaId is not at most 15 digits"),
        ({"WaId": "١٤١٥٥٥٥٠١٢٣"}, "WaId is not at most 15 digits"),  # Arabic-Indic digits
        ({"WaId": "14155550123 NumMedia0"}, "WaId is not at most 15 digits"),
    ],
)
def test_a_malformed_identifier_is_refused_and_named_but_never_shown(params, problem, capsys):
    client = create_app(base_settings()).test_client()
    capsys.readouterr()
    response = post_signed(client, whatsapp_form("hi", **params))
    assert response.status_code == 400
    assert response.mimetype == "text/plain"
    assert problem in response.text
    err = capsys.readouterr().err
    assert f"refused a /bot request: {problem}" in err
    assert "14155550123" not in err
    assert "١٤١٥" not in err
    assert "AB12" not in err


def test_a_repeated_message_sid_is_refused(client):
    form = MultiDict(whatsapp_form("hi"))
    form.add("MessageSid", SID)
    response = client.post("/bot", data=form, headers={"X-Twilio-Signature": signature_for(form)})
    assert response.status_code == 400
    assert response.data == b"Bad Request: MessageSid sent 2 times.\n"


def test_every_identifier_in_its_documented_shape_is_accepted(client):
    response = post_signed(
        client,
        whatsapp_form(
            "help",
            MessageSid="MM" + "0123456789abcdef" * 2,
            SmsMessageSid="MM" + "0123456789abcdef" * 2,
            SmsSid="MM" + "0123456789abcdef" * 2,
            MessagingServiceSid="MG" + "f" * 32,
            From="whatsapp:+123456789012345",
            WaId="123456789012345",
        ),
    )
    assert twiml_messages(response) == [(HELP, [])]


def test_an_unsigned_malformed_form_is_refused_for_its_signature_first(client):
    response = client.post("/bot", data=whatsapp_form("hi", MessageSid="nonsense"))
    assert response.status_code == 403


def test_a_form_for_another_account_is_forbidden(capsys):
    client = create_app(base_settings()).test_client()
    capsys.readouterr()
    response = post_signed(client, whatsapp_form("hi", AccountSid="AC" + "2" * 32))
    assert response.status_code == 403
    assert response.data == b"Forbidden: this request is for another Twilio account.\n"
    err = capsys.readouterr().err
    assert "its AccountSid is not TWILIO_ACCOUNT_SID" in err
    assert "2" * 32 not in err


def test_a_form_without_account_sid_is_forbidden_when_one_is_configured(client):
    form = whatsapp_form("hi")
    del form["AccountSid"]
    assert post_signed(client, form).status_code == 403


def test_any_account_is_served_when_none_is_configured():
    client = create_app(base_settings(TWILIO_ACCOUNT_SID="")).test_client()
    response = post_signed(client, whatsapp_form("help", AccountSid="AC" + "2" * 32))
    assert twiml_messages(response) == [(HELP, [])]


# -- what is echoed -------------------------------------------------------------------------


def test_bidi_and_control_characters_in_the_profile_name_are_not_echoed(client):
    name = "\u202eSam\u202c\u2067\x1b\x85\u200f"
    assert reply_text(post_whatsapp(client, "hello there", ProfileName=name)) in greetings("Sam")


def test_names_in_any_script_are_echoed_intact(client):
    name = "Zoë محمد שלום 👩\u200d👩\u200d👧"
    assert reply_text(post_whatsapp(client, "hello there", ProfileName=name)) in greetings(name)
