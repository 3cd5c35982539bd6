"""`flask --app bot console hash-password NAME`: asks for a password twice, without echo,
and prints the BOT_OPERATORS entry to paste (`NAME=scrypt:…`)."""

from __future__ import annotations

import click
from werkzeug.security import generate_password_hash

from console.operators import NAME

MIN_PASSWORD = 12  # characters: the console can write to every user of the bot


@click.group("console")
def console_cli() -> None:
    """The operator console: set up who may sign in."""


@console_cli.command("hash-password")
@click.argument("name")
def hash_password_command(name: str) -> None:
    """Print a BOT_OPERATORS entry for operator NAME, asking for their password."""
    if not NAME.fullmatch(name):
        raise click.BadParameter(
            "use letters, digits, '.', '_' or '-', up to 32 characters", param_hint="NAME"
        )
    password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < MIN_PASSWORD:
        raise click.ClickException(f"use a password of {MIN_PASSWORD} characters or more")
    click.echo(f"{name}={generate_password_hash(password)}")
    click.echo(
        "Add it to BOT_OPERATORS (entries separated by commas). In a shell or a .env file, "
        "put the value in single quotes: the hash contains '$'.",
        err=True,
    )
