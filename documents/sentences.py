"""Split text into sentences with one regular expression and a list of abbreviations, so no
tokenizer model (NLTK's punkt) has to be downloaded.

A sentence ends at `.`, `!`, `?` or `…` (closing quotes and brackets included) followed by a
space and a capital, a digit or an opening quote, unless the word before the full stop is an
abbreviation ("Dr.", "e.g.", "approx."), an initial ("J. Smith") or a number with a dot in
a list ("1." at the start of a line is a list marker, "3.5" has no space in it at all). A
line break ends a sentence too: the readers join wrapped lines before this sees them, so a
line that is left is a heading, a list item or a paragraph's end.
"""

from __future__ import annotations

import re

# Lower-case, without their full stop. Titles, Latin, months, units, company forms.
_ABBREVIATIONS = """
    mr mrs ms dr prof sr jr st mt rev gen col capt lt sgt hon
    e.g eg i.e ie etc vs cf al approx ca viz incl excl esp
    inc ltd co corp llc plc bros dept univ assn
    no nos nr vol vols p pp ch sec fig figs ed eds op ref tel ext
    jan feb mar apr jun jul aug sep sept oct nov dec
    mon tue tues wed thu thur thurs fri sat sun
    a.m am p.m pm u.s u.k u.n e.u
    km kg cm mm min max hr hrs sq ft oz lb lbs est
"""
ABBREVIATIONS = frozenset(_ABBREVIATIONS.split())
# Starts only where a run of marks starts, and takes the run whole: linear on any line.
_BOUNDARY = re.compile(r"(?<![.!?…])[.!?…]++[\"'”’)\]]*+(?=\s[\"'“‘(\[]?[A-Z0-9À-Þ])")
_WORD_BEFORE = re.compile(r"([\w.]+)$")
_LONGEST_WORD = 40
_SPACE = re.compile(r"[ \t\r\f\v]+")


def _ends_sentence(before: str, mark: str, whole: bool) -> bool:
    """Whether punctuation `mark` ends a sentence, after `before`: the last _LONGEST_WORD
    characters of the text before it (no more, so each call costs the same on any line), which
    are the whole sentence so far when `whole`."""
    if not mark.startswith(".") or mark.startswith(".."):
        return True  # "!", "?", "…" and "..." always end one
    before = before[-_LONGEST_WORD:]
    found = _WORD_BEFORE.search(before)
    if not found:
        return True
    word = found[1].lower().strip(".")
    if word.isdigit() and whole and not before[: found.start()].strip():
        return False  # "1." numbering a list item
    if word in ABBREVIATIONS:
        return False
    if len(word) == 1 and word.isalpha():
        return False  # an initial: "J. R. Smith"
    return "." not in word or not all(len(part) <= 2 for part in word.split("."))  # "U.S.A."


def split_line(line: str) -> list[str]:
    """The sentences of one line of text."""
    line = _SPACE.sub(" ", line).strip()
    found = []
    start = 0
    for match in _BOUNDARY.finditer(line):
        # Only the end of the sentence so far, or one made of abbreviations and initials
        # ("Dr. A. B. " over and over) would copy it again at every full stop: quadratic.
        tail = max(start, match.start() - _LONGEST_WORD)
        if _ends_sentence(line[tail : match.start()], match[0], tail == start):
            found.append(line[start : match.end()].strip())
            start = match.end()
    rest = line[start:].strip()
    if rest:
        found.append(rest)
    return [sentence for sentence in found if sentence]


def split_sentences(text: str) -> list[str]:
    """The sentences of `text`, in order; every line break ends one."""
    return [sentence for line in text.splitlines() for sentence in split_line(line)]
