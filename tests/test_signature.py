"""X-Twilio-Signature on /bot: genuine requests in, everything else 403, proxies handled."""

from __future__ import annotations

import shlex

import pytest
from twilio.request_validator import RequestValidator

from bot import create_app
from channels.sids import is_message_sid
from channels.signature import refusal, run_port
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


def test_without_auth_token_twilio_is_refused_and_startup_says_how_to_fix(capsys):
    # The development token (devtoken.py) signs local requests; Twilio's, made with the
    # account's real token, are refused.
    client = create_app(base_settings(TWILIO_AUTH_TOKEN="")).test_client()
    err = capsys.readouterr().err
    assert "TWILIO_AUTH_TOKEN is not set" in err
    assert "Twilio's own requests are REFUSED" in err
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


def test_sign_command_without_token_signs_with_the_development_token():
    app = create_app(base_settings(TWILIO_AUTH_TOKEN=""))
    result = app.test_cli_runner().invoke(args=["sign", "what can you do", "--url", LOCAL_URL])
    assert result.exit_code == 0, result.output
    words = shlex.split(result.output)
    name, _, signature = words[words.index("-H") + 1].partition(": ")
    form = dict(words[i + 1].split("=", 1) for i, w in enumerate(words) if w == "--data-urlencode")
    response = app.test_client().post("/bot", data=form, headers={name: signature})
    assert "Here's what I can do" in reply_text(response)


# -- shared-key signatures (X-Twilio-Webhooks-Signature-Settings) ----------------------------

SHARED_KEY = "shared-key-secret-7d1e"
SHARED = {
    "X-Twilio-Webhooks-Signature-Settings": "key=webhooks_sharedkey_01abc,algorithm=HMAC_SHA256"
}


def shared_key_headers(form, key: str = SHARED_KEY, algorithm: str = "HMAC_SHA256") -> dict:
    signature = RequestValidator(key).compute_signature(LOCAL_URL, form, algorithm)
    return {**SHARED, "X-Twilio-Signature": signature}


@pytest.fixture
def shared_client():
    return create_app(base_settings(TWILIO_WEBHOOK_SHARED_KEY=SHARED_KEY)).test_client()


def test_a_shared_key_signature_is_accepted(shared_client):
    form = whatsapp_form("help")
    response = shared_client.post("/bot", data=form, headers=shared_key_headers(form))
    assert "Here's what I can do" in reply_text(response)


def test_the_auth_token_signature_still_works_beside_a_shared_key(shared_client):
    assert "Here's what I can do" in reply_text(post_whatsapp(shared_client, "help"))


def test_a_shared_key_is_enough_without_an_auth_token(app):
    form = whatsapp_form("help")
    with app.test_request_context(
        "/bot", method="POST", data=form, headers=shared_key_headers(form)
    ) as ctx:
        settings = {**app.config, "TWILIO_AUTH_TOKEN": "", "TWILIO_WEBHOOK_SHARED_KEY": SHARED_KEY}
        assert refusal(ctx.request, settings) is None


def test_the_header_may_name_hmac_sha1_with_the_shared_key(shared_client):
    form = whatsapp_form("help")
    headers = {
        **shared_key_headers(form, algorithm="HMAC_SHA1"),
        "X-Twilio-Webhooks-Signature-Settings": "key=webhooks_sharedkey_01abc,algorithm=HMAC_SHA1",
    }
    assert "Here's what I can do" in reply_text(
        shared_client.post("/bot", data=form, headers=headers)
    )


def test_a_wrong_shared_key_is_refused(shared_client):
    form = whatsapp_form("hi")
    _forbidden(shared_client.post("/bot", data=form, headers=shared_key_headers(form, "wrong")))


def test_the_auth_token_cannot_sign_for_the_shared_key(shared_client):
    # With the header the shared key is the only key: the token's SHA-256 is not accepted...
    form = whatsapp_form("hi")
    _forbidden(shared_client.post("/bot", data=form, headers=shared_key_headers(form, TOKEN)))
    # ...nor its usual SHA-1 signature with the header added.
    headers = {**SHARED, "X-Twilio-Signature": signature_for(form)}
    _forbidden(shared_client.post("/bot", data=form, headers=headers))


def test_a_shared_key_signature_without_its_header_is_refused(shared_client):
    form = whatsapp_form("hi")
    headers = shared_key_headers(form)
    del headers["X-Twilio-Webhooks-Signature-Settings"]
    _forbidden(shared_client.post("/bot", data=form, headers=headers))


def test_a_shared_key_signature_without_the_setting_is_refused_and_logged(capsys):
    client = create_app(base_settings()).test_client()
    capsys.readouterr()
    form = whatsapp_form("hi")
    _forbidden(client.post("/bot", data=form, headers=shared_key_headers(form)))
    assert "TWILIO_WEBHOOK_SHARED_KEY is not set" in capsys.readouterr().err


