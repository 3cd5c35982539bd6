"""The chat page in a real browser: headless Chromium (Debian's package) driven by Playwright.
Chat, memory, a picture, the developer view, text never turned into HTML, a phone-sized
screen, and reconnecting after the server restarts. Screenshots go to test-artifacts/."""

from __future__ import annotations

import shutil
import struct
import zlib
from pathlib import Path

import pytest

from tests.conftest import unavailable
from tests.servers import ROOT, Server

ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        unavailable("no Chromium: install Debian's chromium package (.ci/run does)")
    return path


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


@pytest.fixture
def browser():
    executable = chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("Playwright for Python is not installed (requirements-dev.txt has it)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def send(page, text: str) -> None:
    page.get_by_label("Message").fill(text)
    page.get_by_label("Message").press("Enter")


def last_bot_reply(page, containing: str):
    reply = page.locator("li.bubble.bot", has_text=containing).last
    reply.wait_for(timeout=10_000)
    return reply


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
    )
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        page = browser.new_page(viewport={"width": 375, "height": 740})  # a phone
        page.goto(f"{server.base}/chat")
        page.get_by_role("status").filter(has_text="online").wait_for(timeout=10_000)

        send(page, "hi")
        last_bot_reply(page, "")  # any greeting
        send(page, "my name is Ana")
        last_bot_reply(page, "Ana")
        send(page, "what is my name")
        last_bot_reply(page, "Your name is Ana 😊")

        send(page, "dog")
        picture = last_bot_reply(page, "").locator("img")
        picture.wait_for(timeout=10_000)
        page.wait_for_function("() => document.querySelector('li.bot img')?.naturalWidth > 0")
        assert picture.get_attribute("src") == upstream.url_for("/dog.png")

        # The developer view shows what the engine understood under each reply.
        assert not page.locator(".understood").first.is_visible()
        page.get_by_label("Show what the bot understood").check()
        assert "intent: dog" in page.locator("li.bot .understood").last.inner_text()

        # Text is text: markup in a message is shown, never run.
        send(page, "<img src=x onerror=window.pwned=1> <b>bold</b>")
        mine = page.locator("li.bubble.you").last
        assert "<img src=x onerror=window.pwned=1>" in mine.inner_text()
        assert mine.locator("img, b").count() == 0
        last_bot_reply(page, "")
        assert page.evaluate("() => window.pwned") is None

        # Nothing wider than the phone's screen.
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 375
        page.screenshot(path=str(ARTIFACTS / "chat.png"), full_page=True)
    finally:
        server.stop()

    # The server restarts; the page reconnects on its own and the memory is still there.
    restarted = Server(port=server.port, BOT_STORE_URL=f"sqlite:///{tmp_path}/bot.db")
    try:
        page.get_by_role("status").filter(has_text="online").wait_for(timeout=15_000)
        send(page, "what is my name")
        answers = page.locator("li.bubble.bot", has_text="Your name is Ana 😊")
        page.wait_for_function(
            "() => [...document.querySelectorAll('li.bubble.bot')]"
            ".filter(b => b.textContent.includes('Your name is Ana')).length === 2",
            timeout=10_000,
        )
        assert answers.count() == 2
        page.screenshot(path=str(ARTIFACTS / "chat-after-restart.png"))
    finally:
        restarted.stop()
    assert Path(ARTIFACTS / "chat.png").stat().st_size > 1000
