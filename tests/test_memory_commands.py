"""`flask --app bot purge` and `flask --app bot forget`, run through Flask's CLI runner."""

from __future__ import annotations

import time

import pytest

from bot import create_app
from engine import ConversationState, Reply
from memory import Exchange, SqliteStore
from memory.base import DAY
from tests.conftest import base_settings
from tests.stores import commit, kept_state, recorded


@pytest.fixture
def path(tmp_path):
    return tmp_path / "bot.db"


def seed(path, sender: str, days_ago: float, name: str) -> None:
    at = time.time() - days_ago * DAY
    store = SqliteStore(path, clock=lambda: at)
    state = ConversationState(variables={"name": name}, turns=1)
    commit(
        store,
        sender,
        state,
        Exchange(f"SM-{sender}", at, "whatsapp", "hi", None, 0, (Reply("Hi"),)),
    )
    store.close()


def runner_for(path, **settings):
    return create_app(
        base_settings(BOT_STORE_URL=f"sqlite:///{path}", **settings)
    ).test_cli_runner()


def test_purge_deletes_what_is_older_than_the_retention_period(path):
    seed(path, "old", 40, "Old")
    seed(path, "new", 2, "New")
    runner = runner_for(path)
    result = runner.invoke(args=["purge"])
    assert result.exit_code == 0, result.output
    assert result.output == f"Deleted 3 items older than 30 days from sqlite:///{path}.\n"
    check = SqliteStore(path, retention_days=0)
    assert kept_state(check, "old") == ConversationState()
    assert check.history("old") == []
    assert kept_state(check, "new").variables == {"name": "New"}


def test_purge_follows_the_configured_period(path):
    seed(path, "a", 3, "A")
    runner = runner_for(path, BOT_RETENTION_DAYS="1")
    assert runner.invoke(args=["purge"]).output.startswith("Deleted 3 items older than 1 days")
    keep_all = runner_for(path, BOT_RETENTION_DAYS="0")
    assert keep_all.invoke(args=["purge"]).output == (
        "BOT_RETENTION_DAYS=0 keeps everything: nothing to purge.\n"
    )


def test_forget_deletes_one_sender(path):
    seed(path, "whatsapp:+15550001", 1, "Ana")
    seed(path, "whatsapp:+15550002", 1, "Bo")
    runner = runner_for(path)
    result = runner.invoke(args=["forget", "whatsapp:+15550001"])
    assert result.exit_code == 0, result.output
    assert "+15550001" not in result.output
    check = SqliteStore(path)
    assert kept_state(check, "whatsapp:+15550001") == ConversationState()
    assert recorded(check, "whatsapp:+15550001", "SM-whatsapp:+15550001") is None
    assert kept_state(check, "whatsapp:+15550002").variables == {"name": "Bo"}


def test_a_store_that_is_down_is_reported(tmp_path):
    app = create_app(base_settings(BOT_STORE_URL="redis://127.0.0.1:9/0"))
    result = app.test_cli_runner().invoke(args=["purge"])
    assert result.exit_code == 1
    assert "Error: Redis redis://127.0.0.1:9/0: purge: ConnectionError" in result.output


def test_report_lists_what_reached_the_fallback_most(path):
    runner = runner_for(path)
    # No knowledge base: the demo's would answer the order and card questions.
    settings = base_settings(BOT_STORE_URL=f"sqlite:///{path}", BOT_KNOWLEDGE="")
    app_client = create_app(settings).test_client()
    from tests.conftest import post_whatsapp

    for sender, text in [
        ("whatsapp:+15550001", "Where is my order?"),
        ("whatsapp:+15550002", "where is my   order"),
        ("whatsapp:+15550003", "WHERE IS MY ORDER!"),
        ("whatsapp:+15550001", "can I pay by card"),
        ("whatsapp:+15550002", "can i pay by card?"),
        ("whatsapp:+15550003", "is 020 7946 0958 open"),
        ("whatsapp:+15550004", "hello"),  # understood: not in the report
        ("whatsapp:+15550005", "blorp the zibble"),  # this user is forgotten below
    ]:
        post_whatsapp(app_client, text, From=sender)
    post_whatsapp(app_client, "forget me", From="whatsapp:+15550005")
    seed(path, "old", 40, "Old")  # older than the retention period: not counted
    result = runner.invoke(args=["report", "--top", "3"])
    assert result.exit_code == 0, result.output
    assert result.output == (
        "Messages that reached the fallback most often (the last 30 days):\n"
        "  3  where is my order\n"
        "  2  can i pay by card\n"
        "  1  is <number> open\n"
    )


def test_report_with_nothing_to_report(path):
    result = runner_for(path).invoke(args=["report"])
    assert result.output == "No message reached the fallback in the last 30 days.\n"
