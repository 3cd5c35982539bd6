"""The store in the Flask app: `init_app(app, store)` registers it, `current_store()` reaches
it, and the operator commands `flask --app bot purge`, `forget` and `report` use it."""

from __future__ import annotations

import re
from collections import Counter

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from memory.base import StoreUnavailable
from memory.store import Store

EXTENSION = "bot.store"


def init_app(app: Flask, store: Store) -> None:
    """Register `store` as the app's store, with its operator commands."""
    app.extensions[EXTENSION] = store
    for command in (purge_command, forget_command, report_command):
        app.cli.add_command(command)


def current_store() -> Store:
    """The app's store, set up by `create_app`."""
    return current_app.extensions[EXTENSION]


@click.command("purge")
@with_appcontext
def purge_command() -> None:
    """Delete conversations, history and reply records older than BOT_RETENTION_DAYS."""
    store = current_store()
    days = current_app.config["BOT_RETENTION_DAYS"]
    if not days:
        click.echo("BOT_RETENTION_DAYS=0 keeps everything: nothing to purge.")
        return
    try:
        deleted = store.purge()
    except StoreUnavailable as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Deleted {deleted} items older than {days} days from {store.url}.")


@click.command("forget")
@click.argument("sender")
@with_appcontext
def forget_command(sender: str) -> None:
    """Delete everything kept about SENDER (as Twilio sends it, e.g. whatsapp:+14155550123)."""
    store = current_store()
    try:
        store.forget(sender)
    except StoreUnavailable as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Deleted the state, history and reply records of that sender from {store.url}.")


_NUMBER = re.compile(r"\+?\d[\d ()./-]{5,}\d")
_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """One form for messages that differ only in case, spacing, end punctuation or a number
    (numbers are masked: a report is no place for someone's phone number)."""
    text = _NUMBER.sub("<number>", text)
    return _SPACE.sub(" ", text).strip(" .!?,;:").casefold()


@click.command("report")
@click.option("--top", default=20, show_default=True, help="How many messages to list.")
@with_appcontext
def report_command(top: int) -> None:
    """The messages that most often reached the fallback: what to write rules for next."""
    store = current_store()
    try:
        missed = Counter(
            normalise(e.text) for e in store.exchanges() if e.intent is None and e.text.strip()
        )
    except StoreUnavailable as error:
        raise click.ClickException(str(error)) from None
    days = current_app.config["BOT_RETENTION_DAYS"]
    kept = f"the last {days} days" if days else "all kept history"
    if not missed:
        click.echo(f"No message reached the fallback in {kept}.")
        return
    click.echo(f"Messages that reached the fallback most often ({kept}):")
    width = len(str(missed.most_common(1)[0][1]))
    for text, count in missed.most_common(top):
        click.echo(f"  {count:>{width}}  {text}")
