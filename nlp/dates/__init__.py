"""Dates in weather questions: find the phrase ("tomorrow", "this weekend", "Dec 24th") in a
message, then resolve it to days against the bot's clock.

`find_dates` is one regex compiled at import and needs no clock, so it can run on every
message. `resolve` turns a phrase into a `DateRange`. Month-name dates ("24th of December",
"Dec 24") go to dateparser; what it gets wrong or does not know is written here: "this
weekend", "tonight", parts of the day, "the 5th" (it reads a bare "5th" as May), "next
Friday" (it treats it as "this Friday") and the texting spellings ("tmrw", "wknd").

The parts: `phrases` (what a date phrase looks like: `find_dates`), `days` (what one means,
counted from today), `month_names` (dateparser) and `resolving` (`resolve`, `DateRange`).
"""

from nlp.dates.days import Days
from nlp.dates.phrases import DateMention, find_dates
from nlp.dates.resolving import DateRange, day_label, resolve

__all__ = ["DateMention", "DateRange", "Days", "day_label", "find_dates", "resolve"]
