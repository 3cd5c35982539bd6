"""WhatsApp's typing indicator for a slow answer: when the answer misses the reply budget the
webhook asks Twilio (a local fake of its messaging API) to show "typing…" and answers with
empty TwiML; the answer follows as a message. When Twilio will not show it (an error, no
answer in time) or BOT_TYPING_INDICATOR is off, the user reads "One moment…" as before.

The slow answer is a fake joke API held by a `Gate`; so is the fake indicator, where a test
needs it slow.
"""

from __future__ import annotations

import base64
import json
import logging
import threading

import pytest
from werkzeug import Request, Response

from channels.followups import messaging_api_url
from config import ConfigError, settings_from
from pipeline import ONE_MOMENT
from tests.conftest import ACCOUNT, SAFETY, TOKEN, Gate, twiml_messages, whatsapp_form
from tests.test_followups import (
    JOKE,
    JOKE_TEXT,
    MESSAGES,
    answer,
    follow_up,
    make_app,
    paths,
    post_form,
    seam,
    sent,
    settle,
    twilio_created,
    twilio_error,
)
from tests.test_status import sample

TYPING = "/v2/Indicators/Typing.json"


def typing_accepted(_request: Request) -> Response:
    return Response(json.dumps({"success": True}), status=200, content_type="application/json")


def typed(upstream) -> list[Request]:
    return [request for request, _ in upstream.log if request.path == TYPING]


def typing_counted(app, result: str) -> float:
    text = app.test_client().get("/metrics").text
    return sample(text, "bot_typing_indicator_total", result=result)


@pytest.fixture
def app(upstream, gate):
    app = make_app(upstream, BOT_TYPING_INDICATOR="true")
    yield app
    gate.open()
    settle(app)


def held_joke(upstream, gate) -> None:
    upstream.expect_request("/random_joke").respond_with_handler(gate.held(answer(JOKE)))
    upstream.expect_request(MESSAGES, method="POST").respond_with_handler(twilio_created)


def test_a_slow_answer_shows_typing_then_follows_up(app, upstream, gate, caplog):
    held_joke(upstream, gate)
    upstream.expect_request(TYPING, method="POST").respond_with_handler(typing_accepted)
    form = whatsapp_form("tell me a joke")
    before = typing_counted(app, "shown")
    with caplog.at_level(logging.INFO, logger="bot.followups"):
        response = post_form(app.test_client(), form)
    assert twiml_messages(response) == []  # empty TwiML: "typing…" says it for us
    [request] = typed(upstream)
    assert request.form.to_dict(flat=False) == {
        "channel": ["whatsapp"],
        "messageId": [form["MessageSid"]],
    }
    credentials = base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {credentials}"
    assert f"typing indicator shown for message {form['MessageSid']}" in caplog.text
    assert typing_counted(app, "shown") == before + 1

    gate.open()
    settle(app)
    assert paths(upstream) == [TYPING, "/random_joke", MESSAGES]
    [follow] = sent(upstream)
    assert follow.form.to_dict(flat=False) == follow_up(JOKE_TEXT)
    # The answer went out as a follow-up: a redelivery gets nothing more.
    assert twiml_messages(post_form(app.test_client(), form)) == []


@pytest.mark.parametrize(
    "refusal",
    [
        twilio_error(500, 20500),
        twilio_error(404, 20404),
        lambda _request: Response("<html>oops</html>", status=200, content_type="text/html"),
        lambda _request: Response('{"success": false}', content_type="application/json"),
    ],
    ids=["500", "404", "not-json", "success-false"],
)
def test_a_refused_indicator_falls_back_to_one_moment(app, upstream, gate, caplog, refusal):
    held_joke(upstream, gate)
    upstream.expect_request(TYPING, method="POST").respond_with_handler(refusal)
    form = whatsapp_form("tell me a joke")
    before = typing_counted(app, "failed")
    with caplog.at_level(logging.WARNING, logger="bot.followups"):
        assert twiml_messages(post_form(app.test_client(), form)) == [(ONE_MOMENT, [])]
    assert typing_counted(app, "failed") == before + 1
    [line] = [r.getMessage() for r in caplog.records if r.name == "bot.followups"]
    assert line.startswith(f"typing indicator for message {form['MessageSid']} failed: ")
    assert line.endswith("; answering with text")
    gate.open()
    settle(app)
    assert [r.form.to_dict(flat=False) for r in sent(upstream)] == [follow_up(JOKE_TEXT)]


