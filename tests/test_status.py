"""Delivery status: POST /status, Twilio's StatusCallback, checked like /bot (signature,
identifiers, account), recorded in a real store (a SQLite file, a real Redis), counted in
/metrics, a failure logged with Twilio's error code and never the user's number.

The whole path too: an operator reply goes out through a local fake of Twilio's Messages
API naming the callback, is recorded as queued, then the callbacks move it along.
"""

from __future__ import annotations

import logging

import pytest
from prometheus_client.parser import text_string_to_metric_families
from twilio.request_validator import RequestValidator

from bot import create_app
from channels.answering import answering
from logs import sender_hash
from memory import Delivery
from tests.conftest import (
    BOT_NUMBER,
    SENDER,
    TOKEN,
    base_settings,
    live_settings,
    status_callback_form,
)
from tests.helpers import closed_port
from tests.test_followups import MESSAGES, twilio_created

PUBLIC = "https://bot.example.com"
STATUS_URL = f"{PUBLIC}/status"
SID = "SM" + "a" * 32
OTHER_ACCOUNT = "AC" + "2" * 32


def status_form(status: str = "delivered", **params: str) -> dict[str, str]:
    """A status callback shaped like Twilio's, for a message the bot sent to SENDER."""
    return status_callback_form(SID, status, **params)


def post_status(client, form: dict[str, str], token: str = TOKEN):
    signature = RequestValidator(token).compute_signature(STATUS_URL, form)
    return client.post("/status", data=form, headers={"X-Twilio-Signature": signature})


def store_of(app):
    with app.app_context():
        return answering().pipeline.store


