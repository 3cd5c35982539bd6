"""The operator console through Flask's test client: no console without operators, sign-in,
the session cookie, CSRF, the lock-out (on an injected clock), replies to WhatsApp users
through a local fake of Twilio's Messages API and to web-chat users through the hub, the
24-hour window, "return to bot", the idle sweep, the live frames, and the overview.

Real stores (memory://, a SQLite file, a real Redis for the lock-out across hosts); the
browser, the WebSocket and the screenshots are in tests/test_console_browser.py.
"""

from __future__ import annotations

import json
import re
import threading
import time
from zoneinfo import ZoneInfo

import pytest
from twilio.request_validator import RequestValidator
from werkzeug.security import check_password_hash, generate_password_hash

from bot import create_app
from channels.answering import answering
from config import ConfigError
from console import figures, people
from console.context import CONSOLE_KEY, Console
from console.operators import parse_operators
from console.refs import ref_for, sender_for
from conversation import Message
from memory import Exchange
from tests.conftest import (
    BOT_NUMBER,
    SENDER,
    TOKEN,
    base_settings,
    live_settings,
    post_whatsapp,
    reply_text,
    status_callback_form,
)
from tests.test_followups import MESSAGES, twilio_created, twilio_error

PASSWORD = "correct horse battery staple"
# pbkdf2 with few rounds: the tests sign in often; werkzeug's default (scrypt) is tested too.
HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
OPERATORS = f"ana={HASH}"
PUBLIC = "https://bot.example.com"
BOT_URL = f"{PUBLIC}/bot"  # what Twilio signs when BOT_PUBLIC_URL is set
HANDOVER = "OK, I've asked someone from the team to take over."
WEB_USER = "web:" + "a" * 32
START = 1_800_000_000.0  # seconds since the epoch, for the figures


