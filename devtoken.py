"""The development token: what `/bot` checks signatures with while TWILIO_AUTH_TOKEN is empty.

A fresh clone with an empty `.env` must work locally: `make run`, then a request signed by
`flask --app bot sign` gets its answer. So while signatures are checked and no Auth Token is
set, the app makes a random token once and keeps it in its instance folder (`dev-token`,
readable by its owner only), where every gunicorn worker and every `flask` command find the
same one. Twilio signs with the account's Auth Token, which this is not: Twilio's own
requests are refused until TWILIO_AUTH_TOKEN is set, and the app says so at start-up and on
/health.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from config import ConfigError

FILE_NAME = "dev-token"
KEY_FILE = "secret-key"  # the web chat's SECRET_KEY, kept for a run without one
_MIN_LENGTH = 16


def signing_token(settings: Mapping[str, Any], instance: Path) -> str:
    """The token X-Twilio-Signature is checked against: TWILIO_AUTH_TOKEN when set; else,
    while TWILIO_VALIDATE is on, the development token in `instance` (made on first use);
    else "" (nothing is checked)."""
    if settings["TWILIO_AUTH_TOKEN"] or not settings["TWILIO_VALIDATE"]:
        return settings["TWILIO_AUTH_TOKEN"]
    return dev_token(instance)


def dev_token(instance: Path) -> str:
    """The token kept in `instance`/dev-token, made there first if there is none."""
    return kept_secret(instance, FILE_NAME, "TWILIO_AUTH_TOKEN")


def kept_secret(instance: Path, name: str, setting: str) -> str:
    """A random secret kept in `instance`/`name` for a local run whose `setting` is empty,
    made there first if there is none (the web chat's SECRET_KEY is kept the same way).

    Several processes may start at once (gunicorn workers without preload): each writes its
    candidate to a private temporary file and links it into place, which succeeds for one of
    them only; the others read the winner's. A reader never sees a half-written file.
    """
    path = instance / name
    try:
        instance.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not path.exists():
            _create(path)
        return _read(path)
    except OSError as error:
        raise ConfigError(
            f"{setting} is not set, and a local one cannot be kept in "
            f"{path}: {error.strerror or error}. Set {setting} in .env."
        ) from None


def _create(path: Path) -> None:
    descriptor, candidate = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)  # 0600
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as file:
            file.write(secrets.token_hex(16) + "\n")
        with contextlib.suppress(FileExistsError):  # another process was first: use its token
            os.link(candidate, path)
    finally:
        os.unlink(candidate)


def _read(path: Path) -> str:
    # Not through a symbolic link, and only a file of ours that no one else can read: the
    # token lets its holder talk to the bot as anyone.
    descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(descriptor, encoding="ascii", errors="replace") as file:
        status = os.fstat(file.fileno())
        if not stat.S_ISREG(status.st_mode) or status.st_uid != os.getuid():
            raise ConfigError(f"{path} is not a file of this user's: delete it")
        if status.st_mode & 0o077:
            raise ConfigError(f"{path} can be read by others: run chmod 600 {path}")
        token = file.read(256).strip()
    if len(token) < _MIN_LENGTH or not token.isprintable() or " " in token:
        raise ConfigError(f"{path} does not hold a usable token: delete it to make a new one")
    return token