def test_an_unknown_algorithm_is_refused_without_being_logged(capsys):
    client = create_app(base_settings(TWILIO_WEBHOOK_SHARED_KEY=SHARED_KEY)).test_client()
    capsys.readouterr()
    form = whatsapp_form("hi")
    headers = {
        **shared_key_headers(form),
        "X-Twilio-Webhooks-Signature-Settings": "key=k,algorithm=HMAC_MD5\x1b[2J",
    }
    _forbidden(client.post("/bot", data=form, headers=headers))
    err = capsys.readouterr().err
    assert "names an algorithm twilio-python does not know" in err
    assert "HMAC_MD5" not in err
    assert SHARED_KEY not in err


# -- the sign command -----------------------------------------------------------------------


def signed_form(output: str) -> tuple[str, dict[str, str], dict[str, str]]:
    """(url, form, headers) of the curl line `sign` printed."""
    words = shlex.split(output)
    name, _, signature = words[words.index("-H") + 1].partition(": ")
    form = dict(words[i + 1].split("=", 1) for i, w in enumerate(words) if w == "--data-urlencode")
    return words[4], form, {name: signature}


def history(app) -> list:
    return app.extensions["bot.answering"].pipeline.store.history("whatsapp:+15550001234")


def test_each_signed_request_is_a_new_message(app, runner, client):
    sids = []
    for _ in range(2):
        result = runner.invoke(args=["sign", "what can you do", "--url", LOCAL_URL])
        assert result.exit_code == 0, result.output
        _, form, headers = signed_form(result.output)
        assert is_message_sid(form["MessageSid"])
        sids.append(form["MessageSid"])
        assert "Here's what I can do" in reply_text(client.post("/bot", data=form, headers=headers))
    assert sids[0] != sids[1]
    assert [exchange.message_id for exchange in history(app)] == sids


def test_a_sid_given_on_purpose_is_repeated(app, runner, client):
    sid = "SM" + "5" * 32
    for _ in range(2):
        result = runner.invoke(args=["sign", "what can you do", "--url", LOCAL_URL, "--sid", sid])
        _, form, headers = signed_form(result.output)
        assert form["MessageSid"] == sid
        assert client.post("/bot", data=form, headers=headers).status_code == 200
    assert [exchange.message_id for exchange in history(app)] == [sid]  # one message, twice


@pytest.mark.parametrize(
    "sid", ["SM123", "SM" + "A" * 32, "XX" + "0" * 32, "SM" + "0" * 32 + "NumMedia0"]
)
def test_a_malformed_sid_is_refused_by_the_command(runner, sid):
    result = runner.invoke(args=["sign", "hi", "--sid", sid])
    assert result.exit_code == 2
    assert "SM or MM and 32 lowercase hex digits" in result.output


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """A current folder of its own, and no PORT in the environment."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PORT", raising=False)
    return tmp_path


@pytest.mark.parametrize(
    ("env_file", "port"),
    [
        (None, 5000),
        ("TWILIO_VALIDATE=true\n", 5000),
        ("PORT=8123\n", 8123),
        ("PORT=8123\r\n", 8123),
        ("PORT=8123\nPORT=8124\n", 8124),  # the last one, as `tail -n 1`
        ("PORT=8123\nPORT=\n", 5000),  # the last one is empty
        ("PORT=8123 # the port\n", 8123),
        ("# PORT=8123\n", 5000),
        ("export PORT=8123\n", 5000),  # the Makefile reads `PORT=` lines only
        ('PORT="8123"\n', 5000),
    ],
)
def test_the_port_is_found_as_the_makefile_finds_it(folder, env_file, port):
    if env_file is not None:
        (folder / ".env").write_text(env_file, encoding="utf-8")
    assert run_port() == port


def test_the_environment_port_wins_over_env_file(folder, monkeypatch):
    (folder / ".env").write_text("PORT=8123\n", encoding="utf-8")
    monkeypatch.setenv("PORT", "9001")
    assert run_port() == 9001
    monkeypatch.setenv("PORT", "nine")
    with pytest.raises(ValueError, match="PORT='nine'"):
        run_port()


def test_sign_signs_for_the_port_make_run_uses(folder, runner, app):
    (folder / ".env").write_text("PORT=8765\n", encoding="utf-8")
    url, form, headers = signed_form(runner.invoke(args=["sign", "hi"]).output)
    assert url == "http://127.0.0.1:8765/bot"
    with app.test_request_context(
        "/bot", base_url="http://127.0.0.1:8765", method="POST", data=form, headers=headers
    ) as ctx:
        assert refusal(ctx.request, app.config) is None
    explicit, _, _ = signed_form(runner.invoke(args=["sign", "hi", "--port", "7000"]).output)
    assert explicit == "http://127.0.0.1:7000/bot"
