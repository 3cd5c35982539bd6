"""Analysis: substitutions, synonyms, stems and typo correction against the rule vocabulary."""

from __future__ import annotations

import pickle

import pytest
from nltk.metrics import edit_distance
from nltk.stem.snowball import EnglishStemmer

from nlp import analysis, places
from nlp.analysis import Analyzer, load_stopwords, max_typos, stem, within_one_edit

VOCABULARY = [
    "weather",
    "quotes",
    "quote",
    "joke",
    "help",
    "hello",
    "inspiration",
    "picture",
    "dog",
    "cat",
    "convert",
]


@pytest.fixture(scope="module")
def analyzer():
    return Analyzer(
        VOCABULARY,
        substitutions={"u": "you", "pls": "please", "whats": "what is"},
        synonyms={"doggo": "dog", "pic": "picture", "photo": "picture"},
    )


def words(analyzer, text):
    return [(t.word, t.corrected) for t in analyzer.analyze(text)]


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("wheather", "weather"), ("qoutes", "quotes"), ("joek", "joke"), ("hepl", "help"),
     ("inspiraton", "inspiration"), ("converrt", "convert"), ("helo", "hello")],
)  # fmt: skip
def test_typos_are_corrected_to_rule_words(analyzer, typed, meant):
    assert words(analyzer, typed) == [(meant, True)]


@pytest.mark.parametrize("word", ["bjoke", "shello", "tquote"])
def test_a_first_letter_is_never_corrected(analyzer, word):
    # One letter more in front makes another word ("train" is no "rain"), not a typo.
    assert words(analyzer, word) == [(word, False)]


@pytest.mark.parametrize("word", ["halp", "heap", "jake"])
def test_one_wrong_letter_in_a_short_word_is_another_word_not_a_typo(analyzer, word):
    # "jake" is no "joke" ("wifi" no "wiki"); swaps, missing and doubled letters are still typos ("joek", "helo").
    assert words(analyzer, word) == [(word, False)]


@pytest.mark.parametrize("word", ["cta", "k", "xyzzy", "dgo", "weatherman"])
def test_short_or_distant_words_are_left_alone(analyzer, word):
    assert words(analyzer, word) == [(word, False)]


def test_known_words_and_inflections_are_not_corrected(analyzer):
    assert words(analyzer, "jokes pictures") == [("jokes", False), ("pictures", False)]


def test_stretched_words_come_back(analyzer):
    assert words(analyzer, "helloooo") == [("hello", True)]


def test_substitutions_expand_with_the_same_span(analyzer):
    terms = analyzer.analyze("whats up u")
    assert [t.word for t in terms] == ["what", "is", "up", "you"]
    assert (terms[0].start, terms[0].end) == (terms[1].start, terms[1].end) == (0, 5)


def test_synonyms_map_to_the_canonical_word(analyzer):
    assert [t.word for t in analyzer.analyze("doggo pic photo")] == ["dog", "picture", "picture"]


def test_stop_words_are_flagged(analyzer):
    assert [t.stop for t in analyzer.analyze("what is the weather")] == [True, True, True, False]


def test_stems_are_snowball():
    assert [stem(w) for w in ["quotes", "running", "pictures", "20", "👋"]] == [
        "quot",
        "run",
        "pictur",
        "20",
        "👋",
    ]


def test_the_stemmer_and_edit_distance_are_nltks_own():
    # Copies of NLTK's modules loaded beside the real ones made a stemmer that was no
    # EnglishStemmer to isinstance and that pickle refused ("not the same object").
    words = ["running", "generously", "cities", "happiness", "dying", "skies", "agreed"]
    assert isinstance(analysis._STEMMER, EnglishStemmer)
    copy = pickle.loads(pickle.dumps(analysis._STEMMER))  # noqa: S301 -- bytes made here
    assert type(copy) is EnglishStemmer
    assert [copy.stem(w) for w in words] == [stem(w) for w in words]
    assert [stem(w) for w in words] == ["run", "generous", "citi", "happi", "die", "sky", "agre"]
    assert analysis.edit_distance is places.edit_distance is edit_distance
    assert pickle.loads(pickle.dumps(edit_distance)) is edit_distance  # noqa: S301


def test_typo_budget_grows_with_length():
    assert [max_typos("a" * n) for n in (2, 3, 4, 6, 7, 12)] == [0, 0, 1, 1, 2, 2]


def test_shipped_stopwords_need_no_nltk_data():
    words = load_stopwords()
    assert {"the", "what", "is", "please"} <= words
    assert "weather" not in words


def test_correction_is_cached(analyzer):
    analyzer.correct.cache_clear()
    analyzer.analyze("wheather wheather")
    info = analyzer.correct.cache_info()
    assert (info.misses, info.hits) == (1, 1)


@pytest.mark.parametrize(
    ("a", "b"),
    [("joke", "joek"), ("halp", "help"), ("weather", "wheather"), ("quote", "quot"), ("ab", "ba"),
     ("cat", "cats"), ("dog", "dog"), ("inspiration", "inspiraton"), ("abcd", "abdc"), ("x", "")],
)  # fmt: skip
def test_one_edit_agrees_with_nltk(a, b):
    assert (
        within_one_edit(a, b)
        == within_one_edit(b, a)
        == (edit_distance(a, b, transpositions=True) <= 1)
    )


@pytest.mark.parametrize(
    ("a", "b"),
    [("joke", "jeko"), ("help", "hello"), ("abcd", "badc"), ("cat", "dog"), ("ab", "abcd")],
)
def test_two_or_more_edits_are_not_one(a, b):
    assert not within_one_edit(a, b)
    assert edit_distance(a, b, transpositions=True) >= 2


def test_one_edit_matches_nltk_on_many_pairs():
    import itertools
    import random

    rng = random.Random(3)
    words = ["".join(rng.choice("abc") for _ in range(rng.randint(0, 5))) for _ in range(300)]
    for a, b in itertools.islice(itertools.combinations(words, 2), 20000):
        assert within_one_edit(a, b) == (edit_distance(a, b, transpositions=True) <= 1), (a, b)
