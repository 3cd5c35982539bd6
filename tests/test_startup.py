"""A bad rule file or setting stops start-up with its problems, no traceback, and status 1:
under `flask --app bot run`, `flask --app bot chat`, and gunicorn as the Procfile runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot import create_app
from config import DEFAULTS
from rules import RuleError
from tests.conftest import TOKEN, base_settings
from tests.helpers import closed_port
from tests.servers import procfile_command

ROOT = Path(__file__).resolve().parent.parent
SECONDS = 120  # a hang guard: each of these stops within a few seconds
BAD_RULES = """\
intents:
  - name: greet
    examples: []
    responses: [Hi!]
  - nme: thanks
    examples: [thanks]
"""


@pytest.fixture
def bad_rules(tmp_path) -> Path:
    path = tmp_path / "bad.yml"
    path.write_text(BAD_RULES)
    return path


def env_with(**settings: str) -> dict[str, str]:
    """Every setting explicit, so a developer's own .env cannot change what is tested."""
    env = {**os.environ, **dict.fromkeys(DEFAULTS, ""), "TWILIO_AUTH_TOKEN": TOKEN}
    return {**env, "BOT_STORE_URL": "memory://", "BOT_OFFLINE": "true", **settings}


def run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=SECONDS,
    )  # fmt: skip


def flask(*args: str) -> list[str]:
    return [sys.executable, "-m", "flask", "--app", "bot", *args]


COMMANDS = {
    "flask run": lambda: flask("run", "--port", str(closed_port())),
    "flask chat": lambda: flask("chat"),
    "gunicorn": lambda: procfile_command(closed_port()),
}


@pytest.mark.parametrize("name", COMMANDS)
def test_bad_rules_print_their_problems_without_a_traceback(name, bad_rules):
    result = run(COMMANDS[name](), env_with(BOT_RULES=str(bad_rules)))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    assert "The bot cannot start: the rules have 3 problems:" in result.stderr
    assert f"{bad_rules}:2: intent 'greet' needs 'examples'" in result.stderr
    assert f"{bad_rules}:5: intent: unknown key 'nme'" in result.stderr


@pytest.mark.parametrize("name", COMMANDS)
def test_a_bad_setting_names_itself_without_a_traceback(name):
    result = run(COMMANDS[name](), env_with(BOT_TRUSTED_PROXIES="two"))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    assert "The bot cannot start: BOT_TRUSTED_PROXIES='two': use a whole number" in result.stderr


def test_a_store_url_that_cannot_work_names_itself():
    result = run(flask("chat"), env_with(BOT_STORE_URL="postgres://db/bot"))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "The bot cannot start: BOT_STORE_URL='postgres://db/bot'" in result.stderr


def test_in_process_the_error_is_raised_as_it_was(bad_rules):
    with pytest.raises(RuleError) as raised:
        create_app(base_settings(BOT_RULES=str(bad_rules)))
    assert len(raised.value.problems) == 3
