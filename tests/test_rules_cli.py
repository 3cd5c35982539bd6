"""`python -m ruletools check | explain | test`, run as a rule author runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def rules_cli(*args: str, stdin: str = "", env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {**os.environ, "BOT_RULES": "", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "ruletools", *args],
        cwd=ROOT, input=stdin, capture_output=True, text=True, env=environment, timeout=60, check=False,
    )  # fmt: skip


def test_check_the_demo_rules():
    result = rules_cli("check")
    assert result.returncode == 0
    assert result.stdout.startswith("OK: 20 intents, ")


def test_check_reports_every_problem_with_file_and_line(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "intents:\n"
        "  - name: greet\n"
        "    examples: [hi]\n"
        "    responses: ['hi {nmae}']\n"
        "  - name: greet\n"
        "    patterns: ['pay {amount:money}']\n"
        "    slots:\n"
        "      who: {type: text, required: true}\n"
        "    colour: red\n"
        "settings:\n"
        "  fallback: [what]\n"
    )
    result = rules_cli("check", str(bad))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines == [
        f"{bad}:4: intent 'greet' responses: unknown template variable '{{nmae}}' (known: menu, profile_name)",
        f"{bad}:5: duplicate intent 'greet' (first at {bad}:2)",
        f"{bad}:6: intent 'greet' pattern 'pay {{amount:money}}': unknown slot type 'money' (known: currency, date, email, number, place, text, url)",
        f"{bad}:8: intent 'greet' slot 'who' is required but has no 'ask' question",
        f"{bad}:9: intent: unknown key 'colour' (known: action, context, description, examples, keywords, name, otherwise, patterns, priority, remember, responses, slots, synonyms)",
    ]


def test_check_bad_yaml(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("intents:\n  - name: [unclosed\n")
    result = rules_cli("check", str(bad))
    assert result.returncode == 1
    assert result.stdout.startswith(f"{bad}:3: invalid YAML")


def test_explain_arguments_as_json_lines():
    result = rules_cli(
        "explain",
        "--knowledge",
        "",
        "convert 20 gbp to usd",
        "who is Ada Lovelace?",
        "pay my brother back",
    )
    first, second, third = (json.loads(line) for line in result.stdout.splitlines())
    assert first == {
        "text": "convert 20 gbp to usd",
        "intent": "currency",
        "confidence": 1.0,
        "slots": {"amount": 20, "from": "GBP", "to": "USD"},
        "alternatives": [],
    }
    assert (second["intent"], second["slots"]) == ("wiki", {"topic": "Ada Lovelace"})
    assert (third["intent"], third["slots"]) == ("fallback", {})


def test_explain_reads_stdin_and_honours_bot_rules(tmp_path):
    rules = tmp_path / "r.yml"
    rules.write_text(
        "intents:\n  - name: ping\n    examples: [ping]\n    responses: [pong]\nsettings:\n  fallback: [no]\n"
    )
    result = rules_cli("explain", stdin="ping\nPING!!\nhello\n", env={"BOT_RULES": str(rules)})
    intents = [json.loads(line)["intent"] for line in result.stdout.splitlines()]
    assert intents == ["ping", "ping", "fallback"]


def test_test_command_runs_transcripts(tmp_path):
    good = rules_cli("test", str(ROOT / "tests" / "conversations"))
    assert good.returncode == 0
    assert good.stdout.splitlines()[-1].endswith("passed, 0 failed")
    failing = tmp_path / "t.yml"
    failing.write_text("- name: nope\n  turns:\n    - user: hi\n      bot: Goodbye\n")
    bad = rules_cli("test", str(failing))
    assert bad.returncode == 1
    assert bad.stdout.splitlines()[0] == f"FAIL nope ({failing}#1)"


def test_explain_shows_the_knowledge_bases_passages_with_score_and_source():
    result = rules_cli("explain", "do you take paypal", "who won the world cup")
    paypal, cup = (json.loads(line) for line in result.stdout.splitlines())
    best = paypal["knowledge"][0]
    assert (best["source"], best["answers"]) == ("Payments and gift cards", True)
    assert best["score"] > 0
    assert 0 < best["coverage"] <= 1
    assert not any(hit["answers"] for hit in cup["knowledge"])
    none = json.loads(rules_cli("explain", "--knowledge", "", "hi").stdout)
    assert "knowledge" not in none
    missing = rules_cli("explain", "--knowledge", "no-such-folder", "hi")
    assert (missing.returncode, missing.stdout) == (2, "")
    assert "not a folder: no-such-folder" in missing.stderr
