"""NLTK's tokenizer, stemmer and edit distance, loaded without the rest of NLTK: the same
results as the whole NLTK gives, and nothing of it left behind in `sys.modules`."""

from __future__ import annotations

import json
import subprocess
import sys

WORDS = [
    "running", "generously", "cities", "weather", "booking", "booked", "happiness",
    "organization", "dying", "skies", "news", "agreed", "feed", "hopping", "fairly", "caress",
    "ponies", "ties", "sensational", "traditional", "reference", "colonizer", "plotted",
]  # fmt: skip
TEXT = "Book me a taxi to https://x.example/a?b=1 at 20.5, I’m late 👋🏽 mail a@b.co"


def run(code: str) -> dict:
    """`code` in a fresh interpreter (this one has imported all of NLTK long ago); it prints
    one JSON value."""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out)


def test_the_bot_runs_without_importing_all_of_nltk():
    result = run(
        "import json, sys\n"
        "from bot import create_app\n"
        "from nlp.analysis import stem\n"
        "from nlp.text import tokens\n"
        "create_app({'BOT_STORE_URL': 'memory://', 'BOT_LOG_LEVEL': 'ERROR'})\n"
        f"words = [stem(w) for w in {WORDS!r}]\n"
        f"found = [t.norm for t in tokens({TEXT!r})]\n"
        "print(json.dumps({'nltk': sorted(m for m in sys.modules if m.split('.')[0] == 'nltk'),"
        " 'stems': words, 'tokens': found}))"
    )
    assert result["nltk"] == []
    assert result["stems"][:3] == ["run", "generous", "citi"]
    assert result["tokens"][:4] == ["book", "me", "a", "taxi"]
    assert "https://x.example/a?b=1" in result["tokens"]


def test_the_parts_give_what_the_whole_nltk_gives():
    result = run(
        "import json\n"
        "from nlp.nltk_parts import EnglishStemmer, RegexpTokenizer, edit_distance\n"
        "import nltk\n"  # the real, whole NLTK, imported after the parts
        "from nltk.stem.snowball import EnglishStemmer as Whole\n"
        f"words = {WORDS!r}\n"
        "print(json.dumps({\n"
        "  'download': callable(nltk.download),\n"
        "  'same_class': Whole is EnglishStemmer,\n"
        "  'parts': [EnglishStemmer().stem(w) for w in words],\n"
        "  'whole': [Whole().stem(w) for w in words],\n"
        "  'distance': [edit_distance('taxi', 'taxis'), nltk.edit_distance('taxi', 'texi')],\n"
        f"  'tokens': [RegexpTokenizer(r'\\w+').tokenize({TEXT!r}),"
        f" nltk.tokenize.RegexpTokenizer(r'\\w+').tokenize({TEXT!r})],\n"
        "}))"
    )
    assert result["download"] is True  # nothing of the parts' empty packages was left
    assert result["same_class"] is False  # its own modules, loaded afresh
    assert result["parts"] == result["whole"]
    assert result["distance"] == [1, 1]
    assert result["tokens"][0] == result["tokens"][1]


def test_another_nltk_layout_falls_back_to_the_whole_import_and_cleans_up():
    result = run(
        "import json, sys\n"
        "from nlp import nltk_parts\n"
        "nltk_parts._MODULES = ('nltk.tokenize.regexp', 'nltk.no_such_module')\n"
        "loaded = nltk_parts.load()\n"
        "left = sorted(m for m in sys.modules if m.split('.')[0] == 'nltk')\n"
        "import nltk\n"
        "print(json.dumps({'loaded': len(loaded), 'left': left,"
        " 'download': callable(nltk.download)}))"
    )
    assert result == {"loaded": 0, "left": [], "download": True}
