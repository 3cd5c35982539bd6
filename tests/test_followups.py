"""The reply budget: a slow skill gets "one moment…" at once, then its answer as a new
message through a local fake of Twilio's Messages API, sent once, retried when Twilio fails.

"Slow" here is a fake upstream held by a `Gate` until the test opens it, so the order of
events is the test's, not the machine's; `settle` waits for the pipeline's pool, after which
no follow-up can still be on its way.
"""

from __future__ import annotations

import base64
import json
import logging
import signal
from pathlib import Path

import pytest
import yaml
from werkzeug import Request, Response

from bot import create_app
from channels.answering import Answering, answering
from logs import sender_hash
from pipeline import ONE_MOMENT, TOO_SLOW
from tests.conftest import (
    ACCOUNT,
    BOT_NUMBER,
    SENDER,
    TOKEN,
    live_settings,
    post_whatsapp,
    reply_text,
    signature_for,
    twiml_messages,
    whatsapp_form,
)
from tests.servers import Server

MESSAGES = f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
JOKE = {"setup": "Why was the bot calm?", "punchline": "It had a budget."}
JOKE_TEXT = "Why was the bot calm?\n\nIt had a budget. 😄"
JOKES_DATA = Path(__file__).parent.parent / "skills" / "data" / "jokes.yml"
BUNDLED_JOKES = {
    f"{joke['setup']}\n\n{joke['punchline']} 😄"
    for joke in yaml.safe_load(JOKES_DATA.read_text(encoding="utf-8"))
}


def answer(body: object):
    def respond(_request: Request) -> Response:
        return Response(json.dumps(body), content_type="application/json")

    return respond


def twilio_created(request: Request) -> Response:
    body = {"sid": "SM" + "f" * 32, "status": "queued", "to": request.form.get("To")}
    return Response(json.dumps(body), status=201, content_type="application/json")


def twilio_error(status: int, code: int):
    def respond(_request: Request) -> Response:
        body = {"code": code, "message": "nope", "status": status}
        return Response(json.dumps(body), status=status, content_type="application/json")

    return respond


def sent(upstream) -> list[Request]:
    return [request for request, _ in upstream.log if request.path == MESSAGES]


def paths(upstream) -> list[str]:
    return [request.path for request, _ in upstream.log]


def follow_up(body: str, **extra: str) -> dict[str, list[str]]:
    """The form of the one Twilio API call that sends `body` to the test's sender."""
    return {"To": [SENDER], "From": [BOT_NUMBER], "Body": [body]} | {
        key: [value] for key, value in extra.items()
    }


def seam(app) -> Answering:
    """How the app answers: its pipeline, and its follow-up sender."""
    with app.app_context():
        return answering()


def settle(app) -> None:
    """Wait for every message on the pipeline's pool, late answers and follow-ups included."""
    seam(app).pipeline.close()


def make_app(upstream, **overrides: str):
    # The typing indicator has tests of its own (test_typing_indicator.py); here a slow
    # answer gets "One moment…" and nothing else reaches the fake Twilio.
    settings = {
        "BOT_REPLY_BUDGET": "0.3",
        "BOT_UPSTREAM_TIMEOUT": "10",
        "BOT_TYPING_INDICATOR": "false",
        **overrides,
    }
    return create_app(live_settings(upstream.url_for("").rstrip("/"), **settings))


def post_form(client, form: dict[str, str]):
    return client.post("/bot", data=form, headers={"X-Twilio-Signature": signature_for(form)})


@pytest.fixture
def pauses() -> list[float]:
    """The pauses between Twilio retries, recorded instead of slept."""
    return []


@pytest.fixture
def app(upstream, gate, pauses):
    app = make_app(upstream)
    seam(app).followups.sleep = pauses.append
    yield app
    gate.open()  # a held upstream answers, so the pool can finish
    settle(app)  # no late answer leaks into the next test


def test_a_slow_skill_answers_one_moment_then_follows_up(app, upstream, gate):
    upstream.expect_request("/random_joke").respond_with_handler(gate.held(answer(JOKE)))
    upstream.expect_request(MESSAGES, method="POST").respond_with_handler(twilio_created)
    response = post_whatsapp(app.test_client(), "tell me a joke")
    # The joke API has not answered yet (the gate is shut), and the user has a reply.
    assert twiml_messages(response) == [(ONE_MOMENT, [])]
    assert sent(upstream) == []

    gate.open()
    settle(app)
    assert paths(upstream) == ["/random_joke", MESSAGES]
    [request] = sent(upstream)
    assert request.form.to_dict(flat=False) == follow_up(JOKE_TEXT)
    expected = base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected}"


def test_a_redelivered_slow_message_is_not_followed_up_twice(app, upstream, gate):
    upstream.expect_request("/random_joke").respond_with_handler(gate.held(answer(JOKE)))
    upstream.expect_request(MESSAGES, method="POST").respond_with_handler(twilio_created)
    client = app.test_client()
    form = whatsapp_form("tell me a joke")
    assert twiml_messages(post_form(client, form)) == [(ONE_MOMENT, [])]
    gate.open()
    settle(app)
    # The joke went out as a follow-up: the redelivery gets an empty answer, not a copy.
    assert twiml_messages(post_form(client, form)) == []
    settle(app)  # anything the redelivery put on the pool is done
    assert paths(upstream) == ["/random_joke", MESSAGES]


