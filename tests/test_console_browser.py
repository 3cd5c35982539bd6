"""The console in a real browser: headless Chromium (Debian's package) driven by Playwright,
against the Procfile's gunicorn with two workers and a SQLite store, Twilio's Messages API
played by a local fake. An operator signs in, watches the list fill live, reads users'
words (classic XSS payloads among them) as text, replies to a WhatsApp user (the fake gets
the StatusCallback; the callbacks then mark it delivered and read on the open page), returns
the conversation to the bot, and opens the overview. Screenshots at phone and desktop size
go to tmp_path and are copied to /tmp/console-shots/ for people to look at.
"""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path

import requests
from twilio.request_validator import RequestValidator
from werkzeug import Request, Response

from tests.conftest import ACCOUNT, BOT_NUMBER, SENDER, TOKEN, status_callback_form
from tests.helpers import closed_port
from tests.servers import Server
from tests.test_console import HANDOVER, OPERATORS, PASSWORD, XSS
from tests.test_followups import MESSAGES
from tests.test_webchat_browser import DESKTOP, PHONE

SHOTS = Path("/tmp/console-shots")  # noqa: S108 -- where the integrator looks at them
_sids = itertools.count(1)


def twilio_accepts(request: Request) -> Response:
    # Not shaped like the test's inbound MessageSids (SM000…1): Twilio's never collide.
    body = {"sid": f"SMfa{next(_sids):030x}", "status": "queued", "to": request.form.get("To")}
    return Response(json.dumps(body), status=201, content_type="application/json")


def sent(upstream) -> list[dict[str, str]]:
    return [request.form.to_dict() for request, _ in upstream.log if request.path == MESSAGES]


def callback(server: Server, sid: str, status: str) -> None:
    """Twilio's StatusCallback for message `sid`, signed for the server's public URL."""
    form = status_callback_form(sid, status)
    url = f"{server.base}/status"
    signature = RequestValidator(TOKEN).compute_signature(url, form)
    answer = requests.post(url, data=form, headers={"X-Twilio-Signature": signature}, timeout=5)
    assert answer.status_code == 204


def shoot(page, folder: Path, name: str) -> None:
    """A screenshot at phone size (the whole page) and at desktop size."""
    for size, suffix in ((PHONE, "phone"), (DESKTOP, "desktop")):
        page.set_viewport_size(size)
        page.screenshot(path=str(folder / f"console-{name}-{suffix}.png"), full_page=True)
        if size is PHONE:
            width = page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{name} is wider than a phone"
    SHOTS.mkdir(exist_ok=True)
    for shot in folder.glob(f"console-{name}-*.png"):
        shutil.copy(shot, SHOTS / shot.name)


def sign_in(page, base: str) -> None:
    page.goto(f"{base}/console")
    assert "/console/login" in page.url
    page.get_by_label("Name").fill("ana")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("status").filter(has_text="live").wait_for(timeout=10_000)


def row(page, label: str):
    return page.locator("#conversations li.row", has=page.locator(".who", has_text=label))


