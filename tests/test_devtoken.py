"""The development token: `make run` with an empty TWILIO_AUTH_TOKEN answers requests signed
by `flask --app bot sign`, says Twilio's own will be refused, and never logs the token."""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from config import DEFAULTS, ConfigError
from devtoken import FILE_NAME, dev_token, signing_token
from logs import sender_hash
from tests.conftest import parse_twiml, signature_for, whatsapp_form
from tests.helpers import closed_port
from tests.servers import procfile_command

ROOT = Path(__file__).resolve().parent.parent
START_SECONDS = 60  # a hang guard for gunicorn's start


def test_the_token_is_made_once_readable_by_its_owner_only(tmp_path):
    instance = tmp_path / "instance"
    token = dev_token(instance)
    path = instance / FILE_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(token) == 32
    assert int(token, 16) >= 0
    assert dev_token(instance) == token
    assert sorted(p.name for p in instance.iterdir()) == [FILE_NAME]  # no temporary file left


def test_processes_starting_together_share_one_token(tmp_path):
    program = "import sys, pathlib, devtoken; print(devtoken.dev_token(pathlib.Path(sys.argv[1])))"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", program, str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE
        )
        for _ in range(6)
    ]
    tokens = {process.communicate(timeout=60)[0].strip() for process in processes}
    assert len(tokens) == 1
    assert tokens == {(tmp_path / FILE_NAME).read_text().strip().encode()}


def test_a_token_file_others_can_read_is_refused(tmp_path):
    dev_token(tmp_path)
    (tmp_path / FILE_NAME).chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        dev_token(tmp_path)


def test_a_link_in_place_of_the_token_is_refused(tmp_path):
    elsewhere = tmp_path / "known"
    elsewhere.write_text("a token someone else knows\n")
    elsewhere.chmod(0o600)
    (tmp_path / "instance").mkdir()
    (tmp_path / "instance" / FILE_NAME).symlink_to(elsewhere)
    with pytest.raises(ConfigError, match="TWILIO_AUTH_TOKEN is not set"):
        dev_token(tmp_path / "instance")


def test_a_folder_that_cannot_hold_it_names_the_setting(tmp_path):
    (tmp_path / "a-file").write_text("")
    with pytest.raises(ConfigError, match=r"TWILIO_AUTH_TOKEN is not set.*Set TWILIO_AUTH_TOKEN"):
        dev_token(tmp_path / "a-file" / "instance")


def test_only_an_empty_token_with_signatures_checked_uses_it(tmp_path):
    assert signing_token({"TWILIO_AUTH_TOKEN": "real", "TWILIO_VALIDATE": True}, tmp_path) == "real"
    assert signing_token({"TWILIO_AUTH_TOKEN": "", "TWILIO_VALIDATE": False}, tmp_path) == ""
    assert list(tmp_path.iterdir()) == []
    token = signing_token({"TWILIO_AUTH_TOKEN": "", "TWILIO_VALIDATE": True}, tmp_path)
    assert token == (tmp_path / FILE_NAME).read_text().strip()


# -- a fresh checkout with an empty .env, run for real ---------------------------------------


@pytest.fixture
def checkout(tmp_path) -> Path:
    """This project as a fresh clone sees it: every file (linked), no .env, and an instance
    folder of its own."""
    folder = tmp_path / "bot"
    folder.mkdir()
    for entry in ROOT.iterdir():
        if entry.name not in {"instance", ".env", ".git", ".venv"}:
            (folder / entry.name).symlink_to(entry)
    (folder / "instance").mkdir()
    return folder


def empty_env(**settings: str) -> dict[str, str]:
    return {**os.environ, **dict.fromkeys(DEFAULTS, ""), "BOT_OFFLINE": "true", **settings}


def start_gunicorn(folder: Path, env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    port = closed_port()
    process = subprocess.Popen(
        procfile_command(port),
        cwd=folder,
        env={**env, "WEB_CONCURRENCY": "2"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline and process.poll() is None:
        try:
            requests.get(f"{base}/health", timeout=1)
            return process, base
        except (requests.ConnectionError, requests.Timeout):  # not up yet
            time.sleep(0.1)
    process.kill()
    pytest.fail(f"gunicorn did not start:\n{process.communicate()[0]}")


def test_make_run_without_a_token_answers_signed_requests_and_warns(checkout):
    env = empty_env(BOT_STORE_URL=f"sqlite:///{checkout}/instance/bot.db")
    server, base = start_gunicorn(checkout, env)
    try:
        health = requests.get(f"{base}/health", timeout=5)
        signed = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "bot", "sign", "what can you do",
             "--url", f"{base}/bot"],
            cwd=checkout, env=env, capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        words = shlex.split(signed.stdout)
        header = words[words.index("-H") + 1].partition(": ")
        form = dict(
            words[i + 1].split("=", 1) for i, w in enumerate(words) if w == "--data-urlencode"
        )
        answers = [
            requests.post(f"{base}/bot", data=form, headers={header[0]: header[2]}, timeout=10)
            for _ in range(4)  # whichever worker answers
        ]
        other = whatsapp_form("hi")  # signed with some other token, as Twilio would
        refused = requests.post(
            f"{base}/bot",
            data=other,
            headers={"X-Twilio-Signature": signature_for(other, f"{base}/bot")},
            timeout=10,
        )
    finally:
        server.terminate()
        log = server.communicate(timeout=30)[0]
    token = (checkout / "instance" / FILE_NAME).read_text().strip()
    assert stat.S_IMODE((checkout / "instance" / FILE_NAME).stat().st_mode) == 0o600

    assert health.status_code == 200
    assert health.json()["status"] == "degraded"
    [warning] = health.json()["warnings"]
    assert "TWILIO_AUTH_TOKEN is not set" in warning
    assert "Twilio's own are refused" in warning

    assert all(a.status_code == 200 for a in answers)
    assert "Here's what I can do" in (parse_twiml(answers[0].content)[0][0] or "")
    assert refused.status_code == 403

    assert "TWILIO_AUTH_TOKEN is not set" in log
    assert "Twilio's own requests are REFUSED" in log
    assert token not in log + signed.stderr + health.text
    # Senders are hashed with the development token as the key, not a key anyone knows.
    assert f"sender={sender_hash(form['From'], token)}" in log
