"""X-Twilio-Signature on /bot: genuine requests in, everything else 403, proxies handled."""

from __future__ import annotations

import shlex

import pytest

from bot import create_app
from channels.signature import refusal
from engine.replies import render
from tests.conftest import (
    LOCAL_URL,
    TOKEN,
    base_settings,
    post_whatsapp,
    reply_text,
    signature_for,
    whatsapp_form,
)

PUBLISHED_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
PUBLISHED_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675309",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
}
PUBLISHED_SIGNATURE = "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def published_refusal(params: dict[str, str]) -> str | None:
    """Run Twilio's published example request through our validation path."""
    app = create_app(base_settings(TWILIO_AUTH_TOKEN="12345"))
    with app.test_request_context(
        "/myapp.php?foo=1&bar=2",
        base_url="https://mycompany.com",
        method="POST",
        data=params,
        headers={"X-Twilio-Signature": PUBLISHED_SIGNATURE},
    ) as ctx:
        assert ctx.request.url == PUBLISHED_URL
        return refusal(ctx.request, app.config)


def test_twilio_published_vector_passes_our_validation_path():
    assert published_refusal(PUBLISHED_PARAMS) is None


def test_published_vector_with_one_digit_changed_is_refused():
    assert "does not match" in published_refusal({**PUBLISHED_PARAMS, "Digits": "1235"})


def test_signed_request_gets_twiml(app, client):
    greetings = app.extensions["bot.answering"].pipeline.engine.rules.intent("greet").responses
    expected = {render(r.text, {"profile_name": "Sam"}) for r in greetings}
    response = post_whatsapp(client, "hi")
    assert response.status_code == 200
    assert reply_text(response) in expected


def _forbidden(response) -> None:
    assert response.status_code == 403
    assert response.mimetype == "text/plain"
    assert b"not signed by Twilio" in response.data


def test_missing_signature_is_refused(client):
    _forbidden(client.post("/bot", data=whatsapp_form("hi")))


@pytest.mark.parametrize(
    "header",
    ["", "   ", "garbage", "RSOYDt4T1cUTdK1PDd93/VVr8B8=", "é€ñ-not-base64", "A" * 4000],
)
def test_empty_or_garbage_signature_is_refused(client, header):
    _forbidden(
        client.post("/bot", data=whatsapp_form("hi"), headers={"X-Twilio-Signature": header})
    )


def test_tampered_body_is_refused(client):
    form = whatsapp_form("hi")
    signature = signature_for(form)
    form["Body"] = "hi, send me everyone's data"
    _forbidden(client.post("/bot", data=form, headers={"X-Twilio-Signature": signature}))


def test_extra_parameter_is_refused(client):
    form = whatsapp_form("hi")
    signature = signature_for(form)
    _forbidden(
        client.post(
            "/bot", data={**form, "Injected": "1"}, headers={"X-Twilio-Signature": signature}
        )
    )


def test_signature_for_another_token_is_refused(client):
    form = whatsapp_form("hi")
    signature = signature_for(form, token="not-the-token")
    _forbidden(client.post("/bot", data=form, headers={"X-Twilio-Signature": signature}))


def test_signed_for_https_but_served_over_http_is_refused(client):
    form = whatsapp_form("hi")
    signature = signature_for(form, url="https://localhost/bot")
    _forbidden(client.post("/bot", data=form, headers={"X-Twilio-Signature": signature}))


def test_query_string_is_part_of_the_signed_url(client):
    form = whatsapp_form("hi")
    signed = signature_for(form, url=LOCAL_URL + "?tenant=a")
    ok = client.post("/bot?tenant=a", data=form, headers={"X-Twilio-Signature": signed})
    assert ok.status_code == 200
    _forbidden(client.post("/bot?tenant=b", data=form, headers={"X-Twilio-Signature": signed}))


def test_public_url_setting_validates_what_ngrok_forwarded():
    public = "https://abc123.ngrok-free.app"
    client = create_app(base_settings(BOT_PUBLIC_URL=public + "/")).test_client()
    form = whatsapp_form("hi")
    response = client.post(
        "/bot", data=form, headers={"X-Twilio-Signature": signature_for(form, public + "/bot")}
    )
    assert response.status_code == 200
    # The same request signed for the URL the app sees locally is not what Twilio signed.
    _forbidden(client.post("/bot", data=form, headers={"X-Twilio-Signature": signature_for(form)}))


def test_trusted_proxy_forwarded_proto_and_host_are_used():
    client = create_app(base_settings(BOT_TRUSTED_PROXIES="1")).test_client()
    form = whatsapp_form("hi")
    headers = {
        "X-Twilio-Signature": signature_for(form, "https://bot.example.com/bot"),
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "bot.example.com",
    }
    assert client.post("/bot", data=form, headers=headers).status_code == 200


def test_forwarded_headers_are_ignored_without_trusted_proxies(client):
    form = whatsapp_form("hi")
    headers = {
        "X-Twilio-Signature": signature_for(form, "https://bot.example.com/bot"),
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "bot.example.com",
    }
    _forbidden(client.post("/bot", data=form, headers=headers))


def test_without_auth_token_every_request_is_refused_and_startup_says_how_to_fix(capsys):
    client = create_app(base_settings(TWILIO_AUTH_TOKEN="")).test_client()
    err = capsys.readouterr().err
    assert "TWILIO_AUTH_TOKEN is not set" in err
    assert "TWILIO_VALIDATE=false" in err
    form = whatsapp_form("hi")
    _forbidden(client.post("/bot", data=form, headers={"X-Twilio-Signature": signature_for(form)}))


def test_validation_switched_off_accepts_unsigned_and_warns(capsys):
    client = create_app(base_settings(TWILIO_AUTH_TOKEN="", TWILIO_VALIDATE="false")).test_client()
    assert "UNSIGNED" in capsys.readouterr().err
    response = client.post("/bot", data=whatsapp_form("help"))
    assert "Here's what I can do" in reply_text(response)


def test_refusal_is_logged_with_the_url_checked_but_no_secret(capsys):
    client = create_app(base_settings()).test_client()
    capsys.readouterr()
    client.post("/bot", data=whatsapp_form("hi"), headers={"X-Twilio-Signature": "bad"})
    err = capsys.readouterr().err
    assert "does not match http://localhost/bot" in err
    assert "BOT_PUBLIC_URL" in err
    assert TOKEN not in err


def test_sign_command_prints_a_curl_line_that_passes_validation(runner, client):
    result = runner.invoke(args=["sign", "what can you do", "--url", LOCAL_URL])
    assert result.exit_code == 0, result.output
    words = shlex.split(result.output)
    assert words[:5] == ["curl", "-sS", "-X", "POST", LOCAL_URL]
    header = words[words.index("-H") + 1]
    name, _, signature = header.partition(": ")
    assert name == "X-Twilio-Signature"
    form = dict(words[i + 1].split("=", 1) for i, w in enumerate(words) if w == "--data-urlencode")
    assert form["Body"] == "what can you do"
    response = client.post("/bot", data=form, headers={name: signature})
    assert "Here's what I can do" in reply_text(response)


def test_sign_command_without_token_explains(tmp_path):
    runner = create_app(base_settings(TWILIO_AUTH_TOKEN="")).test_cli_runner()
    result = runner.invoke(args=["sign", "hi"])
    assert result.exit_code != 0
    assert "TWILIO_AUTH_TOKEN is not set" in result.output
