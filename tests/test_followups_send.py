"""Operator replies through Twilio's REST API (`FollowUps.send`), and the StatusCallback and
"queued" record every message sent that way carries, follow-ups included: against a local
fake of Twilio's Messages API and a real SQLite store.

`send` fails with a `SendError` an operator can read (Twilio's error code and a reason;
63016 says the 24-hour window closed), retried as follow-ups are: while Twilio surely did
not take the message, never after a timeout.
"""

from __future__ import annotations

import json
import logging

import pytest
from prometheus_client import REGISTRY, generate_latest
from werkzeug import Request, Response

from channels.followups import REASONS, FollowUps, SendError
from logs import sender_hash
from memory import Delivery, RedisStore, SqliteStore
from tests.conftest import (
    ACCOUNT,
    BOT_NUMBER,
    SENDER,
    TOKEN,
    Gate,
    signature_for,
    twiml_messages,
    whatsapp_form,
)
from tests.helpers import closed_port
from tests.test_followups import (
    JOKE,
    JOKE_TEXT,
    MESSAGES,
    answer,
    follow_up,
    make_app,
    seam,
    sent,
    settle,
    twilio_created,
    twilio_error,
)
from tests.test_status import sample

CALLBACK = "https://bot.example.com/status"
SALT = "test-salt"
CREATED_SID = "SM" + "f" * 32


@pytest.fixture
def store(tmp_path):
    store = SqliteStore(tmp_path / "bot.db")
    yield store
    store.close()


@pytest.fixture
def pauses() -> list[float]:
    return []


@pytest.fixture
def followups(upstream, store, pauses) -> FollowUps:
    base = upstream.url_for("").rstrip("/")
    return FollowUps(
        ACCOUNT, TOKEN, base, SALT, sleep=pauses.append, status_url=CALLBACK, store=store
    )


def operator_sends(result: str) -> float:
    return sample(generate_latest(REGISTRY).decode(), "bot_operator_sends_total", result=result)


def test_a_reply_is_sent_with_the_callback_and_recorded_as_queued(followups, upstream, store):
    upstream.expect_request(MESSAGES, method="POST").respond_with_handler(twilio_created)
    before = operator_sends("sent")
    sid = followups.send(SENDER, BOT_NUMBER, "Hello, I'm Ana 👋", about="SM1")
    assert sid == CREATED_SID
    [request] = sent(upstream)
    assert request.form.to_dict(flat=False) == {
        "To": [SENDER],
        "From": [BOT_NUMBER],
        "Body": ["Hello, I'm Ana 👋"],
        "StatusCallback": [CALLBACK],
    }
    [delivery] = store.deliveries(SENDER)
    assert delivery == Delivery(sid, "queued", "", delivery.at, "SM1", SENDER)
    assert operator_sends("sent") == before + 1


def test_outside_the_24_hour_window_the_reason_says_so(followups, upstream, pauses, caplog):
    upstream.expect_request(MESSAGES, method="POST").respond_with_handler(twilio_error(400, 63016))
    with (
        caplog.at_level(logging.WARNING, logger="bot.followups"),
        pytest.raises(SendError) as refused,
    ):
        followups.send(SENDER, BOT_NUMBER, "Are you still there?", about="SM2")
    assert refused.value.code == 63016
    assert refused.value.reason == (
        "more than 24 hours since the user last wrote: WhatsApp only allows a template message now"
    )
    assert len(sent(upstream)) == 1  # a 4xx is not retried
    assert pauses == []
    who = sender_hash(SENDER, SALT)
    assert caplog.records[-1].getMessage() == (
        f"reply about SM2 to {who} not sent: {refused.value.reason}"
    )
    assert SENDER not in caplog.text


def test_a_refusal_twilio_gives_in_rfc_9457_form_is_read_too(followups, upstream):
    def problem(_request: Request) -> Response:
        body = {"type": "https://www.twilio.com/docs/errors/21211", "title": "Invalid To",
                "status": 400, "code": 21211}  # fmt: skip
        return Response(json.dumps(body), status=400, content_type="application/problem+json")

    upstream.expect_request(MESSAGES, method="POST").respond_with_handler(problem)
    with pytest.raises(SendError) as refused:
        followups.send(SENDER, BOT_NUMBER, "Hi")
    assert (refused.value.code, refused.value.reason) == (21211, REASONS[21211])


def test_an_unknown_refusal_names_the_code_and_where_to_read_about_it(followups, upstream):
    upstream.expect_request(MESSAGES, method="POST").respond_with_handler(twilio_error(400, 12345))
    with pytest.raises(SendError) as refused:
        followups.send(SENDER, BOT_NUMBER, "Hi")
    assert refused.value.reason == (
        "Twilio refused it: error 12345 (https://www.twilio.com/docs/api/errors/12345)"
    )


def test_twilio_failing_is_retried_then_sent(followups, upstream, pauses, store):
    answers = [twilio_error(503, 20503), twilio_error(429, 20429), twilio_created]
    upstream.expect_request(MESSAGES, method="POST").respond_with_handler(
        lambda request: answers.pop(0)(request)
    )
    assert followups.send(SENDER, BOT_NUMBER, "Hi") == CREATED_SID
    assert len(sent(upstream)) == 3
    assert pauses == [1.0, 2.0]
    assert [d.status for d in store.deliveries(SENDER)] == ["queued"]


