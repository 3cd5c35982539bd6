"""The knowledge base: a folder of real files read, indexed and asked, and the operator's
`knowledge index` command."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from documents.cli import knowledge_command
from documents.knowledge import THRESHOLD, KnowledgeBase
from tests.documents_files import docx_bytes, handbook, pdf_bytes

HOURS = """# Opening hours

## Bookshop

We are open Monday to Saturday from 9:00 to 18:00, and on Sundays from 11:00 to 17:00.

## Café

The café opens at 8:30 every day and serves breakfast until 11:30.
"""
DELIVERY = """Delivery

We deliver by bike within Portwell for £2.50, free on orders over £25.
Parcels to the rest of the country cost £3.95 and take two to four working days.
"""
RETURNS = "# Returns\n\nBring unread books back within 30 days with the receipt for a refund.\n"


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "hours.md").write_text(HOURS, encoding="utf-8")
    (tmp_path / "delivery.txt").write_text(DELIVERY, encoding="utf-8")
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "returns.md").write_text(RETURNS, encoding="utf-8")
    (tmp_path / "manual.pdf").write_bytes(
        pdf_bytes(
            ["Fill the tank with fresh water every morning.", "Descale the machine every month."],
            title="Coffee machine manual",
        )
    )
    (tmp_path / "lease.docx").write_bytes(docx_bytes([("The rent is due monthly.", 0)], "Lease"))
    # Files the base cannot read, and files it leaves alone.
    (tmp_path / "broken.pdf").write_bytes(handbook(2)[:600])
    (tmp_path / "locked.pdf").write_bytes(handbook(1, user_password="secret"))
    (tmp_path / "empty.md").write_text("\n\n", encoding="utf-8")
    (tmp_path / "photo.jpg").write_bytes(b"\xff\xd8\xff")
    (tmp_path / ".draft.md").write_text("# Secret plans\n\nNot yet.", encoding="utf-8")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "notes.md").write_text("# Git notes\n\nNot documents.", encoding="utf-8")
    return tmp_path


def test_every_document_in_the_folder_is_read_and_every_problem_is_named(folder):
    base = KnowledgeBase.load(folder)
    assert [document.source for document in base.documents] == [
        "delivery.txt",
        "hours.md",
        "lease.docx",
        "manual.pdf",
        "policies/returns.md",
    ]
    assert [document.title for document in base.documents] == [
        "Delivery",
        "Opening hours",
        "Lease",
        "Coffee machine manual",
        "Returns",
    ]
    assert base.pages == 7
    assert len(base.passages) == 7
    assert [problem.split(" (")[0] for problem in base.problems] == [
        "broken.pdf: corrupt",
        "empty.md: empty",
        "locked.pdf: encrypted",
    ]


def test_a_question_is_answered_by_the_passage_that_covers_it(folder):
    base = KnowledgeBase.load(folder)
    hit = base.answer("when are you open on sundays?")
    assert hit is not None
    assert (hit.passage.title, hit.passage.source, hit.passage.page, hit.passage.heading) == (
        "Opening hours",
        "hours.md",
        1,
        "Bookshop",
    )
    assert hit.coverage >= THRESHOLD
    pdf_hit = base.answer("how often should i descale the machine")
    assert pdf_hit is not None
    assert (pdf_hit.passage.source, pdf_hit.passage.page) == ("manual.pdf", 2)
    assert pdf_hit.passage.text == "Descale the machine every month."


def test_a_question_the_documents_do_not_answer_is_declined_but_explained(folder):
    base = KnowledgeBase.load(folder)
    assert base.answer("do you repair bicycles?") is None
    assert base.answer("hello there") is None
    hits = base.explain("bicycles delivered by bike", k=2)
    assert [hit.passage.source for hit in hits] == ["delivery.txt"]
    assert 0 < hits[0].coverage < THRESHOLD
    assert not base.accepts(hits[0])


def test_the_threshold_decides_what_is_good_enough(folder):
    question = "bicycles delivered by bike"
    assert KnowledgeBase.load(folder, threshold=0.0).answer(question) is not None
    assert KnowledgeBase.load(folder, threshold=1.0).answer("sunday opening") is not None
    assert KnowledgeBase.load(folder, threshold=1.0).answer(question) is None


def test_the_page_cap_applies_to_each_file(folder):
    (folder / "long.pdf").write_bytes(handbook(4))
    base = KnowledgeBase.load(folder, max_pages=3)
    assert "long.pdf: too_many_pages (4 pages, at most 3)" in base.problems
    assert "manual.pdf" in [document.source for document in base.documents]


def test_a_missing_folder_is_an_empty_base_with_a_problem(tmp_path):
    base = KnowledgeBase.load(tmp_path / "nowhere")
    assert base.documents == ()
    assert base.problems == (f"{tmp_path / 'nowhere'}: not a folder",)
    assert base.answer("when are you open?") is None


def runner_for(folder):
    app = Flask(__name__)
    app.config.update(BOT_KNOWLEDGE=str(folder), BOT_DOCUMENT_MAX_PAGES=300)
    app.cli.add_command(knowledge_command)
    return app.test_cli_runner()


def test_the_index_command_reports_what_it_read_and_what_it_could_not(folder):
    result = runner_for(folder).invoke(args=["knowledge", "index"])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert re.fullmatch(
        rf"Read 5 files from {re.escape(str(folder))}: 7 pages, 7 passages in \d+\.\d\d s\.",
        lines[0],
    )
    assert lines[1:7] == [
        "  delivery.txt: 'Delivery', 1 pages",
        "  hours.md: 'Opening hours', 2 pages",
        "  lease.docx: 'Lease', 1 pages",
        "  manual.pdf: 'Coffee machine manual', 2 pages",
        "  policies/returns.md: 'Returns', 1 pages",
        "3 problems:",
    ]
    assert [line.split(" (")[0] for line in lines[7:]] == [
        "  broken.pdf: corrupt",
        "  empty.md: empty",
        "  locked.pdf: encrypted",
    ]


def test_the_index_command_succeeds_when_everything_was_read(tmp_path):
    (tmp_path / "hours.md").write_text(HOURS, encoding="utf-8")
    result = runner_for(tmp_path).invoke(args=["knowledge", "index"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1:] == ["  hours.md: 'Opening hours', 2 pages"]


def test_the_operators_synonyms_find_pages_worded_otherwise(tmp_path):
    (tmp_path / "delivery.txt").write_text(DELIVERY, encoding="utf-8")
    (tmp_path / "hours.md").write_text(HOURS, encoding="utf-8")
    assert KnowledgeBase.load(tmp_path).answer("how much is postage?") is None
    (tmp_path / "synonyms.yml").write_text(
        "# customers' words\ndeliver: [postage, shipping]\ncafé: [coffee-shop]\n", encoding="utf-8"
    )
    base = KnowledgeBase.load(tmp_path)
    assert (base.problems, base.synonyms) == ((), 5)
    hit = base.answer("how much is postage?")
    assert hit is not None
    assert hit.passage.source == "delivery.txt"
    assert base.answer("when does the coffee-shop open").passage.heading == "Café"


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        (
            "delivery: [postage, cargo bike]\nhours: [times, much]\nrefund: money back\n",
            [
                "synonyms.yml:1: 'cargo bike' is not one word; synonyms are single words",
                "synonyms.yml:2: 'much' is a stop word, never looked up",
                "synonyms.yml:3: expected 'word: [other, …]'",
            ],
        ),
        ("delivery: [postage\nhours: [times]\n", ["synonyms.yml:2: not valid YAML"]),
        ("- delivery\n- postage\n", ["synonyms.yml:1: expected 'word: [other, …]' entries"]),
    ],
)
def test_a_problem_in_the_synonym_table_is_named_with_its_line(tmp_path, text, problems):
    (tmp_path / "delivery.txt").write_text(DELIVERY, encoding="utf-8")
    (tmp_path / "synonyms.yml").write_text(text, encoding="utf-8")
    base = KnowledgeBase.load(tmp_path)
    assert [problem.split(" (")[0] for problem in base.problems] == problems
    assert [document.source for document in base.documents] == ["delivery.txt"]


def test_the_index_command_reports_the_synonym_table(tmp_path):
    (tmp_path / "hours.md").write_text(HOURS, encoding="utf-8")
    (tmp_path / "synonyms.yml").write_text(
        "closed: [shut]\nwhat: [whereabouts]\n", encoding="utf-8"
    )
    result = runner_for(tmp_path).invoke(args=["knowledge", "index"])
    assert result.exit_code == 1
    assert result.output.splitlines()[1:] == [
        "  hours.md: 'Opening hours', 2 pages",
        "  synonyms.yml: 2 words with synonyms",
        "1 problem:",
        "  synonyms.yml:2: 'what' is a stop word, never looked up",
    ]
