"""Logs never show phone numbers, WhatsApp ids or secrets in clear text."""

from __future__ import annotations

import logging
import re

import pytest

from bot import create_app
from logs import RedactingFormatter, sender_hash
from tests.conftest import base_settings, post_whatsapp, whatsapp_form


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


# -- real log lines from the app ------------------------------------------------------------


def refused_with_query(capsys, query: str) -> str:
    """What the log says about a /bot request with `query` and a wrong signature."""
    client = create_app(base_settings()).test_client()
    capsys.readouterr()
    response = client.post(
        f"/bot?{query}", data=whatsapp_form("hi"), headers={"X-Twilio-Signature": "bad"}
    )
    assert response.status_code == 403
    [line] = [li for li in capsys.readouterr().err.splitlines() if "refused a /bot" in li]
    return line


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        ("to=%2B14155550123", "to=<phone:"),
        ("to=%2b14155550123&x=1", "to=<phone:"),
        ("from=whatsapp%3A%2B14155550123", "from=<sender:"),
        ("from=whatsapp:%2B14155550123", "from=<sender:"),
        ("to=%2B1+415+555+0123", "to=<phone:"),
        ("to=%2B1%20(415)%20555-0123", "to=<phone:"),
        ("to=%252B14155550123", "to=<phone:"),  # encoded twice
        # A URL inside a URL: the separators before the number are encoded too.
        ("next=%2Fbot%3Fphone%3D14155550123", "phone=<phone:"),
        ("next=%2Fbot%3Fa%3D1%26phone%3D14155550123", "phone=<phone:"),
        ("list=x%2C14155550123", "x,<phone:"),
    ],
)
def test_a_number_in_a_refused_url_is_hidden_however_it_is_encoded(capsys, query, shown):
    line = refused_with_query(capsys, query)
    assert "does not match http://localhost/bot?" in line
    assert shown in line
    assert not re.search(r"415\D{0,3}555", line), line


def test_an_encoded_number_gets_the_same_hash_as_in_clear(capsys):
    encoded = refused_with_query(capsys, "from=whatsapp%3A%2B14155550123")
    clear = refused_with_query(capsys, "from=whatsapp:+14155550123")
    hashes = [re.search(r"<sender:([0-9a-f]{12})>", line)[1] for line in (encoded, clear)]
    assert hashes[0] == hashes[1]


def test_other_escapes_stay_as_they_were(capsys):
    line = refused_with_query(capsys, "q=a%0Aline&n=%2B12")
    assert "?q=a%0Aline&n=%2B12 " in line


def message_line(capsys, request_id: str) -> tuple[str, str]:
    """The X-Request-Id answered for a message sent with `request_id`, and its log line."""
    client = create_app(base_settings()).test_client()
    capsys.readouterr()
    response = post_whatsapp(client, "hello", headers={"X-Request-Id": request_id})
    [line] = [li for li in capsys.readouterr().err.splitlines() if " message channel=" in li]
    return response.headers["X-Request-Id"], line


@pytest.mark.parametrize(
    "request_id",
    [
        "20261201123456-abc",
        "55084001-e29b-41d4-a716-446655440000",
        "req-42",
        "1234567",
        "3f9a12345678b0c1d2e3f4a5b6c7d8e9",  # nginx's $request_id: hex
    ],
)
def test_a_request_id_is_logged_as_the_header_carries_it(capsys, request_id):
    answered, line = message_line(capsys, request_id)
    assert answered == request_id
    assert f" request_id={request_id} " in line


@pytest.mark.parametrize(
    "request_id",
    [
        "14155550123",
        "1-415-555-0123",
        "0014155550123.5",
        "14155550123-abc",
        "x_14155550123",
        "12345678-x",
        "req-55084001-e29b-41d4-a716-446655440000-14155550123",
    ],
)
def test_a_request_id_that_could_hide_a_number_is_replaced(capsys, request_id):
    answered, line = message_line(capsys, request_id)
    assert re.fullmatch(r"[0-9a-f]{16}", answered)
    assert f" request_id={answered} " in line
    assert "<phone:" not in line
    assert "555" not in line
    assert "12345678" not in line
