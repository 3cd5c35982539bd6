"""The terminal channel: `flask --app bot chat` talks to the same engine as WhatsApp.

Lines come from the keyboard or from stdin; replies are printed as text, media as URLs. Lines
piped in are echoed after the prompt (`you> hi`), so a transcript reads like the chat. It
needs no Twilio account and no network, so rule authors can try their rules straight away.
"""

from __future__ import annotations

import sys
import uuid

import click
from flask.cli import with_appcontext

from channels.answering import answering
from conversation import Message, Reply

QUIT = {"/quit", "/exit"}


def format_reply(reply: Reply) -> str:
    lines = [reply.text] if reply.text else []
    lines += [f"[media] {url}" for url in reply.media]
    return "\n".join(lines)


@click.command("chat")
@click.option("--sender", default="terminal:local", show_default=True, help="Your user id.")
@click.option("--name", default="", help="Your profile name, as WhatsApp would send it.")
@with_appcontext
def chat_command(sender: str, name: str) -> None:
    """Chat with the bot here: type a message, read the reply. /quit or Ctrl-D ends."""
    seam = answering()
    interactive = sys.stdin.isatty()
    if interactive:
        click.echo("Chatting with the bot. Type /quit or press Ctrl-D to stop.")
    while True:
        try:
            line = (
                click.prompt("you", prompt_suffix="> ", default="", show_default=False)
                if interactive
                else input()
            )
        except (EOFError, click.Abort):
            break
        if not interactive:
            click.echo(f"you> {line}")
        if line.strip() in QUIT:
            break
        message = Message(
            channel="terminal",
            sender=sender,
            body=line,
            # Unique across runs: the store keeps a reply record per message id.
            message_id=f"terminal-{uuid.uuid4().hex}",
            profile_name=name,
        )
        for reply in seam.answer(message, patient=True).replies:
            click.echo(f"bot> {format_reply(reply)}")
