"""Who may sign in to the console: BOT_OPERATORS, `name=password-hash` entries separated by
commas, each hash made by werkzeug's `generate_password_hash` (`flask --app bot console
hash-password NAME` prints an entry to paste).

A malformed value stops start-up with a sentence naming BOT_OPERATORS and the entry at
fault, by its position: the hashes are not secrets, but they have no place in a log either.
"""

from __future__ import annotations

import re

from werkzeug.security import check_password_hash, generate_password_hash

from config import ConfigError

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")
# werkzeug's hashes: `method$salt$hash`, the method scrypt:… or pbkdf2:… (its two kinds).
HASH = re.compile(r"(scrypt|pbkdf2)(:[A-Za-z0-9]+)*\$[^$,=\s]+\$[0-9a-f]+")
HOW = (
    "write name=password-hash entries separated by commas, each printed by "
    "`flask --app bot console hash-password NAME` (names: letters, digits, . _ -; "
    "up to 32 characters)"
)


def parse_operators(raw: str) -> dict[str, str]:
    """The operators in a BOT_OPERATORS value, name -> password hash; empty for "".

    Raises `ConfigError` naming BOT_OPERATORS for an entry that is not `name=hash`, a name
    that is not plain, a hash werkzeug did not make, or a name given twice.
    """
    operators: dict[str, str] = {}
    entries = [entry.strip() for entry in raw.split(",") if entry.strip()]
    for position, entry in enumerate(entries, start=1):
        name, equals, hashed = entry.partition("=")
        name, hashed = name.strip(), hashed.strip()
        problem = None
        if not equals:
            problem = "has no '=' between the name and the password hash"
        elif not NAME.fullmatch(name):
            problem = "has a name that is empty or not plain"
        elif not HASH.fullmatch(hashed):
            problem = "has a password hash that is not one werkzeug's generate_password_hash makes"
        elif name in operators:
            problem = f"names the operator {name!r} a second time"
        if problem is not None:
            raise ConfigError(f"BOT_OPERATORS: entry {position} of {len(entries)} {problem}: {HOW}")
        operators[name] = hashed
    return operators


# Checked when the name is unknown, so that an unknown name costs the same time as a wrong
# password and the answer's timing does not say which names exist. Made on first use.
_decoy: list[str] = []


def password_matches(operators: dict[str, str], name: str, password: str) -> bool:
    """Whether `password` is the operator `name`'s; as slow for a name that is not one."""
    hashed = operators.get(name)
    if hashed is None:
        if not _decoy:
            _decoy.append(generate_password_hash("not-a-password"))
        check_password_hash(_decoy[0], password)
        return False
    return check_password_hash(hashed, password)
