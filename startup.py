"""Start-up errors said in a few lines: the problems, no traceback, exit status 1.

A bad setting, rule file or store URL stops `create_app`. Under `flask --app bot run` or
`chat`, and under gunicorn (which builds the app in its master, `preload_app`), that error
reaches the interpreter, whose traceback is 40 lines of Flask, click and gunicorn with the
one useful line, `file:line: problem`, at the bottom. `report_at_exit` has the interpreter
print just the problems instead; the exit status stays 1.
"""

from __future__ import annotations

import sys
from types import TracebackType

from config import ConfigError
from memory import StoreError
from rules import RuleError

# What an operator fixes in .env or in the rule files, rather than a bug in the bot.
ERRORS = (ConfigError, RuleError, StoreError)


def explain(error: Exception) -> str:
    """What to tell the operator: the message, or each rule problem on its own line."""
    if isinstance(error, RuleError):
        count = len(error.problems)
        lines = [str(problem) for problem in error.problems]
        return f"the rules have {count} problem{'s' if count != 1 else ''}:\n" + "\n".join(lines)
    return str(error)


def report_at_exit(error: Exception) -> None:
    """If `error` ends the program uncaught, print `explain(error)` rather than a traceback.

    Any other uncaught exception still gets the usual traceback.
    """
    previous = sys.excepthook

    def hook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        if value is error:
            print(f"The bot cannot start: {explain(error)}", file=sys.stderr, flush=True)
        else:
            previous(kind, value, tb)

    sys.excepthook = hook
