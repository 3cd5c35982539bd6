"""The chat page in a real browser: headless Chromium (Debian's package) driven by Playwright.
Chat, memory, WhatsApp's formatting, a picture and one that does not load, the developer
view, text never turned into HTML, phone and desktop screens, reconnecting after a restart,
and a new id when the server no longer accepts the page's. Screenshots go to tmp_path."""

from __future__ import annotations

import html
import struct
import zlib

import pytest

from channels.webchat_ids import COOKIE, user_id
from tests.servers import ROOT, Server

FORMAT_JS = ROOT / "static" / "format.js"
PHONE = {"width": 375, "height": 740}
DESKTOP = {"width": 1280, "height": 800}
KEY = "browser-test-secret-key"


def png(width: int = 40, height: int = 30) -> bytes:
    """A small, valid, orange PNG."""
    rows = b"".join(b"\x00" + b"\xff\x80\x00" * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def send(page, text: str) -> None:
    page.get_by_label("Message").fill(text)
    page.get_by_label("Message").press("Enter")


def last_bot_reply(page, containing: str):
    reply = page.locator("li.bubble.bot", has_text=containing).last
    reply.wait_for(timeout=10_000)
    return reply


def wait_online(page, timeout: float = 10_000) -> None:
    page.get_by_role("status").filter(has_text="online").wait_for(timeout=timeout)


def shown(nodes: list) -> str:
    """format.js's tree as text, each style as a tag: `<bold>help</bold>`."""
    return "".join(
        node
        if isinstance(node, str)
        else f"<{node['style']}>{shown(node['children'])}</{node['style']}>"
        for node in nodes
    )


FORMATTING = [
    ("*help*", "<bold>help</bold>"),
    ("Type *help* to see", "Type <bold>help</bold> to see"),
    ("_italic_ and ~struck~", "<italic>italic</italic> and <strike>struck</strike>"),
    ("```mono *not bold*```", "<mono>mono *not bold*</mono>"),
    ("```\nlines\n  kept\n```", "<mono>\nlines\n  kept\n</mono>"),
    ("run `pip _install_`", "run <code>pip _install_</code>"),
    ("*bold _and italic_*", "<bold>bold <italic>and italic</italic></bold>"),
    ("_*both*_", "<italic><bold>both</bold></italic>"),
    ("(*bold*), *bold*. *bold*!", "(<bold>bold</bold>), <bold>bold</bold>. <bold>bold</bold>!"),
    ("*Olá* _ação_ ~çà~", "<bold>Olá</bold> <italic>ação</italic> <strike>çà</strike>"),
    ("*hi*👋", "<bold>hi</bold>👋"),
    ("**double**", "*<bold>double</bold>*"),
    # Markers that do not hug their text, or sit inside a word, are text.
    ("2*3*4", "2*3*4"),
    ("snake_case_name", "snake_case_name"),
    ("a * b * c", "a * b * c"),
    ("* not bold*", "* not bold*"),
    ("*not bold *", "*not bold *"),
    ("*bold*text", "*bold*text"),
    ("x*bold*", "x*bold*"),
    ("**", "**"),
    ("* *", "* *"),
    ("``````", "``````"),
    ("*unclosed", "*unclosed"),
    ("*across\nlines*", "*across\nlines*"),
    (
        "https://en.wikipedia.org/wiki/Snake_case_(x)",
        "https://en.wikipedia.org/wiki/Snake_case_(x)",
    ),
    ("<img src=x onerror=alert(1)>", "<img src=x onerror=alert(1)>"),
    ("📚 *b>x</b*: read", "📚 <bold>b>x</b</bold>: read"),
]


def test_whatsapp_formatting(browser):
    page = browser.new_page()
    page.add_script_tag(path=str(FORMAT_JS))
    texts = [text for text, _ in FORMATTING]
    parsed = page.evaluate("texts => texts.map(t => WhatsAppFormat.parse(t))", texts)
    assert [(text, shown(tree)) for text, tree in zip(texts, parsed, strict=True)] == FORMATTING
    # Rendered as elements and text nodes: markup inside a style is still text.
    rendered = page.evaluate(
        """text => {
            const box = document.createElement("div");
            box.append(WhatsAppFormat.format(text));
            document.body.append(box);
            return box.innerHTML;
        }""",
        "*<img src=x onerror=window.pwned=1>* ```<b>x</b>```",
    )
    injection = html.escape("<img src=x onerror=window.pwned=1>", quote=False)
    assert rendered == (
        f'<strong>{injection}</strong> <code class="mono">&lt;b&gt;x&lt;/b&gt;</code>'
    )
    assert page.evaluate("() => window.pwned") is None
    page.close()


def test_chatting_in_the_browser(browser, upstream, tmp_path):
    base = upstream.url_for("").rstrip("/")
    upstream.expect_request("/dog.png").respond_with_data(png(), content_type="image/png")
    upstream.expect_request("/api/breeds/image/random").respond_with_json(
        {"message": upstream.url_for("/dog.png"), "status": "success"}
    )
    server = Server(
        BOT_STORE_URL=f"sqlite:///{tmp_path}/bot.db",
        BOT_OFFLINE="false",
        BOT_UPSTREAM_TIMEOUT="3",
        DOG_API_URL=base,
        SECRET_KEY=KEY,
    )
    try:
        page = browser.new_page(viewport=PHONE)
        page.goto(f"{server.base}/chat")
        wait_online(page)

        send(page, "hi")
        greeting = last_bot_reply(page, "help")
        # WhatsApp's *help* is bold, without its asterisks.
        assert greeting.locator(".text strong").inner_text() == "help"
        assert "*" not in greeting.locator(".text").inner_text()
        send(page, "my name is Ana")
        last_bot_reply(page, "Ana")
        send(page, "what is my name")
        last_bot_reply(page, "Your name is Ana 😊")

        send(page, "dog")
        reply = last_bot_reply(page, "")
        picture = reply.locator(".media img")
        picture.wait_for(timeout=10_000)
        page.wait_for_function("() => document.querySelector('li.bot img')?.naturalWidth > 0")
        assert picture.get_attribute("src") == upstream.url_for("/dog.png")
        assert_below(reply.locator(".text"), reply.locator(".media"))

        # The developer view shows what the engine understood under each reply.
        assert not page.locator(".understood").first.is_visible()
        page.get_by_label("Show what the bot understood").check()
        assert "intent: dog" in page.locator("li.bot .understood").last.inner_text()

        # Text is text: markup in a message is shown, never run, formatted or not.
        send(page, "*<img src=x onerror=window.pwned=1>* _<b>bold</b>_ <i>plain</i>")
        mine = page.locator("li.bubble.you").last
        assert mine.locator("strong").inner_text() == "<img src=x onerror=window.pwned=1>"
        assert mine.locator("em").inner_text() == "<b>bold</b>"
        assert "<i>plain</i>" in mine.inner_text()
        assert mine.locator("img, b, i").count() == 0
        last_bot_reply(page, "")
        send(page, "wiki <b>x</b>")  # the bot puts the title, markup and all, in *bold*
        title = last_bot_reply(page, "Wikipedia").locator("strong")
        assert title.inner_text() == "b>x</b"
        assert page.locator("li.bot b").count() == 0
        assert page.evaluate("() => window.pwned") is None

        # Nothing wider than the phone's screen.
        assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
        page.screenshot(path=str(tmp_path / "chat-phone.png"), full_page=True)
        page.set_viewport_size(DESKTOP)
        page.screenshot(path=str(tmp_path / "chat-desktop.png"))
    finally:
        server.stop()

    # The server restarts; the page reconnects on its own and the memory is still there.
    restarted = Server(
        port=server.port, BOT_STORE_URL=f"sqlite:///{tmp_path}/bot.db", SECRET_KEY=KEY
    )
    try:
        wait_online(page, timeout=15_000)
        send(page, "what is my name")
        answers = page.locator("li.bubble.bot", has_text="Your name is Ana 😊")
        page.wait_for_function(
            "() => [...document.querySelectorAll('li.bubble.bot')]"
            ".filter(b => b.textContent.includes('Your name is Ana')).length === 2",
            timeout=10_000,
        )
        assert answers.count() == 2
        page.screenshot(path=str(tmp_path / "chat-after-restart.png"))
    finally:
        restarted.stop()
    assert (tmp_path / "chat-phone.png").stat().st_size > 1000


def assert_below(upper, lower) -> None:
    """`lower` starts under `upper`'s last line: a block of its own, not on the same line."""
    top, bottom = upper.bounding_box(), lower.bounding_box()
    assert bottom["y"] >= top["y"] + top["height"]


@pytest.mark.parametrize(("screen", "name"), [(PHONE, "phone"), (DESKTOP, "desktop")])
def test_a_picture_that_does_not_load_is_a_link_of_its_own(
    browser, upstream, tmp_path, screen, name
):
    broken = upstream.url_for("/gone.png")
    upstream.expect_request("/gone.png").respond_with_data(b"gone", status=404)
    upstream.expect_request("/api/breeds/image/random").respond_with_json(
        {"message": broken, "status": "success"}
    )
    server = Server(
        BOT_STORE_URL=f"sqlite:///{tmp_path}/bot.db",
        BOT_OFFLINE="false",
        BOT_UPSTREAM_TIMEOUT="3",
        DOG_API_URL=upstream.url_for("").rstrip("/"),
        WEB_CONCURRENCY="1",
    )
    try:
        page = browser.new_page(viewport=screen)
        page.goto(f"{server.base}/chat")
        wait_online(page)
        send(page, "dog")
        link = page.locator("li.bot .media a")
        link.wait_for(timeout=10_000)
        assert link.inner_text() == broken
        assert link.get_attribute("href") == broken
        reply = page.locator("li.bot").last
        assert reply.locator(".media").inner_text() == f"Picture: {broken}"
        assert reply.locator("img").count() == 0
        assert_below(reply.locator(".text"), reply.locator(".media"))
        assert_below(reply.locator(".media"), reply.locator("time"))
        assert page.evaluate("() => document.documentElement.scrollWidth") <= screen["width"]
        page.screenshot(path=str(tmp_path / f"broken-picture-{name}.png"))
    finally:
        server.stop()


def test_the_page_gets_a_new_id_when_the_server_no_longer_accepts_its_own(browser, tmp_path):
    store = f"sqlite:///{tmp_path}/bot.db"
    server = Server(BOT_STORE_URL=store, SECRET_KEY="the-old-key", WEB_CONCURRENCY="1")
    try:
        context = browser.new_context()
        page = context.new_page()
        page.goto(f"{server.base}/chat")
        wait_online(page)
        send(page, "my name is Ana")
        last_bot_reply(page, "Ana")
        (old,) = [c["value"] for c in context.cookies() if c["name"] == COOKIE]
    finally:
        server.stop()

    # A new SECRET_KEY (a local run that made its own, restarted): the old id is refused
    # and the page, with nobody reloading it, asks for a new one and carries on.
    renewed = Server(
        port=server.port, BOT_STORE_URL=store, SECRET_KEY="the-new-key", WEB_CONCURRENCY="1"
    )
    try:
        wait_online(page, timeout=20_000)
        (new,) = [c["value"] for c in context.cookies() if c["name"] == COOKIE]
        assert user_id(old, "the-new-key") is None
        assert user_id(new, "the-new-key") not in {None, user_id(old, "the-old-key")}
        send(page, "what is my name")
        last_bot_reply(page, "I don't know your name yet")
        context.close()
    finally:
        renewed.stop()