def test_an_indicator_that_does_not_answer_in_time_falls_back(app, upstream, gate):
    held_joke(upstream, gate)
    slow = Gate()
    upstream.expect_request(TYPING, method="POST").respond_with_handler(slow.held(typing_accepted))
    seam(app).followups.typing_client.http_client.timeout = 0.2
    try:
        assert twiml_messages(post_form(app.test_client(), whatsapp_form("tell me a joke"))) == [
            (ONE_MOMENT, [])
        ]
    finally:
        slow.drain()
    gate.open()
    settle(app)
    assert len(sent(upstream)) == 1


def test_with_the_setting_off_no_indicator_is_asked_for(upstream, gate):
    held_joke(upstream, gate)
    app = make_app(upstream, BOT_TYPING_INDICATOR="false")
    try:
        response = post_form(app.test_client(), whatsapp_form("tell me a joke"))
        assert twiml_messages(response) == [(ONE_MOMENT, [])]
    finally:
        gate.open()
        settle(app)
    assert paths(upstream) == ["/random_joke", MESSAGES]


def test_an_sms_sender_gets_the_text_and_no_indicator(app, upstream, gate):
    held_joke(upstream, gate)
    form = whatsapp_form("tell me a joke", From="+14155550123", To="+14155238886")
    assert twiml_messages(post_form(app.test_client(), form)) == [(ONE_MOMENT, [])]
    gate.open()
    settle(app)
    assert typed(upstream) == []


def test_an_answer_within_the_budget_asks_for_no_indicator(upstream):
    upstream.expect_request("/random_joke").respond_with_json(JOKE)
    app = make_app(upstream, BOT_REPLY_BUDGET="10", BOT_TYPING_INDICATOR="true")
    assert twiml_messages(post_form(app.test_client(), whatsapp_form("tell me a joke"))) == [
        (JOKE_TEXT, [])
    ]
    settle(app)
    assert paths(upstream) == ["/random_joke"]


def test_the_answer_waits_for_the_indicator_call_to_end(app, upstream, gate):
    """Sent while the indicator call is still out, the answer would be followed by a
    "typing…" that nothing ends: the follow-up goes only once the call is over."""
    held_joke(upstream, gate)
    slow = Gate()
    upstream.expect_request(TYPING, method="POST").respond_with_handler(slow.held(typing_accepted))
    seam(app).followups.typing_client.http_client.timeout = SAFETY
    answered: list = []
    webhook = threading.Thread(
        target=lambda: answered.append(
            post_form(app.test_client(), whatsapp_form("tell me a joke"))
        )
    )
    webhook.start()
    try:
        assert slow.first.wait(SAFETY)  # the webhook is waiting for the indicator
        gate.drain()  # the joke is answered: the follow-up is ready to go
        assert sent(upstream) == []
    finally:
        slow.drain()
        webhook.join(SAFETY)
    assert twiml_messages(answered[0]) == []
    settle(app)
    assert paths(upstream) == ["/random_joke", TYPING, MESSAGES]


@pytest.mark.parametrize(
    ("api", "messaging"),
    [
        ("https://api.twilio.com", "https://messaging.twilio.com"),
        ("https://api.dublin.ie1.twilio.com", "https://messaging.dublin.ie1.twilio.com"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("https://twilio-proxy.example.com/twilio", "https://twilio-proxy.example.com/twilio"),
    ],
)
def test_the_messaging_api_is_found_beside_the_rest_api(api, messaging):
    assert messaging_api_url(settings_from({"TWILIO_API_URL": api})) == messaging


def test_the_messaging_api_can_be_named():
    settings = settings_from(
        {"TWILIO_API_URL": "http://127.0.0.1:1", "TWILIO_MESSAGING_API_URL": "http://[::1]:2/"}
    )
    assert messaging_api_url(settings) == "http://[::1]:2"
    with pytest.raises(ConfigError) as refused:
        settings_from({"TWILIO_MESSAGING_API_URL": "messaging.twilio.com"})
    assert str(refused.value).startswith("TWILIO_MESSAGING_API_URL='messaging.twilio.com': ")