def test_a_slow_picture_follows_up_as_media(app, upstream, gate):
    picture = "https://images.dog.ceo/breeds/pug/1.jpg"
    dog = answer({"message": picture, "status": "success"})
    upstream.expect_request("/api/breeds/image/random").respond_with_handler(gate.held(dog))
    upstream.expect_request(MESSAGES, method="POST").respond_with_handler(twilio_created)
    assert reply_text(post_whatsapp(app.test_client(), "show me a dog")) == ONE_MOMENT
    gate.open()
    settle(app)
    [request] = sent(upstream)
    assert request.form.to_dict(flat=False) in [
        follow_up("Here's a good dog 🐶", MediaUrl=picture),
        follow_up("Woof! 🐕", MediaUrl=picture),
    ]


def test_twilio_failures_are_retried_with_backoff(app, upstream, gate, pauses):
    answers = [twilio_error(503, 20503), twilio_error(429, 20429), twilio_created]
    upstream.expect_request("/random_joke").respond_with_handler(gate.held(answer(JOKE)))
    upstream.expect_request(MESSAGES, method="POST").respond_with_handler(
        lambda request: answers.pop(0)(request)
    )
    assert reply_text(post_whatsapp(app.test_client(), "tell me a joke")) == ONE_MOMENT
    gate.open()
    settle(app)
    assert [request.form.to_dict(flat=False) for request in sent(upstream)] == [
        follow_up(JOKE_TEXT)
    ] * 3
    assert pauses == [1.0, 2.0]
    assert seam(app).followups.sent == 1


def followup_log(caplog) -> list[tuple[str, str]]:
    return [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "bot.followups"]


def test_a_rejected_follow_up_is_not_retried_and_is_logged(app, upstream, gate, pauses, caplog):
    upstream.expect_request("/random_joke").respond_with_handler(gate.held(answer(JOKE)))
    upstream.expect_request(MESSAGES, method="POST").respond_with_handler(twilio_error(400, 21211))
    form = whatsapp_form("tell me a joke")
    with caplog.at_level(logging.WARNING, logger="bot"):
        assert reply_text(post_form(app.test_client(), form)) == ONE_MOMENT
        gate.open()
        settle(app)
    assert len(sent(upstream)) == 1
    assert pauses == []
    who = sender_hash(SENDER, seam(app).followups.salt)
    assert followup_log(caplog) == [
        ("WARNING", "Twilio API attempt 1 failed: HTTP 400 (Twilio error 21211)"),
        ("ERROR", f"follow-up for message {form['MessageSid']} to {who} given up"),
    ]
    assert SENDER not in caplog.text


def test_a_follow_up_twilio_never_takes_is_given_up_after_the_retries(
    app, upstream, gate, pauses, caplog
):
    upstream.expect_request("/random_joke").respond_with_handler(gate.held(answer(JOKE)))
    upstream.expect_request(MESSAGES, method="POST").respond_with_handler(twilio_error(500, 20500))
    form = whatsapp_form("tell me a joke")
    with caplog.at_level(logging.WARNING, logger="bot"):
        assert reply_text(post_form(app.test_client(), form)) == ONE_MOMENT
        gate.open()
        settle(app)
    assert len(sent(upstream)) == 5  # the first try and four retries
    assert pauses == [1.0, 2.0, 4.0, 8.0]
    failed = [
        ("WARNING", f"Twilio API attempt {n} failed: HTTP 500 (Twilio error 20500)")
        for n in range(1, 6)
    ]
    who = sender_hash(SENDER, seam(app).followups.salt)
    given_up = f"follow-up for message {form['MessageSid']} to {who}"
    assert followup_log(caplog) == [*failed, ("ERROR", f"{given_up} given up")]


def test_without_credentials_the_user_hears_it_took_too_long(upstream, gate):
    upstream.expect_request("/random_joke").respond_with_handler(gate.held(answer(JOKE)))
    app = make_app(upstream, TWILIO_ACCOUNT_SID="")
    form = whatsapp_form("tell me a joke")
    assert twiml_messages(post_form(app.test_client(), form)) == [(TOO_SLOW, [])]
    gate.open()
    settle(app)
    assert paths(upstream) == ["/random_joke"]
    # The joke never went out, so Twilio's redelivery gets it.
    assert twiml_messages(post_form(app.test_client(), form)) == [(JOKE_TEXT, [])]


def test_a_skill_within_the_budget_answers_directly(upstream):
    upstream.expect_request("/random_joke").respond_with_json(
        {"setup": "Fast?", "punchline": "Yes."}
    )
    # A budget no answer from 127.0.0.1 comes near, however busy the machine.
    app = make_app(upstream, BOT_REPLY_BUDGET="10")
    assert twiml_messages(post_whatsapp(app.test_client(), "tell me a joke")) == [
        ("Fast?\n\nYes. 😄", [])
    ]
    settle(app)
    assert paths(upstream) == ["/random_joke"]


