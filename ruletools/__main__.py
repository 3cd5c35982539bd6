"""Tools for rule authors.

python -m ruletools check [PATH]            validate rule files (default: BOT_RULES or the demo)
python -m ruletools explain [TEXT ...]      what the engine understands, and the knowledge base's
                                            best passages, one JSON line each
python -m ruletools test TRANSCRIPTS ...    run conversation transcripts against the rules
python -m ruletools evaluate FILE.jsonl ... accuracy, confusions and slot figures on labelled messages
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from conversation import Message
from documents.knowledge import KnowledgeBase
from rules import DEMO_RULES, RuleError
from ruletools import engine_for, load
from ruletools import evaluate as measure
from ruletools import transcripts as runner


def _rules_path(given: str | None) -> str:
    return given or os.environ.get("BOT_RULES", "").strip() or str(DEMO_RULES)


def _fraction(raw: str) -> float:
    """A minimum given as 0.9, 90 or 90%."""
    try:
        value = float(raw.rstrip("%"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {raw!r}") from None
    value = value / 100 if value > 1 or raw.endswith("%") else value
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"not between 0 and 1 (or 0% and 100%): {raw!r}")
    return value


def check(path: str) -> int:
    try:
        rules = load(path)
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


def _knowledge_path(given: str | None) -> str:
    return given if given is not None else os.environ.get("BOT_KNOWLEDGE", "knowledge").strip()


def explain(path: str, texts: list[str], knowledge_folder: str = "") -> int:
    knowledge = None
    if knowledge_folder:
        if not Path(knowledge_folder).is_dir():
            print(
                f"not a folder: {knowledge_folder} (--knowledge or BOT_KNOWLEDGE)", file=sys.stderr
            )
            return 2
        knowledge = KnowledgeBase.load(knowledge_folder)
    engine = engine_for(load(path), knowledge=knowledge)
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
                    **(
                        {"choices": list(understanding.choices)}
                        if intent and understanding.choices
                        else {}
                    ),
                    **({"knowledge": _hits(knowledge, text)} if knowledge is not None else {}),
                },
                ensure_ascii=False,
            ),
            flush=True,
        )
    return 0


def test(path: str, transcripts: list[str]) -> int:
    engine = runner.engine_for_transcripts(load(path))
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


def evaluate(
    path: str, files: list[str], fmt: str, misses: bool, only_unseen: bool, minimums
) -> int:
    rules = load(path)
    cases = [case for name in files for case in measure.load_cases(name, fmt)]
    if only_unseen:
        kept = measure.unseen(cases, rules)
        print(
            f"left out {len(cases) - len(kept)} cases that are examples of the rules, word for word"
        )
        cases = kept
    report = measure.run(cases, measure.predictor(engine_for(rules)))
    print(measure.format_report(report, misses=misses))
    failed = measure.failed_thresholds(report, minimums)
    for line in failed:
        print(f"below threshold: {line}")
    return 1 if failed else 0


def _hits(knowledge: KnowledgeBase, text: str) -> list[dict]:
    """The knowledge base's best passages for `text`: source, page, score, how much of the
    question they cover, whether the bot would answer with them, and how they begin."""
    return [
        {
            "source": hit.passage.title,
            "page": hit.passage.page,
            "score": round(hit.score, 3),
            "coverage": round(hit.coverage, 3),
            "answers": knowledge.accepts(hit),
            "text": hit.passage.text[:80],
        }
        for hit in knowledge.explain(text)
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ruletools", description=__doc__.splitlines()[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    check_parser = commands.add_parser("check", help="validate rule files")
    check_parser.add_argument("path", nargs="?", help="rule file or folder")
    explain_parser = commands.add_parser("explain", help="show what the engine understands")
    explain_parser.add_argument("texts", nargs="*", metavar="TEXT")
    explain_parser.add_argument("--rules", help="rule file or folder (default: BOT_RULES or demo)")
    explain_parser.add_argument(
        "--knowledge",
        help="knowledge base folder (default: BOT_KNOWLEDGE or knowledge/; '' for none)",
    )
    test_parser = commands.add_parser("test", help="run conversation transcripts")
    test_parser.add_argument("transcripts", nargs="+", metavar="TRANSCRIPTS")
    test_parser.add_argument("--rules", help="rule file or folder (default: BOT_RULES or demo)")
    evaluate_parser = commands.add_parser("evaluate", help="measure understanding")
    evaluate_parser.add_argument("files", nargs="+", metavar="FILE.jsonl")
    evaluate_parser.add_argument("--rules", help="rule file or folder (default: BOT_RULES or demo)")
    evaluate_parser.add_argument(
        "--format", choices=("labelled", "snips"), default="labelled", help="input format"
    )
    evaluate_parser.add_argument("--misses", action="store_true", help="list every miss")
    evaluate_parser.add_argument(
        "--unseen", action="store_true", help="leave out cases that are examples of the rules"
    )
    for name in ("accuracy", "out-of-scope", "slot-precision", "slot-recall", "frames"):
        evaluate_parser.add_argument(
            f"--min-{name}",
            type=_fraction,
            metavar="F",
            help=f"exit 1 when {name} is below F (0-1 or a percentage)",
        )
    args = parser.parse_args(argv)
    try:
        if args.command == "check":
            return check(_rules_path(args.path))
        if args.command == "explain":
            return explain(_rules_path(args.rules), args.texts, _knowledge_path(args.knowledge))
        if args.command == "evaluate":
            minimums = [
                (name, getattr(args, "min_" + name.replace("-", "_")))
                for name in ("accuracy", "out-of-scope", "slot-precision", "slot-recall", "frames")
            ]
            return evaluate(
                _rules_path(args.rules),
                args.files,
                args.format,
                args.misses,
                args.unseen,
                minimums,
            )
        return test(_rules_path(args.rules), args.transcripts)
    except RuleError as error:
        print(error, file=sys.stderr)
        return 1
    except ValueError as error:  # a transcript file that cannot be read
        print(error, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
