"""Noticing a frustrated user, so the bot can offer a person before they give up.

`Frustration().score(text, fallbacks, repeats)` weighs what a message and the conversation
so far say:

- the message's sentiment, from VADER (vaderSentiment, which ships its lexicon in its
  wheel; NLTK's copy of VADER needs a data download), counted when the message is aimed at
  the bot or the business ("you", "this bot", "your service", "no one") rather than at the
  rest of the world: "my cat is ill" is sad, not frustrated;
- cues VADER cannot see (`CUES`): exasperation ("that's not what I asked", "I already told
  you", "forget it"), unanswered complaints ("nobody answers"), eye-rolls and facepalms,
  asking for a person, swearing shorthand;
- shouting: a message in capitals with "!!", "??" or a "NO", not one typed with caps lock
  on ("IS THE CAFE OPEN SUNDAY");
- the conversation: fallbacks in a row, and the same words sent again.

`frustrated(...)` is the score against `THRESHOLD`. The weights and the threshold were set on
the development messages (tests/data/frustration/*-dev.yml) only; see the README.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

THRESHOLD = 1.0
# What each signal adds to the score.
NEGATIVE_AT_US = 1.0  # VADER's compound at or below NEGATIVE, aimed at the bot or service
NEGATIVE = -0.3
CUE = 1.0
SHOUTING = 1.0
FALLBACKS = 0.5  # for each fallback in a row after the first
REPEAT = 1.0  # the same words again

# At whom a message is aimed: the bot, the business, or the people who should have answered.
_AT_US = re.compile(
    r"\b(you|your|you're|youre|u|ur|you lot|this (bot|thing|chat|service|shop|app)|the bot"
    r"|bot|service|staff|no ?one|nobody|anyone|shop|company)\b",
    re.IGNORECASE,
)
# Cues of frustration VADER's lexicon does not carry, as people type them on WhatsApp.
CUES = re.compile(
    "|".join(
        [
            # Exasperation: going round in circles, not being read.
            r"\bnot what i (asked|said|meant|wanted|need(ed)?)\b",
            r"\b(already|just) (told|said|asked|explained)\b",
            r"\b(told|asked) you\b.*\b(twice|times|already)\b",
            r"\bkeep(s)? (saying|sending|telling|giving|asking|repeating|going)\b",
            r"\b(same|different) (thing|answer|reply|menu|page|message)\b",
            r"\b(going|go) (round )?in circles\b",
            r"\b(i give up|forget it|i'?m done|that'?s it|waste of (my )?time)\b",
            r"\b(makes|make) (no|zero) sense\b",
            r"\bnot an answer\b",
            r"\b(are|do|can) you (even|actually)\b",
            r"\bdo you even\b",
            r"\b(is|are) (this|anyone|anybody|somebody|someone)( \w+)? (even )?"
            r"(on|there|home|working|listening|reading)\b",
            r"\bignor(e|es|ing)\b",
            r"\b(this|that|you|your|it'?s|its|bot|service|so|how|what a|totally|completely)\W+"
            r"(\w+\W+){0,2}(useless|pointless|rubbish|ridiculous|hopeless|pathetic|a joke)\b",
            r"^\W*(useless|pointless|rubbish|ridiculous|pathetic|unbelievable)\b",
            r"\b(seriously|unbelievable|come on)\s*[?!]",
            r"\bwhich is it\b",
            r"\bi (said|asked)\b.{0,40}\bnot\b",
            r"\byou (don'?t|do not|never|can'?t) (understand|listen|read|get it|help)\b",
            r"\banswer my (actual |real |bloody )?question\b",
            r"\b(\d+|three|four|five|several|so many) times (now|already)\b",
            r"\b(sent|told|asked|said)\b.{0,30}\b(\d+|twice|three|four|five) times\b",
            r"\b(talking|talk) to a (brick )?wall\b",
            r"\b(ah|oh) (yes|great|brilliant|wonderful|perfect)\b|\byeah right\b|\bso useful\b",
            r"\bvery clever\b",
            r"\b(wrong|no|nope|stop)\s*!{2,}",
            r"\b(ffs|wtf|omfg|smh)\b",
            r"^\W*(ugh+|argh+)\W*$",
            # Complaints nobody has answered.
            r"\b(no ?one|nobody|no-one)\b.{0,40}\b(answer|repl|pick|call|sort|respond|get|got"
            r"|help|did)",
            r"\bnothing back\b",
            r"\b(still|keep) (no|not|waiting|haven'?t|hasn'?t)\b",
            r"\bnot impressed\b",
            # Asking to get past the bot.
            r"\b(human|real person|actual person|agent|manager|representative|operator)\b",
            r"\b(speak|talk|put me through|connect me) to (someone|somebody|a person|staff"
            r"|a member|customer service|a human|an actual|someone who)\b",
            r"\bmember of staff\b",
            r"\b(is|are) there (actually |even )?(anyone|anybody|a (real|actual) person)\b",
            r"\bsomeone i can (call|talk|speak)\b",
            # Faces: eye-roll, facepalm, steam, anger, swearing.
            "[\U0001f644\U0001f926\U0001f624\U0001f621\U0001f92c\U0001f620]",
        ]
    ),
    re.IGNORECASE,
)
_LETTERS = re.compile(r"[^\W\d_]")
_EMPHASIS = re.compile(r"[!?]{2,}|\b(NO|NOT|STOP|NOBODY|NEVER|JUST|EVEN)\b")
# A polite request to the bot is not a message aimed at it: "can you suggest something".
_REQUEST = re.compile(r"\b(can|could|would|will|do|did|have|are) (you|u)\b", re.IGNORECASE)
_ONLY_MARKS = re.compile(r"^\s*[?!.\s]*[?!]{2,}[?!.\s]*$")


def shouting(text: str) -> bool:
    """Capitals with emphasis: "WHERE IS MY ORDER???", "NO. NOT THAT", not "OPENING HOURS"."""
    letters = _LETTERS.findall(text)
    if len(letters) < 2:
        return False
    upper = sum(letter.isupper() for letter in letters)
    capitals = upper / len(letters) >= 0.7
    return bool(capitals and _EMPHASIS.search(text)) or ("!!" in text and "?" in text)


@dataclass(frozen=True)
class Signals:
    """Why a message scored what it did, for tests and `ruletools explain`."""

    sentiment: float  # VADER's compound, -1 to 1
    at_us: bool
    cue: str  # the first cue found, "" none
    shouting: bool
    fallbacks: int
    repeats: int
    score: float


class Frustration:
    """Scores messages for frustration; one per process (VADER's lexicon loads once)."""

    def __init__(self, threshold: float = THRESHOLD) -> None:
        self.threshold = threshold

    @cached_property
    def _vader(self):
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        return SentimentIntensityAnalyzer()

    def signals(self, text: str, fallbacks: int = 0, repeats: int = 0) -> Signals:
        """Each signal, and the score they add up to."""
        sentiment = self._vader.polarity_scores(text)["compound"] if text.strip() else 0.0
        at_us = bool(_AT_US.search(_REQUEST.sub(" ", text)))
        found = CUES.search(text)
        loud = shouting(text) or bool(_ONLY_MARKS.match(text))
        score = 0.0
        if sentiment <= NEGATIVE and at_us:
            score += NEGATIVE_AT_US
        if found:
            score += CUE
        if loud:
            score += SHOUTING
        score += FALLBACKS * max(0, fallbacks - 1) + REPEAT * min(repeats, 2)
        return Signals(sentiment, at_us, found[0] if found else "", loud, fallbacks, repeats, score)

    def frustrated(self, text: str, fallbacks: int = 0, repeats: int = 0) -> bool:
        """Whether a person should be offered to the author of `text`."""
        return self.signals(text, fallbacks, repeats).score >= self.threshold