def sample(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for item in family.samples:
            if item.name == name and all(item.labels.get(k) == v for k, v in labels.items()):
                return item.value
    return 0.0


def counted(client, status: str) -> float:
    return sample(client.get("/metrics").text, "bot_delivery_status_total", status=status)


@pytest.fixture(params=["sqlite", "redis"])
def store_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/bot.db"
    return request.getfixturevalue("redis_url")


@pytest.fixture
def app(store_url):
    return create_app(base_settings(BOT_STORE_URL=store_url, BOT_PUBLIC_URL=PUBLIC))


@pytest.fixture
def client(app):
    return app.test_client()


def test_a_status_is_recorded_and_answered_with_no_content(app, client):
    response = post_status(client, status_form("delivered"))
    assert response.status_code == 204
    assert response.data == b""
    [delivery] = store_of(app).deliveries(SENDER)
    assert (delivery.sid, delivery.status, delivery.error_code) == (SID, "delivered", "")


def test_callbacks_out_of_order_never_step_back(app, client):
    for status in ("delivered", "sent", "queued"):  # as Twilio may deliver them
        assert post_status(client, status_form(status)).status_code == 204
    assert [d.status for d in store_of(app).deliveries(SENDER)] == ["delivered"]
    assert post_status(client, status_form("read")).status_code == 204
    assert [d.status for d in store_of(app).deliveries(SENDER)] == ["read"]


def test_a_failure_is_recorded_and_logged_with_its_code_never_the_number(app, client, caplog):
    form = status_form("undelivered", ErrorCode="63016")
    with caplog.at_level(logging.WARNING, logger="bot.status"):
        assert post_status(client, form).status_code == 204
    [delivery] = store_of(app).deliveries(SENDER)
    assert (delivery.status, delivery.error_code) == ("undelivered", "63016")
    who = sender_hash(SENDER, app.config["BOT_LOG_SALT"])
    assert [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "bot.status"] == [
        (
            "WARNING",
            f"message {SID} undelivered: Twilio error 63016 (more than 24 hours since the user "
            "last wrote: WhatsApp only allows a template message now), to " + who,
        )
    ]
    assert SENDER not in caplog.text
    assert "14155550123" not in caplog.text


def test_a_failure_with_an_unknown_code_is_logged_with_the_code_alone(app, client, caplog):
    with caplog.at_level(logging.WARNING, logger="bot.status"):
        post_status(client, status_form("failed", ErrorCode="30008"))
    who = sender_hash(SENDER, app.config["BOT_LOG_SALT"])
    assert caplog.records[-1].getMessage() == f"message {SID} failed: Twilio error 30008, to {who}"


def test_every_status_is_counted_and_an_unknown_one_as_other(app, client):
    before = {status: counted(client, status) for status in ("delivered", "read", "other")}
    post_status(client, status_form("delivered"))
    post_status(client, status_form("read"))
    post_status(client, status_form("read", MessageSid="SM" + "b" * 32, SmsSid="SM" + "b" * 32))
    post_status(client, status_form("teleported"))
    after = {status: counted(client, status) for status in ("delivered", "read", "other")}
    assert {k: after[k] - before[k] for k in after} == {"delivered": 1, "read": 2, "other": 1}
    metrics = client.get("/metrics").text
    assert 'bot_delivery_status_total{status="teleported"}' not in metrics


def test_a_callback_naming_the_recipient_is_theirs_even_without_a_queued_record(app, client):
    # The store was down when the message went out, so it was never recorded as queued.
    post_status(client, status_form("sent"))
    assert [(d.sid, d.status, d.about) for d in store_of(app).deliveries(SENDER)] == [
        (SID, "sent", "")
    ]


@pytest.mark.parametrize(
    ("form", "status", "problem"),
    [
        (status_form(MessageSid=None, SmsSid=None), 400, "no MessageSid"),
        (status_form(MessageStatus=None), 400, "no MessageStatus"),
        (status_form(MessageSid="SM123", SmsSid=None), 400, "MessageSid is not SM or MM"),
        (status_form(SmsSid="SM" + "c" * 32), 400, "SmsSid is not the MessageSid"),
        (status_form("Delivered"), 400, "MessageStatus is not a lowercase word"),
        (status_form("delivered\n"), 400, "MessageStatus is not a lowercase word"),
        (status_form("failed", ErrorCode="63016; To=+1"), 400, "ErrorCode is not a number"),
        (status_form(AccountSid="AC123"), 400, "AccountSid is not AC and 32"),
        (status_form(To="+1 415 555 0123"), 400, "To is not whatsapp:+"),
        (status_form(AccountSid=OTHER_ACCOUNT), 403, "its AccountSid is not TWILIO_ACCOUNT_SID"),
    ],
)
def test_a_malformed_callback_or_another_accounts_is_refused_and_not_recorded(
    app, client, caplog, form, status, problem
):
    with caplog.at_level(logging.WARNING, logger="bot.whatsapp"):
        response = post_status(client, form)
    assert response.status_code == status
    assert response.mimetype == "text/plain"
    assert f"refused a /status request: {problem}" in caplog.text
    assert store_of(app).deliveries(SENDER) == []
    assert "14155550123" not in caplog.text + response.text


def test_a_bad_signature_is_refused_before_the_form_is_read(app, client):
    response = post_status(client, status_form("delivered"), token="not-the-token")
    assert response.status_code == 403
    assert response.text == "Forbidden: this request is not signed by Twilio.\n"
    unsigned = client.post("/status", data=status_form(MessageSid="nonsense"))
    assert unsigned.status_code == 403  # 403, not 400: it learns nothing about the form
    assert store_of(app).deliveries(SENDER) == []


def test_a_callback_signed_for_another_url_is_refused(app, client):
    form = status_form("delivered")
    signature = RequestValidator(TOKEN).compute_signature(f"{PUBLIC}/bot", form)
    response = client.post("/status", data=form, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 403


def test_an_oversized_callback_is_refused(client):
    form = status_form("delivered", Padding="x" * 70_000)
    assert post_status(client, form).status_code == 413


def test_only_post_is_allowed(client):
    assert client.get("/status").status_code == 405


def test_a_store_that_is_down_answers_503_and_says_why(caplog):
    app = create_app(base_settings(BOT_STORE_URL=f"redis://127.0.0.1:{closed_port()}/0"))
    client = app.test_client()
    before = counted(client, "delivered")
    form = status_form()
    signature = RequestValidator(TOKEN).compute_signature("http://localhost/status", form)
    with caplog.at_level(logging.ERROR, logger="bot.status"):
        response = client.post("/status", data=form, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 503
    assert response.text == "Service Unavailable: the store is not answering.\n"
    assert f"status delivered of message {SID} not recorded" in caplog.text
    assert counted(client, "delivered") == before + 1  # Twilio did report it


def test_an_operator_reply_is_queued_then_moved_along_by_its_callbacks(upstream, tmp_path):
    upstream.expect_request(MESSAGES, method="POST").respond_with_handler(twilio_created)
    settings = live_settings(
        upstream.url_for("").rstrip("/"),
        BOT_STORE_URL=f"sqlite:///{tmp_path}/bot.db",
        BOT_PUBLIC_URL=PUBLIC,
    )
    app = create_app(settings)
    with app.app_context():
        seam = answering()
        # What the integration does in Answering.from_settings.
        seam.followups.store = seam.pipeline.store
        sid = seam.followups.send(SENDER, BOT_NUMBER, "Hi, this is Ana from support.", "SM1")
    [(request, _)] = upstream.log
    assert request.form["StatusCallback"] == STATUS_URL
    store = store_of(app)
    [queued] = store.deliveries(SENDER)
    assert (queued.sid, queued.status, queued.about, queued.sender) == (
        sid,
        "queued",
        "SM1",
        SENDER,
    )
    client = app.test_client()
    for status in ("sent", "delivered", "read"):
        assert (
            post_status(client, status_form(status, MessageSid=sid, SmsSid=sid)).status_code == 204
        )
    [read] = store.deliveries(SENDER)
    assert read == Delivery(sid, "read", "", read.at, "SM1", SENDER)
