"""Tools for rule authors.

python -m rules check [PATH]            validate rule files (default: BOT_RULES or the demo)
python -m rules explain [TEXT ...]      what the engine understands, one JSON line each
python -m rules test TRANSCRIPTS ...    run conversation transcripts against the rules
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from rules.loader import DEMO_RULES, load_rules
from rules.model import RuleError


def _rules_path(given: str | None) -> str:
    return given or os.environ.get("BOT_RULES", "").strip() or str(DEMO_RULES)


def check(path: str) -> int:
    try:
        rules = load_rules(path)
    except RuleError as error:
        for problem in error.problems:
            print(problem)
        return 1
    patterns = sum(len(i.patterns) for i in rules.intents)
    examples = sum(len(i.examples) for i in rules.intents)
    print(
        f"OK: {len(rules.intents)} intents, {examples} examples, {patterns} patterns, "
        f"{len(rules.entities)} entity types in {len(rules.files)} file(s)"
    )
    return 0


def explain(path: str, texts: list[str]) -> int:
    from engine import Engine, Message

    engine = Engine(load_rules(path))
    lines = texts or (line.rstrip("\n") for line in sys.stdin)
    for text in lines:
        understanding = engine.understand(Message("explain", "explain", body=text))
        alternatives = [
            {"intent": a.intent, "confidence": a.confidence} for a in understanding.alternatives
        ]
        intent = understanding.intent
        if intent is not None and understanding.confidence < engine.settings.threshold:
            # The bot falls back (or suggests); the near miss is the first alternative.
            alternatives.insert(0, {"intent": intent, "confidence": understanding.confidence})
            intent = None
        print(
            json.dumps(
                {
                    "text": text,
                    "intent": intent or "fallback",
                    "confidence": understanding.confidence,
                    "slots": understanding.slots if intent else {},
                    "alternatives": alternatives,
                },
                ensure_ascii=False,
            ),
            flush=True,
        )
    return 0


def test(path: str, transcripts: list[str]) -> int:
    from rules import transcripts as runner

    engine = runner.engine_for_transcripts(load_rules(path))
    failed = passed = 0
    for location in transcripts:
        for conversation in runner.load(location):
            failures = runner.run(conversation, engine)
            if failures:
                failed += 1
                print(f"FAIL {conversation.name} ({conversation.source})")
                for failure in failures:
                    print(f"  {failure}")
            else:
                passed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rules", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    check_parser = commands.add_parser("check", help="validate rule files")
    check_parser.add_argument("path", nargs="?", help="rule file or folder")
    explain_parser = commands.add_parser("explain", help="show what the engine understands")
    explain_parser.add_argument("texts", nargs="*", metavar="TEXT")
    explain_parser.add_argument("--rules", help="rule file or folder (default: BOT_RULES or demo)")
    test_parser = commands.add_parser("test", help="run conversation transcripts")
    test_parser.add_argument("transcripts", nargs="+", metavar="TRANSCRIPTS")
    test_parser.add_argument("--rules", help="rule file or folder (default: BOT_RULES or demo)")
    args = parser.parse_args(argv)
    try:
        if args.command == "check":
            return check(_rules_path(args.path))
        if args.command == "explain":
            return explain(_rules_path(args.rules), args.texts)
        return test(_rules_path(args.rules), args.transcripts)
    except RuleError as error:
        print(error, file=sys.stderr)
        return 1
    except ValueError as error:  # a transcript file that cannot be read
        print(error, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
