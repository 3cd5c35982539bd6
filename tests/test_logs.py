"""Logs never show phone numbers, WhatsApp ids or secrets in clear text."""

from __future__ import annotations

import logging

from logs import RedactingFormatter, sender_hash


def format_line(message: str, *args, secrets=("s3cr3t-token",)) -> str:
    record = logging.LogRecord("bot", logging.INFO, __file__, 1, message, args, None)
    return RedactingFormatter("%(message)s", "salt", secrets).format(record)


def test_whatsapp_ids_become_a_stable_keyed_hash():
    line = format_line("from %s", "whatsapp:+14155550123")
    assert line == f"from <sender:{sender_hash('whatsapp:+14155550123', 'salt')}>"
    assert "4155550123" not in line


def test_username_ids_are_redacted_too():
    assert "bsuid" not in format_line("from whatsapp:bsuid.AbC-123_xyz!")


def test_phone_numbers_in_any_shape_are_redacted():
    line = format_line("call +1 (415) 555-0123 or +447911123456 or wa 14155550123 today")
    assert "555" not in line
    assert "7911" not in line
    assert "14155550123" not in line
    assert line.count("<phone:") == 3


def test_secrets_are_redacted():
    assert format_line("token is s3cr3t-token") == "token is <secret>"


def test_ordinary_numbers_survive():
    assert (
        format_line("took 12.5 ms on port 5000, pid 12345")
        == "took 12.5 ms on port 5000, pid 12345"
    )


def test_hash_depends_on_the_salt():
    assert sender_hash("whatsapp:+1", "a") != sender_hash("whatsapp:+1", "b")
    assert len(sender_hash("whatsapp:+1", "a")) == 12
