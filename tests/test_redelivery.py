"""Twilio redelivers a message whose answer it did not get in time. However many copies come,
and whenever, the user gets one answer: a copy that comes while the first is being answered
gets an empty TwiML answer (never "still answering", never a second follow-up); one that
comes after gets the recorded reply only if that went in the webhook's answer.

The slow answer is a fake joke API held by a `Gate`; the follow-ups go to a local fake of
Twilio's Messages API, which counts them. On every store, and on two gunicorn servers
sharing one Redis.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from pipeline import ONE_MOMENT, WORKERS
from tests.conftest import SAFETY, twiml_messages, whatsapp_form
from tests.servers import Server
from tests.test_followups import (
    ACCOUNT,
    JOKE,
    JOKE_TEXT,
    MESSAGES,
    answer,
    follow_up,
    make_app,
    post_form,
    sent,
    settle,
    twilio_created,
)

COPIES = 20


def held_joke(upstream, gate) -> None:
    upstream.expect_request("/random_joke").respond_with_handler(gate.held(answer(JOKE)))
    upstream.expect_request(MESSAGES, method="POST").respond_with_handler(twilio_created)


@pytest.fixture(params=["memory", "sqlite", "redis"])
def store_url(request, tmp_path):
    if request.param == "memory":
        return "memory://"
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/bot.db"
    return request.getfixturevalue("redis_url")


@pytest.fixture
def app(upstream, gate, store_url):
    app = make_app(upstream, BOT_STORE_URL=store_url)
    yield app
    gate.open()
    settle(app)


def test_copies_sent_while_the_answer_is_slow_get_an_empty_answer(app, upstream, gate):
    held_joke(upstream, gate)
    form = whatsapp_form("tell me a joke")
    with ThreadPoolExecutor(COPIES) as pool:
        answers = list(
            pool.map(lambda _: twiml_messages(post_form(app.test_client(), form)), range(COPIES))
        )
    assert sorted(answers, key=len) == [[]] * (COPIES - 1) + [[(ONE_MOMENT, [])]]
    assert gate.arrived == 1  # the joke was asked for once

    gate.open()
    settle(app)
    assert [r.form.to_dict(flat=False) for r in sent(upstream)] == [follow_up(JOKE_TEXT)]
    # A copy after the follow-up went: nothing again.
    assert twiml_messages(post_form(app.test_client(), form)) == []
    settle(app)
    assert len(sent(upstream)) == 1


def test_a_copy_a_moment_later_gets_nothing_and_the_joke_follows_once(app, upstream, gate):
    held_joke(upstream, gate)
    form = whatsapp_form("tell me a joke")
    client = app.test_client()
    assert twiml_messages(post_form(client, form)) == [(ONE_MOMENT, [])]
    assert twiml_messages(post_form(client, form)) == []  # the joke API has not answered
    gate.open()
    settle(app)
    assert twiml_messages(post_form(client, form)) == []
    settle(app)
    assert [r.form.to_dict(flat=False) for r in sent(upstream)] == [follow_up(JOKE_TEXT)]


def test_a_copy_of_a_message_answered_in_time_gets_the_same_answer(app, upstream, gate):
    # Twilio redelivers when the webhook's answer did not reach it: send it again.
    held_joke(upstream, gate)
    gate.open()
    form = whatsapp_form("tell me a joke")
    client = app.test_client()
    assert twiml_messages(post_form(client, form)) == [(JOKE_TEXT, [])]
    assert twiml_messages(post_form(client, form)) == [(JOKE_TEXT, [])]
    settle(app)
    assert sent(upstream) == []


def test_copies_spread_over_two_servers_sharing_redis_follow_up_once(redis_url, upstream, gate):
    held_joke(upstream, gate)
    base = upstream.url_for("").rstrip("/")
    settings = {
        "BOT_STORE_URL": redis_url,
        "BOT_OFFLINE": "false",
        "BOT_REPLY_BUDGET": "0.3",
        "BOT_UPSTREAM_TIMEOUT": "10",
        "JOKES_URL": base,
        "TWILIO_API_URL": base,
        "TWILIO_ACCOUNT_SID": ACCOUNT,
        "WEB_CONCURRENCY": "2",
    }
    servers = [Server(**settings), Server(**settings)]
    form = whatsapp_form("tell me a joke")
    try:
        with ThreadPoolExecutor(COPIES) as pool:
            replies = list(pool.map(lambda i: servers[i % 2].post(form), range(COPIES)))
        assert sorted(replies) == [""] * (COPIES - 1) + [ONE_MOMENT]
        gate.open()
        deadline = time.monotonic() + SAFETY  # a safety net: the follow-up goes at once
        while not sent(upstream):
            assert time.monotonic() < deadline, "the follow-up never came"
            time.sleep(0.02)
        assert [s.post(form) for s in servers] == ["", ""]
    finally:
        for server in servers:
            server.stop()  # each worker finishes its late answers before it exits
    assert [r.form.to_dict(flat=False) for r in sent(upstream)] == [follow_up(JOKE_TEXT)]
    assert gate.arrived == 1


def copies_at_once(app, form: dict[str, str], count: int = 2) -> list:
    with ThreadPoolExecutor(count) as pool:
        answers = pool.map(
            lambda _: twiml_messages(post_form(app.test_client(), form)), range(count)
        )
    return sorted(answers, key=len)


def sent_to(upstream, sender: str) -> list[str]:
    return [r.form["Body"] for r in sent(upstream) if r.form["To"] == sender]


def test_copies_of_a_message_waiting_behind_the_senders_slow_one_are_answered_once(
    app, upstream, gate
):
    held_joke(upstream, gate)
    joke = whatsapp_form("tell me a joke")
    assert twiml_messages(post_form(app.test_client(), joke)) == [(ONE_MOMENT, [])]
    # The sender's lock is held while the joke API is slow: "my name is Ana" waits for it.
    name = whatsapp_form("my name is Ana")
    assert copies_at_once(app, name) == [[], [(ONE_MOMENT, [])]]
    gate.open()
    settle(app)
    # The joke and the name, once each (two follow-ups, in either order); no "still answering".
    [named] = [r for r in sent_to(upstream, name["From"]) if r != JOKE_TEXT]
    assert sorted(sent_to(upstream, name["From"])) == sorted([JOKE_TEXT, named])
    assert "Ana" in named


def test_copies_of_a_message_waiting_for_a_thread_are_answered_once(app, upstream, gate):
    held_joke(upstream, gate)
    # Every thread of the pool is held by another sender's slow joke.
    senders = [f"whatsapp:+1555000{n:04d}" for n in range(WORKERS)]
    with ThreadPoolExecutor(WORKERS) as pool:
        forms = [whatsapp_form("tell me a joke", From=s) for s in senders]
        fillers = list(pool.map(lambda f: twiml_messages(post_form(app.test_client(), f)), forms))
    assert fillers == [[(ONE_MOMENT, [])]] * WORKERS
    deadline = time.monotonic() + SAFETY  # a safety net: they are all there at once
    while gate.arrived < WORKERS:
        assert time.monotonic() < deadline, "the pool's threads never reached the joke API"
        time.sleep(0.01)
    assert copies_at_once(app, whatsapp_form("tell me a joke")) == [[], [(ONE_MOMENT, [])]]
    gate.open()
    settle(app)
    assert sent_to(upstream, whatsapp_form()["From"]) == [JOKE_TEXT]
    assert len(sent(upstream)) == WORKERS + 1
