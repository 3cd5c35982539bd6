"""Knowledge-base retrieval speed: a question against a 500-page knowledge base, and reading
and indexing a 100-page PDF.

The knowledge base is generated: 25 Markdown files of 20 sections ("pages") of about 400
words each, drawn with Zipf's law (word rank r comes up in proportion to 1/r) from the
words of this project's own Markdown and of the demo knowledge base, so the index has real
English stems and a realistic spread of common and rare terms. Questions are 3 to 8 words:
most taken from a random section (with a few common words), some of words the base never
uses, each distinct. Timed: `KnowledgeBase.answer` (question analysis, BM25 search and the
threshold). The PDF is built with fpdf2 (100 pages of the same kind of text) and timed
through `documents.readers.read` (the child process included), `passages.split` and
`bm25.Index`. Prints a table and writes bench/out/knowledge.json (untracked).

    .venv/bin/python bench/knowledge.py
"""

from __future__ import annotations

import json
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

from fpdf import FPDF  # fpdf2, from requirements-dev.txt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from documents.bm25 import Index
from documents.knowledge import KnowledgeBase
from documents.passages import split
from documents.readers import read

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "out"  # untracked: a run never rewrites tracked files
FILES = 25
SECTIONS = 20  # a section of a Markdown file is a page
SECTION_WORDS = 400
QUESTIONS = 2000
PDF_PAGES = 100
PDF_PAGE_WORDS = 450
SEED = 16


def vocabulary() -> list[str]:
    """Distinct lower-case words of the project's Markdown, most frequent first."""
    counts: dict[str, int] = {}
    for path in [*ROOT.glob("*.md"), *ROOT.glob("knowledge/*.md"), *ROOT.glob("rules/**/*.md")]:
        for word in re.findall(r"[a-z]{2,}", path.read_text(encoding="utf-8").lower()):
            counts[word] = counts.get(word, 0) + 1
    return sorted(counts, key=lambda word: -counts[word])


def zipf_text(rng: random.Random, words: list[str], weights: list[float], count: int) -> str:
    chosen = rng.choices(words, weights, k=count)
    sentences = [" ".join(chosen[i : i + 15]).capitalize() + "." for i in range(0, count, 15)]
    paragraphs = [" ".join(sentences[i : i + 5]) for i in range(0, len(sentences), 5)]
    return "\n\n".join(paragraphs)


def write_base(folder: Path, rng: random.Random, words: list[str], weights: list[float]) -> None:
    for number in range(FILES):
        sections = [f"# Topic {number}\n"]
        for section in range(SECTIONS):
            heading = " ".join(rng.choices(words[50:2000], k=3)).capitalize()
            sections.append(
                f"## {heading} {section}\n\n{zipf_text(rng, words, weights, SECTION_WORDS)}\n"
            )
        (folder / f"topic-{number:02}.md").write_text("\n".join(sections), encoding="utf-8")


def questions(base: KnowledgeBase, rng: random.Random, count: int) -> list[str]:
    asked = set()
    fillers = ["how", "do", "i", "what", "is", "the", "can", "you", "when", "where", "my"]
    unknown = ["zebra", "quasar", "trombone", "glacier", "origami", "saxophone", "volcano"]
    while len(asked) < count:
        passage = rng.choice(base.passages)
        found = re.findall(r"[a-z]{3,}", passage.text.lower())
        picked = rng.sample(found, min(len(found), rng.randint(2, 5)))
        if rng.random() < 0.2:
            picked.append(rng.choice(unknown))
        words = [*rng.sample(fillers, 2), *picked]
        rng.shuffle(words)
        asked.add(" ".join(words) + "?")
    return sorted(asked, key=lambda _: rng.random())


def timed_questions(base: KnowledgeBase, texts: list[str]) -> dict:
    for text in texts[:200]:  # warm up the caches a long-running worker has warm
        base.answer(text)
    samples = []
    answered = 0
    for text in texts[200:]:
        start = time.perf_counter()
        hit = base.answer(text)
        samples.append((time.perf_counter() - start) * 1000)
        answered += hit is not None
    samples.sort()
    return {
        "questions": len(samples),
        "answered": answered,
        "median_ms": round(statistics.median(samples), 3),
        "p95_ms": round(samples[int(len(samples) * 0.95)], 3),
        "max_ms": round(samples[-1], 3),
    }


def pdf_bytes(rng: random.Random, words: list[str], weights: list[float]) -> bytes:
    pdf = FPDF()
    pdf.set_title("Benchmark manual")
    pdf.set_font("Helvetica", size=9)
    for _ in range(PDF_PAGES):
        pdf.add_page()
        text = zipf_text(rng, words, weights, PDF_PAGE_WORDS)
        pdf.multi_cell(0, 4, text.encode("latin-1", "replace").decode("latin-1"))
    return bytes(pdf.output())


def main() -> None:
    rng = random.Random(SEED)
    words = vocabulary()
    weights = [1 / rank for rank in range(1, len(words) + 1)]
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as folder:
        write_base(Path(folder), rng, words, weights)
        start = time.perf_counter()
        base = KnowledgeBase.load(folder)
        load_s = time.perf_counter() - start
        assert not base.problems, base.problems
        results["knowledge_base"] = {
            "files": len(base.documents),
            "pages": base.pages,
            "passages": len(base.passages),
            "vocabulary": len(base.index.idf),
            "load_s": round(load_s, 2),
            **timed_questions(base, questions(base, rng, QUESTIONS)),
        }
    data = pdf_bytes(rng, words, weights)
    rounds = []
    for _ in range(3):
        start = time.perf_counter()
        document = read(data, "application/pdf", "manual.pdf")
        read_s = time.perf_counter() - start
        passages = split(document)
        Index(passages)
        rounds.append((time.perf_counter() - start, read_s, len(passages)))
    total, read_s, passages = sorted(rounds)[1]  # the median of three
    results["pdf_100_pages"] = {
        "bytes": len(data),
        "pages": len(document.pages),
        "passages": passages,
        "read_s": round(read_s, 2),
        "read_and_index_s": round(total, 2),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "knowledge.json").write_text(json.dumps(results, indent=2) + "\n")
    kb, pdf = results["knowledge_base"], results["pdf_100_pages"]
    print(f"{'knowledge base':<28}{'value':>12}   target")
    print(f"{'pages / passages':<28}{kb['pages']:>6} / {kb['passages']:<5}")
    print(f"{'load and index (s)':<28}{kb['load_s']:>12}")
    print(f"{'question median (ms)':<28}{kb['median_ms']:>12}   ≤ 5")
    print(f"{'question p95 (ms)':<28}{kb['p95_ms']:>12}")
    print(f"{'100-page PDF read (s)':<28}{pdf['read_s']:>12}")
    print(f"{'100-page PDF read+index (s)':<28}{pdf['read_and_index_s']:>12}   ≤ 5")
    print(f"written to {RESULTS / 'knowledge.json'}")


if __name__ == "__main__":
    main()