def test_a_hanging_upstream_still_gets_an_answer_within_the_budget(upstream, gate):
    upstream.expect_request("/random_joke").respond_with_handler(gate.held(answer(JOKE)))
    upstream.expect_request(MESSAGES, method="POST").respond_with_handler(twilio_created)
    app = make_app(upstream, BOT_UPSTREAM_TIMEOUT="3")
    assert twiml_messages(post_whatsapp(app.test_client(), "tell me a joke")) == [(ONE_MOMENT, [])]
    settle(app)  # the skill gives up after its 3 s timeout and the follow-up goes out
    assert paths(upstream) == [MESSAGES]  # the joke API is still held: it never answered
    [request] = sent(upstream)
    assert request.form["Body"] in BUNDLED_JOKES


def server_lines_until(server: Server, text: str) -> list[str]:
    """What the server prints, up to the first line holding `text` (or to its exit)."""
    lines = []
    for line in server.process.stdout:
        lines.append(line)
        if text in line:
            break
    return lines


def test_follow_ups_under_gunicorn_survive_a_graceful_shutdown(upstream, gate, tmp_path):
    base = upstream.url_for("").rstrip("/")
    upstream.expect_request("/random_joke").respond_with_handler(gate.held(answer(JOKE)))
    upstream.expect_request(MESSAGES, method="POST").respond_with_handler(twilio_created)
    server = Server(
        WEB_CONCURRENCY="1",
        BOT_STORE_URL=f"sqlite:///{tmp_path}/bot.db",
        BOT_OFFLINE="false",
        BOT_REPLY_BUDGET="0.3",
        BOT_UPSTREAM_TIMEOUT="10",
        TWILIO_ACCOUNT_SID=ACCOUNT,
        TWILIO_API_URL=base,
        JOKES_URL=base,
        BOT_TYPING_INDICATOR="false",
    )
    lines: list[str] = []
    try:
        assert server.say("tell me a joke") == ONE_MOMENT
        server.process.send_signal(signal.SIGTERM)  # a deploy, while the joke API is held
        # The worker has stopped serving and is on its way out; only then does the API answer.
        lines = server_lines_until(server, "Worker exiting")
        assert lines
        assert "Worker exiting" in lines[-1]
        assert sent(upstream) == []
        gate.open()
        assert server.process.wait(timeout=30) == 0
    finally:
        gate.open()
        output = "".join(lines) + server.stop()
    [request] = sent(upstream)
    assert request.form.to_dict(flat=False) == follow_up(JOKE_TEXT)
    assert SENDER not in output


SLOW_SKILLS = [
    # A place the gazetteer does not know is geocoded: that is the slow call here.
    ("weather in Horseshoe Lake", "/v1/search", {
        "results": [{"name": "Lisbon", "country": "Portugal", "latitude": 38.7, "longitude": -9.1}]
    }, {"☀️ Lisbon, Portugal: 21°C, clear sky, wind 5 km/h."}, None),
    ("who is Ada Lovelace", "/api/rest_v1/page/summary/Ada_Lovelace", {
        "type": "standard", "title": "Ada Lovelace", "extract": "She was a mathematician.",
        "content_urls": {"mobile": {"page": "https://en.m.wikipedia.org/wiki/Ada_Lovelace"}},
    }, {"📚 *Ada Lovelace*: She was a mathematician.\nhttps://en.m.wikipedia.org/wiki/Ada_Lovelace"},
     None),
    ("inspire me", "/api/random", [{"q": "Slow and steady.", "a": "Aesop"}],
     {"✨ “Slow and steady.” — Aesop"}, None),
    ("show me a cat", "/v1/images/search", [{"url": "https://cdn2.thecatapi.com/c.jpg"}],
     {"Here's a cat 🐱", "Meow! 🐈"}, "https://cdn2.thecatapi.com/c.jpg"),
    ("convert 5 gbp to usd", "/latest", {"date": "2026-11-20", "rates": {"USD": 1.25}},
     {"💱 5 GBP = 6.25 USD (European Central Bank rate of 2026-11-20)"}, None),
]  # fmt: skip


@pytest.mark.parametrize(("text", "path", "body", "bodies", "media"), SLOW_SKILLS)
def test_every_slow_skill_follows_up(app, upstream, gate, text, path, body, bodies, media):
    upstream.expect_request(path).respond_with_handler(gate.held(answer(body)))
    upstream.expect_request("/v1/forecast").respond_with_json(
        {"current": {"temperature_2m": 21, "weather_code": 0, "wind_speed_10m": 5}}
    )
    upstream.expect_request(MESSAGES, method="POST").respond_with_handler(twilio_created)
    assert reply_text(post_whatsapp(app.test_client(), text)) == ONE_MOMENT
    gate.open()
    settle(app)
    [request] = sent(upstream)
    extra = {"MediaUrl": media} if media else {}
    assert request.form.to_dict(flat=False) in [follow_up(reply, **extra) for reply in bodies]
