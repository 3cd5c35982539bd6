"""The three parts of NLTK the bot uses, loaded without the rest of NLTK.

`import nltk` runs NLTK's package `__init__`, which imports nearly all of it (parsers,
classifiers, corpus readers, the downloader): 16 MB and 0.1 s in every worker, for a regexp
tokenizer, the Snowball English stemmer and edit distance. So those three modules are loaded
from NLTK's own files while their parent packages stand empty in `sys.modules`; then every
NLTK entry this added is taken out again, so a later `import nltk` anywhere in the process
gets the whole, real NLTK. If NLTK is already imported, or its files are laid out otherwise
than expected, this is the plain import.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
import types
from pathlib import Path

log = logging.getLogger("bot.nlp")

# The packages above the modules we use. `nltk.corpus` too: the stemmer's module imports its
# `stopwords` corpus, which it reads only when told to ignore stop words (we never do).
_PACKAGES = ("nltk", "nltk.corpus", "nltk.metrics", "nltk.stem", "nltk.tokenize")
_MODULES = ("nltk.tokenize.regexp", "nltk.stem.snowball", "nltk.metrics.distance")


class _NoCorpus:
    """Stands for `nltk.corpus.stopwords` while the stemmer's module loads."""

    def __getattr__(self, name: str):
        raise LookupError("NLTK corpora are not loaded by nlp.nltk_parts; import nltk.corpus")


def _lean() -> list[types.ModuleType]:
    spec = importlib.util.find_spec("nltk")
    if spec is None or spec.origin is None:
        raise ImportError("NLTK is not installed")
    root = Path(spec.origin).parent
    for name in _PACKAGES:
        package = types.ModuleType(name)
        package.__path__ = [str(root.joinpath(*name.split(".")[1:]))]
        package.__package__ = name
        sys.modules[name] = package
    sys.modules["nltk.corpus"].stopwords = _NoCorpus()
    return [importlib.import_module(name) for name in _MODULES]


def _whole() -> list[types.ModuleType]:
    return [importlib.import_module(name) for name in _MODULES]


def load() -> list[types.ModuleType]:
    """The modules `nltk.tokenize.regexp`, `nltk.stem.snowball`, `nltk.metrics.distance`;
    none if NLTK's layout is not the expected one."""
    if "nltk" in sys.modules:
        return _whole()
    before = set(sys.modules)
    try:
        return _lean()
    except Exception as error:  # another NLTK version's layout: pay for the whole of it
        log.info("loading all of NLTK (%s: %s)", type(error).__name__, error)
        return []
    finally:
        for name in set(sys.modules) - before:
            if name == "nltk" or name.startswith("nltk."):
                del sys.modules[name]


_regexp, _snowball, _distance = load() or _whole()
RegexpTokenizer = _regexp.RegexpTokenizer
EnglishStemmer = _snowball.EnglishStemmer
edit_distance = _distance.edit_distance

__all__ = ["EnglishStemmer", "RegexpTokenizer", "edit_distance"]