def test_an_operator_works_a_conversation_in_the_browser(browser, upstream, tmp_path):
    upstream.expect_request(MESSAGES, method="POST").respond_with_handler(twilio_accepts)
    port = closed_port()
    server = Server(
        port=port,
        BOT_STORE_URL=f"sqlite:///{tmp_path}/bot.db",
        BOT_OPERATORS=OPERATORS,
        BOT_PUBLIC_URL=f"http://127.0.0.1:{port}",
        TWILIO_ACCOUNT_SID=ACCOUNT,
        TWILIO_API_URL=upstream.url_for("").rstrip("/"),
    )
    try:
        page = browser.new_page(viewport=DESKTOP)
        sign_in(page, server.base)
        assert page.locator("#empty").is_visible()

        # The list fills as messages arrive, whichever worker answers them.
        server.say("hello there")
        row(page, "+14155550123").locator(".last", has_text="hello there").wait_for()
        assert HANDOVER in server.say("talk to a person")
        row(page, "+14155550123").and_(page.locator(".waiting")).wait_for()
        assert page.locator("#waiting").inner_text() == "1"
        assert page.title().startswith("(1) ")  # seen from a tab in the background

        # What users wrote is text, in the list (live, then after a reload) and each history.
        senders = [f"+1415555{number:04d}" for number in range(len(XSS))]
        for number, payload in zip(senders, XSS, strict=True):
            server.say(payload, From=f"whatsapp:{number}")
        row(page, senders[-1]).wait_for()
        page.wait_for_function(
            "count => document.querySelectorAll('#conversations li.row').length === count",
            arg=len(XSS) + 1,
        )
        for reload in (False, True):
            if reload:
                page.reload()
            for number, payload in zip(senders, XSS, strict=True):
                assert row(page, number).locator(".last").text_content() == payload
        assert (
            page.locator("#conversations")
            .locator("img, script, svg, iframe, b, a[href^=javascript]")
            .count()
            == 0
        )
        # The one waiting for a person stays on top, the rest by their last message.
        assert (
            page.locator("#conversations li.row").first.locator(".who").inner_text()
            == "+14155550123"
        )
        shoot(page, tmp_path, "list")
        page.set_viewport_size(DESKTOP)

        for number, payload in zip(senders[:6], XSS[:6], strict=True):
            row(page, number).locator("a").click()
            page.locator("#history .bubble.user .text").first.wait_for()
            assert page.locator("#history .bubble.user .text").first.text_content() == payload
            assert page.locator("#history .text").locator("img, script, svg, iframe").count() == 0
            page.go_back()
        assert page.evaluate("() => window.pwned") is None

        # The operator replies to the WhatsApp user who asked for a person.
        row(page, "+14155550123").locator("a").click()
        page.get_by_role("status").filter(has_text="live").wait_for()
        assert "With a person since" in page.locator("#person").inner_text()
        page.get_by_label("Reply to +14155550123").fill("Hi, I'm Ana from the team 👋")
        page.get_by_role("button", name="Send").click()
        page.locator(".flash.done", has_text="Sent.").wait_for()
        [reply] = sent(upstream)
        assert reply["To"] == SENDER
        assert reply["From"] == BOT_NUMBER
        assert reply["Body"] == "Hi, I'm Ana from the team 👋"
        assert reply["StatusCallback"] == f"{server.base}/status"
        operator = page.locator("#history li.operator").last
        assert "operator ana" in operator.inner_text()
        sid = operator.get_attribute("data-id")
        page.get_by_role("status").filter(has_text="live").wait_for()
        # Twilio's callbacks move it along on the open page.
        callback(server, sid, "sent")
        callback(server, sid, "delivered")
        callback(server, sid, "read")
        page.locator(f'[data-sid="{sid}"].read').wait_for(timeout=15_000)

        # The user writes back: the bot stays quiet, the page shows it.
        assert server.say("thanks, <b>Ana</b>!") == ""
        page.locator("#history .bubble.user .text", has_text="thanks, <b>Ana</b>!").wait_for(
            timeout=15_000
        )
        shoot(page, tmp_path, "history")
        page.set_viewport_size(DESKTOP)

        # Back to the bot: the user is told, and the bot answers again.
        page.get_by_role("button", name="Return to bot").click()
        page.locator(".flash.done", has_text="The bot has the conversation again.").wait_for()
        assert page.locator("#person").inner_text() == "The bot answers this conversation."
        assert not page.locator("#return").is_visible()
        told = sent(upstream)[-1]
        assert told["To"] == SENDER
        assert told["StatusCallback"] == f"{server.base}/status"
        assert "Here's what I can do" in server.say("help")

        page.get_by_role("link", name="Overview").click()
        page.locator(".charts svg").first.wait_for()
        assert page.locator(".charts svg").count() == 5
        assert page.locator(".charts script").count() == 0
        assert page.evaluate("() => window.pwned") is None
        shoot(page, tmp_path, "overview")
        page.close()
    finally:
        server.stop()
    for name in ("list", "history", "overview"):
        for size in ("phone", "desktop"):
            assert (tmp_path / f"console-{name}-{size}.png").stat().st_size > 5000


def test_a_web_chat_user_is_handed_to_an_operator_and_back(browser, tmp_path):
    from tests.test_webchat_browser import last_bot_reply, send, wait_online

    server = Server(BOT_STORE_URL=f"sqlite:///{tmp_path}/bot.db", BOT_OPERATORS=OPERATORS)
    try:
        chat = browser.new_page(viewport=PHONE)
        chat.goto(f"{server.base}/chat")
        wait_online(chat)
        console = browser.new_page(viewport=DESKTOP)
        sign_in(console, server.base)

        send(chat, "can i talk to a person please")
        last_bot_reply(chat, "asked someone from the team")
        waiting = console.locator("#conversations li.row.waiting", has_text="Web chat")
        waiting.wait_for(timeout=15_000)
        # With a person, the bot says nothing and the chat's typing dots stop.
        send(chat, "my order number is 4412")
        chat.locator("li.bubble.you", has_text="4412").wait_for()
        chat.locator("#typing").wait_for(state="hidden")
        waiting.locator("a").click()
        console.locator("#history .bubble.user .text", has_text="4412").wait_for(timeout=15_000)

        console.get_by_label("Reply to").fill("Hi, Ana here: order 4412 leaves today 📦")
        console.get_by_role("button", name="Send").click()
        console.locator(".flash.done", has_text="Sent.").wait_for()
        last_bot_reply(chat, "order 4412 leaves today")

        console.get_by_role("button", name="Return to bot").click()
        console.locator(".flash.done", has_text="The bot has the conversation again.").wait_for()
        last_bot_reply(chat, "You're back with the bot")
        send(chat, "what can you do")
        last_bot_reply(chat, "Here's what I can do")
        console.close()
        chat.close()
    finally:
        server.stop()
