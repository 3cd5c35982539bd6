"""A link on its way through the bot: found in the text (`engine.slots.find_link`), parsed
(`skills.links.parse_link`), judged by the SSRF guard, answered by the link skill. IPv6
literals are links like any other; broken ones get a kind answer, never an exception.

Hypothesis tries URL-ish text; `make fuzz` sets BOT_FUZZ_EXAMPLES=10000.
"""

from __future__ import annotations

import os
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer

from bot import create_app
from engine import ConversationState, Message
from engine.slots import find_link
from ruletools import engine_for, load
from skills.http import UpstreamError
from skills.links import LinkPreviewer, link_host, parse_link
from tests.conftest import base_settings, post_whatsapp, reply_text

EXAMPLES = int(os.environ.get("BOT_FUZZ_EXAMPLES", "100"))
REFUSED = "I don't open links to private or local addresses. 🔒"
UNREADABLE = "That link doesn't look right to me. Could you check it?"


@pytest.mark.parametrize(
    ("text", "link"),
    [
        ("see http://[::1]", "http://[::1]"),
        ("(http://[::1])", "http://[::1]"),
        ("http://[::1]].", "http://[::1]"),
        ("read http://[::ffff:127.0.0.1]!", "http://[::ffff:127.0.0.1]"),
        ("http://[2001:db8::1]:8080/notes.", "http://[2001:db8::1]:8080/notes"),
        # Other closing brackets are still the sentence's, not the link's.
        ("[see http://example.com/a]", "http://example.com/a"),
        ("http://example.com/a]]", "http://example.com/a"),
    ],
)
def test_the_bracket_that_ends_an_ipv6_literal_is_part_of_the_link(text, link):
    assert find_link(text) == link


def test_a_long_run_of_brackets_is_stripped_in_one_pass():
    assert find_link("http://x.org/" + "]" * 60_000) == "http://x.org/"


@pytest.mark.parametrize(
    ("url", "host"),
    [("http://[::1]", "::1"), ("https://[2001:db8::1]:8443/x", "2001:db8::1")],
)
def test_an_ipv6_literal_is_parsed(url, host):
    assert parse_link(url).hostname == host
    assert link_host(url) == host


@pytest.mark.parametrize("url", ["http://[::1", "http://[zz]/", "http://a]b/", "https://[::1/x"])
def test_a_broken_ipv6_literal_is_an_upstream_error(url):
    with pytest.raises(UpstreamError, match="not a valid link"):
        parse_link(url)
    with pytest.raises(UpstreamError, match="not a valid link"):
        LinkPreviewer().preview(url)
    assert link_host(url) == ""


def test_a_port_out_of_range_is_an_upstream_error():
    with pytest.raises(UpstreamError, match="not a valid link"):
        LinkPreviewer().preview("http://[::1]:99999/")


@pytest.fixture
def inside6():
    """A page on the IPv6 loopback standing for something inside the network."""
    server = HTTPServer(host="::1", port=0)
    server.expect_request("/").respond_with_data(
        "<title>internal admin</title>", content_type="text/html"
    )
    server.start()
    yield server
    server.stop()


def test_an_ipv6_loopback_link_is_refused_and_nothing_is_fetched(inside6):
    with pytest.raises(UpstreamError, match="refused"):
        LinkPreviewer().preview(f"http://[::1]:{inside6.port}")
    assert inside6.log == []


def test_an_ipv6_loopback_link_is_read_when_private_links_are_allowed(inside6):
    page = LinkPreviewer(allow_private=True, timeout=1.0).preview(f"http://[::1]:{inside6.port}")
    assert page.title == "internal admin"


# -- through the webhook --------------------------------------------------------------------


def online(**overrides):
    return create_app(base_settings(BOT_OFFLINE="false", **overrides)).test_client()


def test_an_ipv6_link_without_a_slash_is_refused_by_the_guard():
    reply = reply_text(post_whatsapp(online(), "what is http://[::1]"))
    assert reply == f"🔗 *::1*\n{REFUSED}"


def test_an_ipv6_link_is_read_when_private_links_are_allowed(inside6):
    client = online(BOT_ALLOW_PRIVATE_URLS="true", BOT_UPSTREAM_TIMEOUT="1")
    reply = reply_text(post_whatsapp(client, f"look at http://[::1]:{inside6.port}"))
    assert reply == "🔗 *internal admin*\n(no summary on that page)"


@pytest.mark.parametrize(
    ("text", "host"),
    [
        ("http://[::1", "that link"),
        ("see http://[zz]/ please", "that link"),
        ("http://a]b", "that link"),
        ("http://[::1]:99999/", "::1"),
    ],
)
def test_a_broken_link_gets_a_polite_reply(text, host):
    assert reply_text(post_whatsapp(online(), text)) == f"🔗 *{host}*\n{UNREADABLE}"
    offline = reply_text(post_whatsapp(create_app(base_settings()).test_client(), text))
    assert offline == f"🔗 *{host}*\nI can't open links right now."


# -- fuzzing --------------------------------------------------------------------------------

punctuation = st.text(alphabet=".,;:!?)]}»”’ \n", max_size=4)
authority = st.one_of(
    st.ip_addresses(v=6).map(lambda address: f"[{address}]"),
    st.ip_addresses(v=4).map(str),
    st.from_regex(r"\[?[0-9a-fA-Fvz:.%\]\[]{0,40}\]?", fullmatch=True),
    st.text(alphabet="[]:%@.0123456789abcdefxyz-_~", max_size=30),
    st.text(max_size=15),
)
port = st.one_of(
    st.just(""),
    st.integers(-5, 70_000).map(lambda number: f":{number}"),
    st.text(alphabet=":0123456789x", max_size=8),
)
path = st.one_of(
    st.just(""), st.text(alphabet="/?#&=[]()%.az09", max_size=20), st.text(max_size=10)
)
url_ish = st.tuples(
    st.text(max_size=8),
    st.sampled_from(["http://", "https://", "HTTP://", "hTTps://", "http:/", "ftp://", ""]),
    authority,
    port,
    path,
    punctuation,
).map("".join)


@settings(max_examples=EXAMPLES, deadline=None)
@given(text=url_ish)
def test_fuzz_finding_and_parsing_a_link_never_raises(text):
    link = find_link(text)
    if link is None:
        return
    assert link in text
    assert link.lower().startswith(("http://", "https://"))
    link_host(link)
    try:
        parts = parse_link(link)
    except UpstreamError:
        return
    assert parts.hostname


@settings(max_examples=EXAMPLES, deadline=None)
@given(address=st.ip_addresses(v=6), after=punctuation)
def test_fuzz_every_ipv6_literal_is_found_whole(address, after):
    link = find_link(f"look: http://[{address}]{after}")
    assert link == f"http://[{address}]"
    assert parse_link(link).hostname == str(address)


ENGINE = engine_for(load(), rng=random.Random(3))  # offline: the link skill fetches nothing


@settings(
    max_examples=max(20, EXAMPLES // 5),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(text=url_ish)
def test_fuzz_the_link_skill_answers_whatever_the_link(text):
    # The engine does not catch: an exception here is the pipeline's apology on WhatsApp.
    ENGINE.respond(ConversationState(), Message("test", "whatsapp:+15550001", body=text))
