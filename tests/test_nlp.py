"""Normalisation used for matching: case, accents, apostrophes, emoji."""

from nlp import fold, tokenize


def test_fold_drops_case_accents_and_width():
    assert fold("Ｃafé ZÜRICH Ñandú") == "cafe zurich nandu"


def test_tokenize_keeps_words_and_emoji_and_drops_punctuation():
    assert tokenize("What's the WEATHER in Zürich?? 🌧") == (
        "whats",
        "the",
        "weather",
        "in",
        "zurich",
        "🌧",
    )


def test_curly_apostrophe_is_the_same_as_straight():
    assert tokenize("what’s up") == tokenize("what's up") == ("whats", "up")


def test_underscores_and_symbols_split_words():
    assert tokenize("hello_world!!!...") == ("hello", "world")


def test_non_latin_scripts_are_words():
    assert tokenize("Привет мир, مرحبا") == ("привет", "мир", "مرحبا")


def test_empty_and_blank():
    assert tokenize("") == ()
    assert tokenize("  \n\t ") == ()


def test_has_words_agrees_with_tokens():
    from nlp.text import has_words

    for text in ["", "?!", "...", "hi", "👋", "$", "—", "  _ ", "a_b", "١٢٣", "🇧🇷", "\u200d"]:
        assert has_words(text) == bool(tokenize(text)), text
