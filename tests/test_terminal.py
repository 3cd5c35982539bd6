"""`flask --app bot chat`: the same engine as WhatsApp, from stdin, with no network."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bot import create_app
from config import DEFAULTS
from tests.conftest import base_settings
from tests.stores import kept_state

ROOT = Path(__file__).resolve().parent.parent


def test_chat_answers_each_line_in_order(runner):
    result = runner.invoke(args=["chat", "--name", "Kim"], input="hello\nwhat can you do\nbye\n")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("bot> ")]
    assert len(lines) == 3
    assert "Kim" in lines[0]
    assert lines[1] == "bot> Here's what I can do. Reply with a number or just ask:"
    assert "Bye Kim" in lines[2] or "See you later" in lines[2]


def test_chat_prints_media_as_urls(edge_rules):
    runner = create_app(base_settings(BOT_RULES=str(edge_rules))).test_cli_runner()
    result = runner.invoke(args=["chat"], input="send picture\n")
    assert result.output.splitlines() == [
        "you> send picture",
        "bot> Here is a picture 🖼",
        "[media] https://example.org/cat.jpg",
    ]


def test_chat_stops_at_quit_and_keeps_state_per_sender(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["chat", "--sender", "tester"], input="hi\n/quit\nhelp\n")
    assert result.output.count("bot> ") == 1
    state = kept_state(app.extensions["bot.store"], "tester")
    assert (state.turns, state.last_intent) == (1, "greet")


def test_chat_works_without_twilio_credentials():
    runner = create_app(
        {
            "TWILIO_AUTH_TOKEN": "",
            "TWILIO_ACCOUNT_SID": "",
            "BOT_STORE_URL": "memory://",
            "BOT_OFFLINE": "true",
        }
    ).test_cli_runner()
    result = runner.invoke(args=["chat"], input="thanks\n")
    assert result.exit_code == 0
    assert result.output.splitlines()[1].startswith("bot> ")


def test_piped_lines_are_echoed_so_the_transcript_reads_like_a_chat(runner):
    result = runner.invoke(args=["chat", "--name", "Kim"], input="hello\nwhat can you do\n/quit\n")
    lines = result.output.splitlines()
    assert lines[0] == "you> hello"
    assert lines[1].startswith("bot> ")
    assert "Kim" in lines[1]
    assert lines[2] == "you> what can you do"
    assert lines[3] == "bot> Here's what I can do. Reply with a number or just ask:"
    assert lines[-1] == "you> /quit"
    assert [line[:5] for line in lines if line[:5] in {"you> ", "bot> "}] == [
        "you> ", "bot> ", "you> ", "bot> ", "you> "
    ]  # fmt: skip


def test_echo_hi_piped_into_flask_chat():
    env = {**os.environ, **dict.fromkeys(DEFAULTS, ""), "BOT_STORE_URL": "memory://"}
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "bot", "chat", "--sender", "me"],
        input="hi\n", cwd=ROOT, env={**env, "BOT_OFFLINE": "true", "TWILIO_VALIDATE": "false"},
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    lines = result.stdout.splitlines()
    assert lines[0] == "you> hi"
    assert lines[1].startswith("bot> ")
    assert len(lines) == 2
