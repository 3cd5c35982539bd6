"""Settings: embedded defaults, then `.env` and the environment, each checked at start-up.

A bad value stops start-up with a message naming the variable, rather than a surprise later.
Nothing here runs at import time; `create_app` calls `from_environ`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rules import DEMO_RULES
from skills.services import UPSTREAM_URLS

DEFAULTS: dict[str, Any] = {
    "TWILIO_ACCOUNT_SID": "",
    "TWILIO_AUTH_TOKEN": "",
    "TWILIO_VALIDATE": True,
    "BOT_PUBLIC_URL": "",
    "BOT_TRUSTED_PROXIES": 0,
    "BOT_RULES": str(DEMO_RULES),
    "BOT_LOG_LEVEL": "INFO",
    "BOT_LOG_SALT": "",
    "BOT_TIMEZONE": "UTC",
    "BOT_STORE_URL": "sqlite:///instance/bot.db",
    "BOT_RETENTION_DAYS": 30,
    "BOT_REPLY_BUDGET": 3.0,
    "BOT_UPSTREAM_TIMEOUT": 5.0,
    "BOT_OFFLINE": False,
    "BOT_ALLOW_PRIVATE_URLS": False,
    "TWILIO_API_URL": "https://api.twilio.com",
    # Twilio's messaging.twilio.com API (the typing indicator); empty: beside TWILIO_API_URL
    # (messaging.twilio.com for api.twilio.com, else the same host, as a local fake serves both).
    "TWILIO_MESSAGING_API_URL": "",
    "BOT_ALLOWED_ORIGINS": (),
    "BOT_CHAT_MAX_SOCKETS": 16,
    "BOT_RATE_LIMIT": 20,
    "BOT_LOG_BODIES": False,
    "BOT_METRICS_TOKEN": "",
    "BOT_METRICS_PUBLIC": False,
    "SECRET_KEY": "",
    "BOT_ALLOWED_HOSTS": (),
    "TWILIO_WEBHOOK_SHARED_KEY": "",
    "BOT_KNOWLEDGE": "knowledge",
    "BOT_MEDIA_MAX_MB": 10,
    "BOT_DOCUMENT_MAX_PAGES": 300,
    # People: the console's operators (`name=password-hash`, comma-separated; no console
    # without one), how long a conversation with a person may stay quiet before it returns
    # to the bot, and WhatsApp's typing indicator while a slow answer is on its way.
    "BOT_OPERATORS": "",
    "BOT_HANDOFF_IDLE_MINUTES": 30,
    "BOT_TYPING_INDICATOR": True,
    **UPSTREAM_URLS,
}

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class ConfigError(ValueError):
    """A setting that cannot be used; the message names the variable and what it wants."""


def _boolean(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE | _FALSE:
        return value in _TRUE
    raise ConfigError(f"{name}={raw!r}: use true or false")


def _whole_number(name: str, raw: str) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(f"{name}={raw!r}: use a whole number, 0 or more") from None
    if value < 0:
        raise ConfigError(f"{name}={raw!r}: use a whole number, 0 or more")
    return value


def _public_url(name: str, raw: str) -> str:
    value = raw.strip().rstrip("/")
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc or parts.query or parts.fragment:
        raise ConfigError(
            f"{name}={raw!r}: use the public base URL Twilio calls, such as "
            "https://abc123.ngrok-free.app (no query, no fragment)"
        )
    return value


def _base_url(name: str, raw: str) -> str:
    value = raw.strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc or parts.query or parts.fragment:
        raise ConfigError(
            f"{name}={raw!r}: use an http(s) base URL such as https://api.example.com"
        )
    return value


def _optional_base_url(name: str, raw: str) -> str:
    return _base_url(name, raw) if raw.strip() else ""


def _seconds(name: str, raw: str) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        value = float("nan")
    if not 0 < value < 15:
        raise ConfigError(
            f"{name}={raw!r}: use seconds above 0 and under 15 (Twilio waits 15 s), such as 3"
        )
    return value


def _origins(name: str, raw: str) -> tuple[str, ...]:
    origins = []
    for item in raw.split(","):
        value = item.strip().rstrip("/")
        if not value:
            continue
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.netloc or parts.path:
            raise ConfigError(
                f"{name}={raw!r}: list origins as scheme://host[:port], comma-separated, "
                "such as https://example.com,http://localhost:3000"
            )
        origins.append(value.lower())
    return tuple(origins)


def _hosts(name: str, raw: str) -> tuple[str, ...]:
    hosts = []
    for item in raw.split(","):
        value = item.strip().lower()
        if not value:
            continue
        if not re.fullmatch(r"[a-z0-9.-]+(:\d{1,5})?|\[[0-9a-f:.]+\](:\d{1,5})?", value):
            raise ConfigError(
                f"{name}={raw!r}: list host names as host[:port], comma-separated, "
                "such as bot.example.com,localhost:5000"
            )
        hosts.append(value)
    return tuple(hosts)


def _timezone(name: str, raw: str) -> str:
    value = raw.strip()
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{name}={raw!r}: use an IANA time zone such as Europe/London") from None
    return value


_PARSERS = {
    "TWILIO_VALIDATE": _boolean,
    "BOT_TRUSTED_PROXIES": _whole_number,
    "BOT_PUBLIC_URL": _public_url,
    "BOT_TIMEZONE": _timezone,
    "BOT_RETENTION_DAYS": _whole_number,
    "BOT_REPLY_BUDGET": _seconds,
    "BOT_UPSTREAM_TIMEOUT": _seconds,
    "BOT_OFFLINE": _boolean,
    "BOT_ALLOW_PRIVATE_URLS": _boolean,
    "TWILIO_API_URL": _base_url,
    "TWILIO_MESSAGING_API_URL": _optional_base_url,
    "BOT_ALLOWED_ORIGINS": _origins,
    "BOT_CHAT_MAX_SOCKETS": _whole_number,
    "BOT_RATE_LIMIT": _whole_number,
    "BOT_LOG_BODIES": _boolean,
    "BOT_METRICS_PUBLIC": _boolean,
    "BOT_ALLOWED_HOSTS": _hosts,
    "BOT_MEDIA_MAX_MB": _whole_number,
    "BOT_DOCUMENT_MAX_PAGES": _whole_number,
    "BOT_HANDOFF_IDLE_MINUTES": _whole_number,
    "BOT_TYPING_INDICATOR": _boolean,
    **dict.fromkeys(UPSTREAM_URLS, _base_url),
}


def settings_from(
    environ: Mapping[str, str], overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The defaults, overlaid with the known variables in `environ`, then `overrides`; checked.

    Values from either layer may be strings as the environment gives them (`"false"`, `"2"`);
    they are parsed here, so a bad one raises `ConfigError` naming the variable.
    """
    settings = dict(DEFAULTS)
    # An empty variable (as in a copied .env.example) means "use the default".
    settings.update({k: v.strip() for k, v in environ.items() if k in DEFAULTS and v.strip()})
    settings.update(overrides or {})
    for name, parse in _PARSERS.items():
        if isinstance(settings[name], str):
            settings[name] = parse(name, settings[name])
    # Sender ids in logs are hashed with this key: without a salt of its own, the auth
    # token (a secret the logs never show), so a leaked log cannot be matched to numbers.
    settings["BOT_LOG_SALT"] = settings["BOT_LOG_SALT"] or settings["TWILIO_AUTH_TOKEN"]
    return settings
