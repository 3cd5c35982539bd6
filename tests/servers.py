"""Real servers for tests: the Procfile's gunicorn command on a free loopback port."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from config import DEFAULTS
from tests.conftest import SECRET_KEY, TOKEN, parse_twiml, signature_for, whatsapp_form
from tests.helpers import closed_port

ROOT = Path(__file__).resolve().parent.parent


def procfile_command(port: int) -> list[str]:
    line = next(li for li in (ROOT / "Procfile").read_text().splitlines() if li.startswith("web:"))
    words = shlex.split(line.removeprefix("web:"))
    assert words[0] == "gunicorn"
    # Same program, from this interpreter's environment; bind to loopback only for the test.
    words = [sys.executable, "-m", "gunicorn", *words[1:]]
    return [w.replace("$PORT", str(port)).replace("0.0.0.0:", "127.0.0.1:") for w in words]


class Server:
    """One gunicorn master and its workers, started from the Procfile with `settings`."""

    def __init__(self, port: int | None = None, **settings: str) -> None:
        self.port = port or closed_port()
        self.base = f"http://127.0.0.1:{self.port}"
        # Every setting explicit, so a developer's own .env cannot change what is tested.
        env = {**os.environ, **{k: "" for k in DEFAULTS}, "TWILIO_AUTH_TOKEN": TOKEN}
        env["SECRET_KEY"] = SECRET_KEY
        env.update(
            {"WEB_CONCURRENCY": "2", "BOT_OFFLINE": "true", "BOT_RATE_LIMIT": "0", **settings}
        )
        self.process = subprocess.Popen(
            procfile_command(self.port),
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._wait_until_healthy()

    def _wait_until_healthy(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.base}/health", timeout=1).status_code == 200:
                    return
            except (requests.ConnectionError, requests.Timeout):  # not up yet, or still busy
                time.sleep(0.1)
            if self.process.poll() is not None:
                pytest.fail(f"gunicorn exited early:\n{self.process.stdout.read()}")
        self.process.kill()
        pytest.fail("gunicorn did not answer /health within 30 s")

    def say(self, text: str, **params: str) -> str:
        """Send a signed WhatsApp message; the text of the reply."""
        return self.post(whatsapp_form(text, **params))

    def post(self, form: dict[str, str]) -> str:
        headers = {"X-Twilio-Signature": signature_for(form, f"{self.base}/bot")}
        response = requests.post(f"{self.base}/bot", data=form, headers=headers, timeout=10)
        assert response.status_code == 200
        return "\n".join(body or "" for body, _ in parse_twiml(response.content))

    def stop(self) -> str:
        """SIGTERM, wait for a clean exit; what the server printed."""
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        return self.process.stdout.read()
