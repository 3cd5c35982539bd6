"""Text understanding that needs no downloaded NLTK data.

`text` splits and folds messages, `analysis` turns them into stems with substitutions,
synonyms and typo correction against the vocabulary the rules use.
"""

from nlp.text import Token, fold, tokenize, tokens

__all__ = ["Token", "fold", "tokenize", "tokens"]