def test_twilio_failing_throughout_gives_up_with_a_reason(followups, upstream, pauses, store):
    upstream.expect_request(MESSAGES, method="POST").respond_with_handler(twilio_error(503, 20503))
    with pytest.raises(SendError) as failed:
        followups.send(SENDER, BOT_NUMBER, "Hi")
    assert failed.value.code == 20503
    assert failed.value.reason == "Twilio's API is failing (HTTP 503): try again in a minute"
    assert len(sent(upstream)) == 5
    assert pauses == [1.0, 2.0, 4.0, 8.0]
    assert store.deliveries(SENDER) == []


def test_a_timeout_is_not_retried_since_twilio_may_have_sent_it(followups, upstream, pauses):
    slow = Gate()
    upstream.expect_request(MESSAGES, method="POST").respond_with_handler(slow.held(twilio_created))
    followups.client.http_client.timeout = 0.2
    try:
        with pytest.raises(SendError) as failed:
            followups.send(SENDER, BOT_NUMBER, "Hi")
    finally:
        slow.drain()
    assert failed.value.code is None
    assert "may have sent it" in failed.value.reason
    assert slow.arrived == 1
    assert pauses == []


def test_no_connection_is_retried_then_given_up(store, pauses):
    followups = FollowUps(
        ACCOUNT, TOKEN, f"http://127.0.0.1:{closed_port()}", SALT, sleep=pauses.append,
        store=store,
    )  # fmt: skip
    with pytest.raises(SendError) as failed:
        followups.send(SENDER, BOT_NUMBER, "Hi")
    assert (failed.value.code, failed.value.reason) == (
        None,
        "Twilio's API could not be reached: try again later",
    )
    assert pauses == [1.0, 2.0, 4.0, 8.0]


@pytest.mark.parametrize(
    ("body", "code"), [("", 21602), ("  \n ", 21602), ("\x00", 21602), ("x" * 1601, 21617)]
)
def test_an_empty_or_too_long_reply_is_refused_before_twilio_hears_of_it(
    followups, upstream, body, code
):
    with pytest.raises(SendError) as refused:
        followups.send(SENDER, BOT_NUMBER, body)
    assert (refused.value.code, refused.value.reason) == (code, REASONS[code])
    assert upstream.log == []


def test_a_reply_of_exactly_1600_characters_goes(followups, upstream):
    upstream.expect_request(MESSAGES, method="POST").respond_with_handler(twilio_created)
    followups.send(SENDER, BOT_NUMBER, "é" * 1600)
    [request] = sent(upstream)
    assert request.form["Body"] == "é" * 1600


def test_without_a_public_url_there_is_no_callback(upstream, store):
    upstream.expect_request(MESSAGES, method="POST").respond_with_handler(twilio_created)
    followups = FollowUps(ACCOUNT, TOKEN, upstream.url_for("").rstrip("/"), SALT, store=store)
    followups.send(SENDER, BOT_NUMBER, "Hi")
    [request] = sent(upstream)
    assert "StatusCallback" not in request.form
    assert [d.status for d in store.deliveries(SENDER)] == ["queued"]


def test_a_store_that_is_down_does_not_stop_the_reply(upstream, caplog):
    upstream.expect_request(MESSAGES, method="POST").respond_with_handler(twilio_created)
    down = RedisStore(f"redis://127.0.0.1:{closed_port()}/0", 30)
    followups = FollowUps(ACCOUNT, TOKEN, upstream.url_for("").rstrip("/"), SALT, store=down)
    with caplog.at_level(logging.WARNING, logger="bot.followups"):
        assert followups.send(SENDER, BOT_NUMBER, "Hi") == CREATED_SID
    assert f"message {CREATED_SID} sent; its status is not recorded: " in caplog.text
    down.close()


def test_a_follow_up_names_the_callback_and_is_recorded_against_the_message(upstream, gate):
    upstream.expect_request("/random_joke").respond_with_handler(gate.held(answer(JOKE)))
    upstream.expect_request(MESSAGES, method="POST").respond_with_handler(twilio_created)
    app = make_app(upstream, BOT_PUBLIC_URL="https://bot.example.com")
    followups = seam(app).followups
    followups.store = seam(app).pipeline.store  # what the integration does in bot.py
    form = whatsapp_form("tell me a joke")
    signature = signature_for(form, "https://bot.example.com/bot")
    try:
        response = app.test_client().post(
            "/bot", data=form, headers={"X-Twilio-Signature": signature}
        )
        assert twiml_messages(response) != []  # "One moment…" (the indicator is off here)
    finally:
        gate.open()
        settle(app)
    [request] = sent(upstream)
    assert request.form.to_dict(flat=False) == follow_up(JOKE_TEXT, StatusCallback=CALLBACK)
    [delivery] = followups.store.deliveries(SENDER)
    assert (delivery.sid, delivery.status, delivery.about) == (
        CREATED_SID,
        "queued",
        form["MessageSid"],
    )
