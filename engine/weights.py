"""The numbers that tune the matcher, in one place so they are tuned together: how much each
kind of evidence counts, and how sure a pattern, a catch-all or a tie makes the bot."""

# A stem used by more intents than this is too common to find candidates with ("show", "want"
# in every intent); it still counts when the candidates found through rarer stems are scored.
COMMON_STEM_MIN = 20
COMMON_STEM_SHARE = 0.05
STOP_WEIGHT = 0.2  # an unexplained stop word in the message ("pls", "the") is mere noise
EXAMPLE_STOP_WEIGHT = 0.5  # an example's stop words were written on purpose
CORRECTED_WEIGHT = 0.8
# Just below an exact example: "whats up" is a greeting, not a question about "up".
PATTERN_CONFIDENCE = 0.95
# A catch-all ("what is {topic}"): enough to answer when nothing else fits, never more.
WEAK_CONFIDENCE = 0.6
MARK_WEIGHT = 1.0  # a marked value counts like a content word of its example
TIE_MARGIN = 0.03
SPECIFICITY = 0.5
# Words where an intent's slot value goes that the slot refuses are evidence against it.
REFUSED_FACTOR = 0.5
# How much words a message holds beyond an example or keyword cost: the share explained,
# raised to this power. A keyword alone is worth KEYWORD_BASE, up to + KEYWORD_SPAN.
EXPLAINED_POWER = 0.75
KEYWORD_BASE = 0.6
KEYWORD_SPAN = 0.3
# "my order", "our booking": a message about the user's own things is about what the bot
# cannot see, unless an example says otherwise ("delete my data"), so these stop words
# cost as much as content words when no example explains them.
OWN_WORDS = frozenset({"my", "our", "mine"})
