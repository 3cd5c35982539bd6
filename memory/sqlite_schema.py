"""The SQLite store's schema: `schema/NNN.sql` takes the database from version NNN - 1 to
NNN, and `PRAGMA user_version` holds the version a file is at. A migration, once
released, never changes; a new one is a new file."""

from __future__ import annotations

import logging
import re
import sqlite3
from pathlib import Path

from memory.base import StoreError

log = logging.getLogger("bot.memory")

MIGRATIONS = sorted(Path(__file__).with_name("schema").glob("[0-9][0-9][0-9].sql"))
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(connection: sqlite3.Connection, path: Path) -> None:
    """Bring the schema to SCHEMA_VERSION inside the caller's write transaction, so two
    workers starting together migrate once."""
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path} has schema version {version}, newer than this bot's "
            f"{SCHEMA_VERSION}: upgrade the bot or use another file"
        )
    for number in range(version, SCHEMA_VERSION):
        script = MIGRATIONS[number].read_text(encoding="utf-8")
        # Statements end with ";" at the end of a line (a trigger's body has its own,
        # mid-line). Not executescript: it would commit the caller's transaction.
        for statement in re.split(r";\s*$", script, flags=re.MULTILINE):
            if statement.strip():
                connection.execute(statement)
        log.info("store %s: schema migrated to version %d", path, number + 1)
    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