class Clock:
    """The console's clock, moved by the test instead of waited for. It starts at the real
    time: the pipeline dates the users' messages by its own clock."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def console_of(app) -> Console:
    return app.extensions["bot.console"]


def make_app(clock: Clock | None = None, **settings: str):
    app = create_app(base_settings(BOT_OPERATORS=OPERATORS, **settings))
    console = console_of(app)
    console.sweeper.stop()  # the tests sweep when they choose
    if clock is not None:
        console.clock = clock
    return app


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(clock):
    return make_app(clock)


@pytest.fixture
def client(app):
    return app.test_client()


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page)[1]


def sign_in(client, name: str = "ana", password: str = PASSWORD, next_page: str = "", **request):
    token = csrf_of(client.get("/console/login", **request).text)
    url = f"/console/login?next={next_page}" if next_page else "/console/login"
    form = {"name": name, "password": password, "csrf": token}
    return client.post(url, data=form, **request)


def signed_in(app):
    client = app.test_client()
    assert sign_in(client).status_code == 303
    return client


def token(client) -> str:
    return csrf_of(client.get("/console").text)


def seam(app):
    with app.app_context():
        return answering()


def state_of(app, sender: str = SENDER):
    return people.read_state(seam(app).pipeline.store, sender)


def history_of(app, sender: str = SENDER) -> list[Exchange]:
    return seam(app).pipeline.store.history(sender)


def heard(app, key: str = CONSOLE_KEY) -> list[dict]:
    """The frames published to `key` from now on."""
    frames: list[dict] = []
    console_of(app).hub.subscribe(key, lambda text: frames.append(json.loads(text)))
    return frames


# -- no operator, no console -------------------------------------------------------------


def test_without_operators_every_console_url_is_404():
    client = create_app(base_settings()).test_client()
    for path in [
        "/console",
        "/console/",
        "/console/login",
        "/console/overview",
        "/console/conversations.json",
        f"/console/c/{ref_for(SENDER)}",
        "/console/static/console.js",
    ]:
        assert client.get(path).status_code == 404, path
    assert client.post("/console/login", data={"name": "ana"}).status_code == 404


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("ana", "entry 1 of 1 has no '='"),
        (f"ana={HASH},bob", "entry 2 of 2 has no '='"),
        ("ana=secret", "entry 1 of 1 has a password hash that is not one werkzeug"),
        (f"=={HASH}", "entry 1 of 1 has a name that is empty or not plain"),
        (f"an a={HASH}", "entry 1 of 1 has a name that is empty or not plain"),
        (f"ana={HASH},ana={HASH}", "entry 2 of 2 names the operator 'ana' a second time"),
    ],
)
def test_a_malformed_operator_list_stops_start_up_naming_the_setting(value, problem):
    with pytest.raises(ConfigError) as raised:
        create_app(base_settings(BOT_OPERATORS=value))
    message = str(raised.value)
    assert message.startswith("BOT_OPERATORS: ")
    assert problem in message
    assert "hash-password" in message
    assert HASH not in message  # no hash in a log


def test_operators_are_parsed_with_either_kind_of_hash():
    scrypt = generate_password_hash("x" * 12)
    assert parse_operators(f" ana={HASH} , bob.b-1={scrypt} ,") == {"ana": HASH, "bob.b-1": scrypt}
    assert parse_operators(" ") == {}


def test_hash_password_prints_an_entry_to_paste(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["console", "hash-password", "ana"], input="a long password\n" * 2)
    assert result.exit_code == 0, result.output
    entry = next(line for line in result.stdout.splitlines() if line.startswith("ana="))
    assert "a long password" not in result.output  # not echoed
    assert check_password_hash(parse_operators(entry)["ana"], "a long password")
    short = runner.invoke(args=["console", "hash-password", "ana"], input="short\nshort\n")
    assert short.exit_code != 0
    assert "12 characters" in short.output
    bad = runner.invoke(args=["console", "hash-password", "a b"], input="")
    assert bad.exit_code != 0


def test_hash_password_works_before_any_operator_exists():
    runner = create_app(base_settings()).test_cli_runner()
    result = runner.invoke(args=["console", "hash-password", "sam"], input="another password\n" * 2)
    assert result.exit_code == 0
    assert "sam=scrypt:" in result.stdout


# -- sign-in, the session, CSRF ----------------------------------------------------------


def test_no_session_redirects_pages_and_refuses_the_socket_and_json(client):
    for path in ["/console", f"/console/c/{ref_for(SENDER)}", "/console/overview"]:
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/console/login?next=/console")
    assert client.get("/console/conversations.json").status_code == 401
    upgrade = {"Upgrade": "websocket", "Connection": "Upgrade", "Origin": "http://localhost"}
    assert client.get("/console/ws", headers=upgrade).status_code == 401
    # A form sent without a session (it ended) goes to the sign-in page.
    form = client.post(f"/console/c/{ref_for(SENDER)}/reply", data={"text": "hi"})
    assert form.status_code == 303
    assert form.headers["Location"] == "/console/login"


def test_signing_in_goes_where_the_operator_was_going(client):
    response = sign_in(client, next_page=f"/console/c/{ref_for(SENDER)}")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/console/c/{ref_for(SENDER)}"
    assert client.get("/console").status_code == 200
    assert client.get("/console/conversations.json").json == {"rows": []}


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example", "/consolex", ""])
def test_signing_in_never_leads_off_the_console(client, target):
    response = sign_in(client, next_page=target)
    assert response.headers["Location"] in {"/console", "/console/"}


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(client):
    for name, password in [("ana", "wrong password"), ("nobody", PASSWORD)]:
        response = sign_in(client, name, password)
        assert response.status_code == 401
        assert "Wrong name or password." in response.text
    assert client.get("/console").status_code == 302


def test_the_session_cookie_is_httponly_strict_and_scoped(client):
    response = sign_in(client)
    [cookie] = response.headers.getlist("Set-Cookie")
    assert cookie.startswith("bot_console=")
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert "Path=/console" in cookie
    assert "Secure" not in cookie  # plain http on loopback: a Secure cookie would be lost


def test_the_session_cookie_is_secure_over_https(app):
    client = app.test_client()
    [cookie] = sign_in(client, base_url="https://localhost").headers.getlist("Set-Cookie")
    assert "Secure" in cookie


def test_the_session_cookie_is_secure_when_the_public_url_is_https(clock):
    client = make_app(clock, BOT_PUBLIC_URL=PUBLIC).test_client()
    [cookie] = client.get("/console/login").headers.getlist("Set-Cookie")
    assert "Secure" in cookie


def test_signing_in_rotates_the_session(app):
    client = app.test_client()
    before = csrf_of(client.get("/console/login").text)
    stolen = client.get_cookie("bot_console", path="/console").value
    assert sign_in(client).status_code == 303
    assert token(client) != before
    # The cookie from before signing in (say, planted by someone) opens nothing.
    other = app.test_client()
    other.set_cookie("bot_console", stolen, path="/console")
    assert other.get("/console").status_code == 302


def test_signing_out_ends_the_session(app):
    client = signed_in(app)
    assert client.post("/console/logout", data={"csrf": token(client)}).status_code == 303
    assert client.get("/console").status_code == 302


def test_a_new_password_ends_the_operators_sessions(clock, tmp_path):
    store = f"sqlite:///{tmp_path}/bot.db"
    old = make_app(clock, BOT_STORE_URL=store)
    client = signed_in(old)
    cookie = client.get_cookie("bot_console", path="/console").value
    renewed = create_app(
        base_settings(
            BOT_STORE_URL=store,
            BOT_OPERATORS=f"ana={generate_password_hash('new password!!', method='pbkdf2')}",
        )
    )
    later = renewed.test_client()
    later.set_cookie("bot_console", cookie, path="/console")
    assert later.get("/console").status_code == 302


def test_a_sign_in_lasts_twelve_hours(app, clock):
    client = signed_in(app)
    clock.advance(12 * 3600 - 1)
    assert client.get("/console").status_code == 200
    clock.advance(2)
    assert client.get("/console").status_code == 302


def test_every_form_needs_the_sessions_csrf_token(app):
    client = signed_in(app)
    ref = ref_for(SENDER)
    for path in [f"/console/c/{ref}/reply", f"/console/c/{ref}/return", "/console/logout"]:
        assert client.post(path, data={"text": "hi"}).status_code == 403, path
        assert client.post(path, data={"text": "hi", "csrf": "forged"}).status_code == 403, path
    # Another operator's token, from another session, is no good either.
    other = signed_in(app)
    assert client.post(f"/console/c/{ref}/reply", data={"csrf": token(other)}).status_code == 403
    assert client.get("/console").status_code == 200  # still signed in


def test_the_sign_in_form_needs_its_csrf_token_too(client):
    response = client.post("/console/login", data={"name": "ana", "password": PASSWORD})
    assert response.status_code == 403


def test_a_form_from_another_site_is_refused(app):
    client = signed_in(app)
    form = {"text": "hi", "csrf": token(client)}
    response = client.post(
        f"/console/c/{ref_for(SENDER)}/reply", data=form, headers={"Origin": "https://evil.example"}
    )
    assert response.status_code == 403


def test_a_foreign_host_is_refused(client):
    assert client.get("/console/login", headers={"Host": "evil.example"}).status_code == 403


def test_console_pages_are_not_cached_framed_or_scripted_from_elsewhere(app):
    client = signed_in(app)
    response = client.get("/console")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy


# -- the lock-out ------------------------------------------------------------------------


def test_five_wrong_passwords_lock_the_name_even_for_the_right_one(client, clock):
    for attempt in range(4):
        assert sign_in(client, password=f"wrong {attempt}").status_code == 401
        clock.advance(60)
    fifth = sign_in(client, password="wrong 5")
    assert fifth.status_code == 429
    # Locked until the first of the five is 15 minutes old: 11 minutes from now.
    assert (
        "Locked after 5 failed sign-ins within 15 minutes: try again in 11 minutes." in fifth.text
    )
    # The right password now gets the same answer: it says nothing about the password.
    right = sign_in(client)
    assert right.status_code == 429
    assert "try again in 11 minutes" in right.text
    assert "Wrong name or password" not in right.text
    clock.advance(10 * 60)
    assert "try again in 1 minute." in sign_in(client).text
    clock.advance(60)
    assert sign_in(client).status_code == 303
    assert client.get("/console").status_code == 200


def test_failures_spread_over_more_than_fifteen_minutes_do_not_lock(client, clock):
    for attempt in range(8):
        assert sign_in(client, password=f"wrong {attempt}").status_code == 401
        clock.advance(4 * 60)
    assert sign_in(client).status_code == 303


def test_a_successful_sign_in_starts_the_count_again(client, clock):
    for attempt in range(4):
        sign_in(client, password=f"wrong {attempt}")
    assert sign_in(client).status_code == 303
    other = client.application.test_client()  # this one is signed in now
    for attempt in range(4):
        assert sign_in(other, password=f"wrong again {attempt}").status_code == 401


def test_a_name_that_is_no_operators_locks_the_same_way(client):
    for attempt in range(5):
        response = sign_in(client, "mallory", f"guess {attempt}")
    assert response.status_code == 429
    assert "try again in 15 minutes" in response.text
    assert sign_in(client).status_code == 303  # another name is not locked


@pytest.fixture(params=["sqlite", "redis"])
def shared_store(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/bot.db"
    return request.getfixturevalue("redis_url")


def test_the_lock_out_holds_across_workers_and_hosts(shared_store, clock):
    """Two apps on one store are two workers (SQLite) or two hosts (Redis)."""
    first = make_app(clock, BOT_STORE_URL=shared_store).test_client()
    second = make_app(clock, BOT_STORE_URL=shared_store).test_client()
    for attempt in range(5):
        client = first if attempt % 2 else second
        sign_in(client, password=f"wrong {attempt}")
    for client in (first, second):
        response = sign_in(client)
        assert response.status_code == 429
        assert "try again in 15 minutes" in response.text
    clock.advance(15 * 60)
    assert sign_in(first).status_code == 303


# -- the list, a history, and what users wrote ---------------------------------------------

XSS = [
    "<script>window.pwned=1</script>",
    "<img src=x onerror=window.pwned=1>",
    "<svg onload=window.pwned=1>",
    "<svg><script>window.pwned=1</script></svg>",
    '"><script>window.pwned=1</script>',
    "'><img src=x onerror=window.pwned=1>",
    "javascript:window.pwned=1",
    '<a href="javascript:window.pwned=1">click</a>',
    "<iframe src=javascript:window.pwned=1></iframe>",
    "<body onload=window.pwned=1>",
    "<details open ontoggle=window.pwned=1>",
    "<input autofocus onfocus=window.pwned=1>",
    "<math><mtext><table><mglyph><style><img src=x onerror=window.pwned=1>",
    "<scr<script>ipt>window.pwned=1</scr</script>ipt>",
    "&lt;script&gt;window.pwned=1&lt;/script&gt;",
    "<!--<img src=x onerror=window.pwned=1>-->",
    "<style>*{display:none}</style>",
    "{{7*7}} ${7*7} <%= 7*7 %>",
    "<marquee onstart=window.pwned=1>",
    '"onmouseover=window.pwned=1 x="',
    "<object data=javascript:window.pwned=1>",
    "<video><source onerror=window.pwned=1>",
]


def test_what_users_wrote_is_text_in_the_list_and_the_history(app):
    client = app.test_client()
    senders = []
    for number, payload in enumerate(XSS):
        sender = f"whatsapp:+1415555{number:04d}"
        senders.append(sender)
        post_whatsapp(client, payload, From=sender)
    operator = signed_in(app)
    listing = operator.get("/console").text
    for payload in XSS:
        assert payload not in listing or "<" not in payload
    for sender, payload in zip(senders, XSS, strict=True):
        page = operator.get(f"/console/c/{ref_for(sender)}").text
        escaped = (
            payload.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&#34;").replace("'", "&#39;")
        )  # fmt: skip
        assert escaped in page, payload
        if "<" in payload:
            assert payload not in page


def test_the_list_puts_people_waiting_first_with_the_longest_wait_first(app, clock):
    client = app.test_client()
    post_whatsapp(client, "hello", From="whatsapp:+14155550001")
    clock.advance(60)
    post_whatsapp(client, "talk to a person", From="whatsapp:+14155550002")
    post_whatsapp(client, "talk to a person", From="whatsapp:+14155550003")
    post_whatsapp(client, "hi again", From="whatsapp:+14155550004")
    rows = signed_in(app).get("/console/conversations.json").json["rows"]
    order = [(row["label"], row["with_person"]) for row in rows]
    assert order[:2] == [("+14155550002", True), ("+14155550003", True)]
    assert sorted(order[2:]) == [("+14155550001", False), ("+14155550004", False)]
    page = signed_in(app).get("/console").text
    assert page.index("+14155550002") < page.index("+14155550003") < page.index("+14155550004")
    assert '<span id="waiting">2</span> waiting for a person' in page


def test_a_history_shows_intents_confidences_and_replies(app):
    client = app.test_client()
    post_whatsapp(client, "what can you do")
    post_whatsapp(client, "talk to a person")
    page = signed_in(app).get(f"/console/c/{ref_for(SENDER)}").text
    assert 'intent <b class="intent">help</b>' in page
    assert 'intent <b class="intent">human</b>' in page
    assert re.search(r'confidence <span class="confidence">\d\.\d\d</span>', page)
    assert "Here&#39;s what I can do" in page
    assert "With a person since" in page
    assert 'id="return" class="return"' in page
    assert 'id="return" class="return" method="post" action' in page


def test_an_unknown_ref_is_404(app):
    client = signed_in(app)
    assert client.get("/console/c/not-base64!").status_code == 404
    assert sender_for(ref_for(SENDER)) == SENDER
    assert sender_for("") is None
    assert sender_for("%%%") is None


# -- replies -----------------------------------------------------------------------------


@pytest.fixture
def twilio_app(upstream, clock):
    """An app whose Twilio API is a local fake, with a public https URL for the callbacks."""
    base = upstream.url_for("").rstrip("/")
    app = create_app(live_settings(base, BOT_OPERATORS=OPERATORS, BOT_PUBLIC_URL=PUBLIC))
    console = console_of(app)
    console.sweeper.stop()
    console.clock = clock
    seam(app).followups.sleep = lambda _seconds: None
    return app


def sent_to_twilio(upstream) -> list[dict[str, str]]:
    return [request.form.to_dict() for request, _ in upstream.log if request.path == MESSAGES]


def hand_over(app, sender: str = SENDER) -> None:
    client = app.test_client()
    assert HANDOVER in reply_text(
        post_whatsapp(client, "talk to a person", From=sender, url=BOT_URL)
    )


def post_status(client, sid: str, status: str, code: str = "") -> None:
    form = status_callback_form(sid, status, ErrorCode=code or None)
    signature = RequestValidator(TOKEN).compute_signature(f"{PUBLIC}/status", form)
    response = client.post("/status", data=form, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 204


def test_a_reply_reaches_a_whatsapp_user_through_twilio_with_its_status_callback(
    twilio_app, upstream, clock
):
    upstream.expect_request(MESSAGES, method="POST").respond_with_handler(twilio_created)
    hand_over(twilio_app)
    frames = heard(twilio_app)
    operator = signed_in(twilio_app)
    clock.advance(120)
    ref = ref_for(SENDER)
    response = operator.post(
        f"/console/c/{ref}/reply", data={"text": "Hi, I'm Ana 👋", "csrf": token(operator)}
    )
    assert response.status_code == 303
    [sent] = sent_to_twilio(upstream)
    assert sent == {
        "To": SENDER,
        "From": BOT_NUMBER,
        "Body": "Hi, I'm Ana 👋",
        "StatusCallback": f"{PUBLIC}/status",
    }
    sid = "SM" + "f" * 32  # what the fake answers
    kept = history_of(twilio_app)[-1]
    assert (kept.message_id, kept.channel, kept.intent, kept.text) == (
        sid,
        "operator",
        "operator",
        "ana",
    )
    assert [reply.text for reply in kept.replies] == ["Hi, I'm Ana 👋"]
    assert state_of(twilio_app).human_seen == clock.now
    assert frames[-1]["kind"] == "operator"
    assert frames[-1]["replies"] == ["Hi, I'm Ana 👋"]

    page = operator.get(f"/console/c/{ref}").text
    assert "Sent." in page
    assert f'data-sid="{sid}">queued</span>' in page
    post_status(operator, sid, "delivered")
    post_status(operator, sid, "read")
    assert f'data-sid="{sid}">read</span>' in operator.get(f"/console/c/{ref}").text


def test_a_reply_outside_the_24_hour_window_says_why_and_sends_nothing(twilio_app, upstream, clock):
    hand_over(twilio_app)
    clock.advance(24 * 3600 + 1)
    operator = signed_in(twilio_app)
    ref = ref_for(SENDER)
    page = operator.get(f"/console/c/{ref}").text
    assert "Outside WhatsApp&#39;s 24-hour window" in page
    assert "63016" in page
    assert re.search(r"<textarea[^>]*disabled>", page)
    response = operator.post(
        f"/console/c/{ref}/reply", data={"text": "are you there?", "csrf": token(operator)}
    )
    assert response.status_code == 422
    assert "Twilio error 63016" in response.text
    assert "are you there?</textarea>" in response.text  # the words are kept
    assert sent_to_twilio(upstream) == []


def test_twilios_refusal_is_shown_as_its_reason(twilio_app, upstream):
    upstream.expect_request(MESSAGES, method="POST").respond_with_handler(twilio_error(400, 63016))
    hand_over(twilio_app)
    operator = signed_in(twilio_app)
    response = operator.post(
        f"/console/c/{ref_for(SENDER)}/reply", data={"text": "hello?", "csrf": token(operator)}
    )
    assert response.status_code == 422
    assert "Not sent: more than 24 hours since the user last wrote" in response.text
    assert "(Twilio error 63016)" in response.text
    assert "Traceback" not in response.text
    assert [e.channel for e in history_of(twilio_app)] == ["whatsapp"]  # nothing kept


def test_an_empty_or_too_long_reply_is_refused(twilio_app):
    hand_over(twilio_app)
    operator = signed_in(twilio_app)
    url = f"/console/c/{ref_for(SENDER)}/reply"
    empty = operator.post(url, data={"text": "  ", "csrf": token(operator)})
    assert empty.status_code == 422
    assert "Write something first." in empty.text
    long = operator.post(url, data={"text": "x" * 1601, "csrf": token(operator)})
    assert long.status_code == 422
    assert "WhatsApp takes 1600 at most" in long.text


def test_a_reply_reaches_a_web_chat_user_through_the_hub(app):
    seam(app).answer(Message("web", WEB_USER, body="talk to a person", message_id="web-1"))
    frames = heard(app, WEB_USER)
    operator = signed_in(app)
    response = operator.post(
        f"/console/c/{ref_for(WEB_USER)}/reply",
        data={"text": "<b>hello</b> from a person", "csrf": token(operator)},
    )
    assert response.status_code == 303
    [frame] = frames
    assert frame["type"] == "message"
    assert frame["text"] == "<b>hello</b> from a person"
    assert frame["understood"] is None
    kept = history_of(app, WEB_USER)[-1]
    assert kept.channel == "operator"
    assert kept.text == "ana"


def test_writing_to_a_user_the_bot_has_takes_the_conversation(app, clock):
    post_whatsapp(app.test_client(), "hello")
    assert not state_of(app).with_person
    seam(app).followups = None  # no Twilio credentials here: WhatsApp replies cannot go
    operator = signed_in(app)
    page = operator.get(f"/console/c/{ref_for(SENDER)}").text
    assert "TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are not both set" in page
    seam(app).answer(Message("web", WEB_USER, body="hello", message_id="web-2"))
    operator.post(
        f"/console/c/{ref_for(WEB_USER)}/reply", data={"text": "hi", "csrf": token(operator)}
    )
    assert state_of(app, WEB_USER).human_since == clock.now


# -- return to bot, and the idle sweep -----------------------------------------------------


def test_return_to_bot_tells_the_user_and_the_bot_answers_again(twilio_app, upstream, clock):
    upstream.expect_request(MESSAGES, method="POST").respond_with_handler(twilio_created)
    hand_over(twilio_app)
    user = twilio_app.test_client()
    assert (
        reply_text(post_whatsapp(user, "hello?", url=BOT_URL)) == ""
    )  # a person has it: the bot is quiet
    frames = heard(twilio_app)
    operator = signed_in(twilio_app)
    response = operator.post(f"/console/c/{ref_for(SENDER)}/return", data={"csrf": token(operator)})
    assert response.status_code == 303
    assert not state_of(twilio_app).with_person
    back = history_of(twilio_app)[-1]
    assert (back.channel, back.intent, back.text) == ("operator", "return-to-bot", "ana")
    [told] = sent_to_twilio(upstream)
    assert told["To"] == SENDER
    assert told["Body"] == back.replies[0].text
    assert frames[-1]["type"] == "returned"
    assert frames[-1]["with_person"] is False
    assert "Here's what I can do" in reply_text(post_whatsapp(user, "help", url=BOT_URL))
    # Twice is once: the bot has it already.
    again = operator.post(f"/console/c/{ref_for(SENDER)}/return", data={"csrf": token(operator)})
    assert "The bot has this conversation already." in operator.get(again.headers["Location"]).text


def test_the_idle_sweep_returns_quiet_conversations_and_tells_the_user(twilio_app, upstream, clock):
    upstream.expect_request(MESSAGES, method="POST").respond_with_handler(twilio_created)
    console = console_of(twilio_app)
    hand_over(twilio_app)
    hand_over(twilio_app, "whatsapp:+14155550999")
    clock.advance(20 * 60)
    operator = signed_in(twilio_app)
    operator.post(
        f"/console/c/{ref_for(SENDER)}/reply", data={"text": "looking", "csrf": token(operator)}
    )
    clock.advance(11 * 60)  # 31 minutes after the handovers, 11 after the reply
    assert people.sweep_idle(console) == 1
    assert state_of(twilio_app).with_person  # a person wrote 11 minutes ago
    quiet = state_of(twilio_app, "whatsapp:+14155550999")
    assert not quiet.with_person
    idle = history_of(twilio_app, "whatsapp:+14155550999")[-1]
    assert (idle.intent, idle.text) == ("return-to-bot", "")
    told = sent_to_twilio(upstream)[-1]
    assert told["To"] == "whatsapp:+14155550999"
    assert told["Body"] == idle.replies[0].text
    assert people.sweep_idle(console) == 0  # nothing twice
    clock.advance(20 * 60)
    assert people.sweep_idle(console) == 1
    assert not state_of(twilio_app).with_person


def test_the_sweep_runs_on_a_thread_of_its_own_started_by_a_request(clock):
    app = create_app(base_settings(BOT_OPERATORS=OPERATORS))
    console = console_of(app)
    swept = threading.Event()
    console.sweeper.every = 0.01
    console.sweeper.sweep = lambda: swept.set() or 0
    try:
        app.test_client().get("/health")
        assert swept.wait(10)
        names = [thread.name for thread in threading.enumerate()]
        assert names.count("console-idle-sweep") >= 1
    finally:
        console.sweeper.stop()


# -- the live frames ---------------------------------------------------------------------


def test_each_handled_message_and_each_handoff_is_published_to_consoles(app, clock):
    frames = heard(app)
    client = app.test_client()
    post_whatsapp(client, "what can you do")
    post_whatsapp(client, "talk to a person")
    first, second, handoff = frames
    assert {k: first[k] for k in ("type", "kind", "sender", "channel", "text", "intent")} == {
        "type": "message",
        "kind": "user",
        "sender": SENDER,
        "channel": "whatsapp",
        "text": "what can you do",
        "intent": "help",
    }
    assert first["time"] == clock.now
    assert first["with_person"] is False
    assert 0 < first["confidence"] <= 1
    assert second["intent"] == "human"
    assert second["with_person"] is True
    assert handoff == {
        "type": "handoff",
        "sender": SENDER,
        "ref": ref_for(SENDER),
        "label": "+14155550123",
        "channel": "whatsapp",
        "time": second["human_since"],
        "with_person": True,
        "human_since": second["human_since"],
    }


def test_forget_me_takes_the_user_off_the_list(app):
    frames = heard(app)
    client = app.test_client()
    post_whatsapp(client, "hello")
    post_whatsapp(client, "forget me")
    assert frames[-1] == {"type": "forgotten", "sender": SENDER, "ref": ref_for(SENDER)}


# -- the overview ------------------------------------------------------------------------


def test_the_overview_draws_its_charts_inline_and_escapes_what_users_wrote(app):
    client = app.test_client()
    post_whatsapp(client, "<img src=x onerror=window.pwned=1> call +44 20 7946 0958")
    post_whatsapp(client, "<img src=x onerror=window.pwned=1> call +1 415 555 0000")
    post_whatsapp(client, "what can you do")
    post_whatsapp(client, "talk to a person")
    response = signed_in(app).get("/console/overview")
    page = response.text
    assert response.status_code == 200
    nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"])[1]
    assert page.count("<svg") == 5
    assert page.count(f'<style type="text/css" nonce="{nonce}">') == 5
    assert "<script" not in page  # pygal's scripts are dropped
    assert "<td>2</td><td>&lt;img src=x onerror=window.pwned=1&gt; call &lt;number&gt;</td>" in page
    assert "<img" not in page
    assert "Messages per hour, last 24 hours" in page
    assert "/metrics histogram" in page


def test_the_figures_count_what_report_counts(clock):
    def exchange(at, text, intent, channel="whatsapp"):
        return Exchange("id", at, channel, text, intent, 0.9, ())

    now = START
    counted = figures.figures(
        [
            exchange(now - 60, "hello", "greet"),
            exchange(now - 3600, "blah", None),
            exchange(now - 3 * 86400, "Blah!", None),
            exchange(now - 120, "talk to a person", "human"),
            exchange(now - 30, "ana", "operator", channel="operator"),
            exchange(now - 30 * 86400, "old", "greet"),
        ],
        now,
        ZoneInfo("UTC"),
    )
    assert counted.messages == 5
    assert counted.fallbacks == 2
    assert counted.fallback_rate == 0.4
    assert counted.unmatched == [("blah", 2)]
    assert counted.handoffs == 1
    assert counted.operator_messages == 1
    assert sum(n for _, n in counted.per_hour) == 3
    assert sum(n for _, n in counted.per_day) == 4  # the 30-day-old one is not in 14 days
    assert len(counted.per_hour) == 24
    assert len(counted.per_day) == 14


def test_the_median_comes_from_the_histogram_buckets():
    assert figures.median_of([]).median is None
    buckets = [(0.1, 0.0), (0.25, 4.0), (0.5, 10.0), (float("inf"), 10.0)]
    latency = figures.median_of(buckets)
    assert latency.messages == 10
    assert latency.median == pytest.approx(0.25 + 0.25 * (1 / 6))
    assert figures.median_of([(0.1, 1.0), (float("inf"), 3.0)]).median == 0.1
