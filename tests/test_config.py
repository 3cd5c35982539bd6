"""Settings: defaults, environment, and a clear error for every bad value."""

from __future__ import annotations

import pytest

from bot import create_app
from config import DEFAULTS, ConfigError, settings_from


def test_defaults_when_nothing_is_set():
    assert settings_from({}) == DEFAULTS


def test_environment_values_are_parsed():
    settings = settings_from(
        {
            "TWILIO_VALIDATE": "False",
            "BOT_TRUSTED_PROXIES": " 2 ",
            "BOT_PUBLIC_URL": "https://abc.ngrok-free.app/",
            "UNRELATED": "x",
        }
    )
    assert settings["TWILIO_VALIDATE"] is False
    assert settings["BOT_TRUSTED_PROXIES"] == 2
    assert settings["BOT_PUBLIC_URL"] == "https://abc.ngrok-free.app"
    assert "UNRELATED" not in settings


def test_empty_variables_mean_default():
    assert settings_from({"BOT_RULES": "", "TWILIO_VALIDATE": " "}) == DEFAULTS


@pytest.mark.parametrize(
    ("name", "value", "hint"),
    [
        ("TWILIO_VALIDATE", "maybe", "use true or false"),
        ("BOT_TRUSTED_PROXIES", "two", "whole number"),
        ("BOT_TRUSTED_PROXIES", "-1", "whole number"),
        ("BOT_PUBLIC_URL", "abc.ngrok.app", "public base URL"),
        ("BOT_PUBLIC_URL", "https://x.app/?a=1", "public base URL"),
        ("BOT_TIMEZONE", "Mars/Olympus", "IANA time zone"),
        ("BOT_TIMEZONE", "../../etc/passwd", "IANA time zone"),
        ("BOT_RETENTION_DAYS", "a month", "whole number"),
        ("BOT_RETENTION_DAYS", "-30", "whole number"),
    ],
)
def test_bad_values_name_the_variable(name, value, hint):
    with pytest.raises(ConfigError, match=f"{name}=.*{hint}"):
        settings_from({name: value})


def test_environment_is_read_by_create_app_and_wins_over_dotenv(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("TWILIO_AUTH_TOKEN=from-dotenv\nBOT_TRUSTED_PROXIES=3\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BOT_TRUSTED_PROXIES", "1")
    monkeypatch.delenv("TWILIO_AUTH_TOKEN", raising=False)
    monkeypatch.setenv("BOT_STORE_URL", "memory://")
    monkeypatch.setenv("BOT_OFFLINE", "true")
    app = create_app()
    assert app.config["TWILIO_AUTH_TOKEN"] == "from-dotenv"
    assert app.config["BOT_TRUSTED_PROXIES"] == 1


def test_importing_the_app_reads_no_environment(monkeypatch):
    import importlib

    import bot

    monkeypatch.setenv("BOT_TRUSTED_PROXIES", "not-a-number")
    importlib.reload(bot)  # would raise if anything parsed the environment at import time
    with pytest.raises(ConfigError):
        bot.create_app()


def test_time_skill_answers_in_the_configured_zone():
    runner = create_app(
        {
            "TWILIO_AUTH_TOKEN": "t",
            "BOT_TIMEZONE": "Asia/Kolkata",
            "BOT_STORE_URL": "memory://",
            "BOT_OFFLINE": "true",
        }
    ).test_cli_runner()
    assert "(IST)" in runner.invoke(args=["chat"], input="what time is it\n").output
