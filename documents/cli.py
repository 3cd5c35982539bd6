"""`flask --app bot knowledge index`: read the knowledge base (BOT_KNOWLEDGE) as the bot
does at start-up and say what was read (documents and the synonym table), what could not be,
and how long it took."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from documents.knowledge import SYNONYMS, KnowledgeBase

knowledge_command = AppGroup("knowledge", help="The knowledge base the bot answers from.")


@knowledge_command.command("index")
def index_command() -> None:
    """Read every document in BOT_KNOWLEDGE and report files, pages, passages and problems."""
    folder = current_app.config["BOT_KNOWLEDGE"]
    base = KnowledgeBase.load(folder, current_app.config["BOT_DOCUMENT_MAX_PAGES"])
    click.echo(
        f"Read {len(base.documents)} files from {folder}: {base.pages} pages,"
        f" {len(base.passages)} passages in {base.seconds:.2f} s."
    )
    for document in base.documents:
        click.echo(f"  {document.source}: {document.title!r}, {len(document.pages)} pages")
    if base.synonyms:
        click.echo(f"  {SYNONYMS}: {base.synonyms} words with synonyms")
    if base.problems:
        count = len(base.problems)
        click.echo(f"{count} problem{'s' if count > 1 else ''}:")
        for problem in base.problems:
            click.echo(f"  {problem}")
        raise click.exceptions.Exit(1)
