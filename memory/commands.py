"""Operator commands for the store: `flask --app bot purge` and `flask --app bot forget`."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from memory.base import StoreUnavailable


def _store():
    return current_app.extensions["bot.pipeline"].store


@click.command("purge")
@with_appcontext
def purge_command() -> None:
    """Delete conversations, history and reply records older than BOT_RETENTION_DAYS."""
    store = _store()
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
    store = _store()
    try:
        store.forget(sender)
    except StoreUnavailable as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Deleted the state, history and reply records of that sender from {store.url}.")
