"""Text understanding helpers shared by the rule loader and the matcher."""

from nlp.normalize import fold, tokenize

__all__ = ["fold", "tokenize"]
