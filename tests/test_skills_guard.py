"""Links are an SSRF risk: addresses, spellings, redirects, sizes and types, tried for real
against servers on loopback that must never be reached."""

from __future__ import annotations

import ipaddress

import pytest
from pytest_httpserver import HTTPServer

from skills.guard import is_public
from skills.http import UpstreamError
from skills.links import LinkPreviewer, first_sentences

BLOCKED = [
    "127.0.0.1", "127.255.255.254", "10.0.0.1", "172.16.5.4", "192.168.1.1",
    "169.254.169.254",  # cloud metadata (AWS, GCP, Azure)
    "100.64.0.1", "100.100.100.200",  # CGNAT; Alibaba's metadata
    "0.0.0.0", "0.1.2.3",  # noqa: S104 -- an address to refuse, not to bind
    "224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255",
    "192.0.0.8", "192.0.2.1", "198.18.0.1", "198.51.100.7", "203.0.113.9", "192.88.99.1",
    "::", "::1", "fe80::1", "fc00::1", "fd00:ec2::254", "ff02::1", "2001:db8::1",
    "::ffff:127.0.0.1", "::ffff:169.254.169.254", "::ffff:10.0.0.1",
    "64:ff9b::7f00:1", "2002:7f00:1::1", "::127.0.0.1",
]  # fmt: skip
PUBLIC = ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700:4700::1111", "::ffff:8.8.8.8"]


@pytest.mark.parametrize("address", BLOCKED)
def test_private_and_special_addresses_are_not_public(address):
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are(address):
    assert is_public(ipaddress.ip_address(address))


@pytest.fixture
def inside(upstream):
    """A page on 127.0.0.1 standing for something inside the network."""
    upstream.expect_request("/secret").respond_with_data(
        "<title>internal admin</title>", content_type="text/html"
    )
    return upstream


SPELLINGS = [
    "http://127.0.0.1:{port}/secret",
    "http://2130706433:{port}/secret",  # decimal
    "http://0x7f000001:{port}/secret",  # hex
    "http://0x7f.0.0.1:{port}/secret",
    "http://0177.0.0.1:{port}/secret",  # octal
    "http://017700000001:{port}/secret",
    "http://127.1:{port}/secret",
    "http://0:{port}/secret",
    "http://localhost:{port}/secret",  # a name that resolves to loopback
    "http://LocalHost.:{port}/secret",
    "http://[::1]:{port}/secret",
    "http://[::ffff:127.0.0.1]:{port}/secret",
    "http://[::ffff:7f00:1]:{port}/secret",
    "http://user:pw@127.0.0.1:{port}/secret",
    "https://127.0.0.1:{port}/secret",
]


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_every_spelling_of_loopback_is_refused_and_nothing_is_fetched(inside, spelling):
    url = spelling.format(port=inside.port)
    with pytest.raises(UpstreamError, match=r"refused|unreachable"):
        LinkPreviewer().preview(url)
    assert inside.log == []


@pytest.mark.parametrize(
    "url",
    [
        "http://2852039166/latest/meta-data/",  # 169.254.169.254, decimal
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://100.100.100.200/latest/meta-data/",
        "http://10.0.0.1/",
        "http://[::ffff:a9fe:a9fe]/",
    ],
)
def test_metadata_and_private_addresses_are_refused_before_connecting(url):
    with pytest.raises(UpstreamError, match="refused"):
        LinkPreviewer().preview(url)


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.com/x",
        "gopher://127.0.0.1:70/",
        "javascript:alert(1)",
        "http:///x",
    ],
)
def test_only_http_and_https(url):
    with pytest.raises(UpstreamError, match="only http and https"):
        LinkPreviewer().preview(url)


@pytest.fixture
def outside():
    """A page server on 127.0.0.2 that plays the public internet: the only address tests
    let through, so 127.0.0.1 stays "inside"."""
    server = HTTPServer(host="127.0.0.2", port=0)
    server.start()
    yield server
    server.stop()


def previewer() -> LinkPreviewer:
    return LinkPreviewer(allowed=(ipaddress.ip_network("127.0.0.2/32"),), timeout=1.0)


def test_a_redirect_to_loopback_is_refused(outside, inside):
    target = f"http://127.0.0.1:{inside.port}/secret"
    outside.expect_request("/go").respond_with_data("", status=302, headers={"Location": target})
    with pytest.raises(UpstreamError, match=r"refused: '127\.0\.0\.1' leads to 127\.0\.0\.1"):
        previewer().preview(outside.url_for("/go"))
    assert inside.log == []


def test_a_redirect_to_a_decimal_spelling_is_refused(outside, inside):
    target = f"http://2130706433:{inside.port}/secret"
    outside.expect_request("/go").respond_with_data("", status=301, headers={"Location": target})
    with pytest.raises(UpstreamError, match="refused"):
        previewer().preview(outside.url_for("/go"))
    assert inside.log == []


def test_three_redirects_are_followed_not_four(outside):
    for n in range(4):
        outside.expect_request(f"/r{n}").respond_with_data(
            "", status=302, headers={"Location": f"/r{n + 1}"}
        )
    outside.expect_request("/r4").respond_with_data("<title>End</title>", content_type="text/html")
    with pytest.raises(UpstreamError, match="more than 3 redirects"):
        previewer().preview(outside.url_for("/r0"))
    assert previewer().preview(outside.url_for("/r1")).title == "End"


def test_a_page_over_one_megabyte_is_not_read(outside):
    outside.expect_request("/big").respond_with_data(
        "<p>" + "x" * 1_100_000 + "</p>", content_type="text/html"
    )
    with pytest.raises(UpstreamError, match="cap"):
        previewer().preview(outside.url_for("/big"))


@pytest.mark.parametrize("kind", ["image/png", "application/octet-stream", "application/pdf", ""])
def test_only_web_pages_are_read(outside, kind):
    outside.expect_request("/file").respond_with_data(b"\x89PNG....", content_type=kind)
    with pytest.raises(UpstreamError, match="not a web page"):
        previewer().preview(outside.url_for("/file"))


PAGE = """<!doctype html><html><head>
<meta charset="utf-8"><title> The  Café   Guide </title>
<script>var x = "<p>not this</p>";</script></head>
<body><nav><p>Home | About | A very long navigation paragraph that is not content.</p></nav>
<main><p>Short.</p>
<p>Lisbon has more cafés per person than any city in Europe. Most open at seven.
Pastéis de nata are eaten standing up.</p></main></body></html>"""


def test_title_and_first_sentences_of_a_page(outside):
    outside.expect_request("/cafe").respond_with_data(
        PAGE.encode(), content_type="text/html; charset=utf-8"
    )
    page = previewer().preview(outside.url_for("/cafe"))
    assert page.title == "The Café Guide"
    assert page.summary == (
        "Lisbon has more cafés per person than any city in Europe. Most open at seven. "
        "Pastéis de nata are eaten standing up."
    )


def test_meta_description_wins_and_utf8_is_the_default(outside):
    html = (
        '<html><head><meta property="og:title" content="Über uns">'
        '<meta name="description" content="Wir sind ein Café. Seit 1901."></head></html>'
    )
    outside.expect_request("/de").respond_with_data(html.encode(), content_type="text/html")
    page = previewer().preview(outside.url_for("/de"))
    assert (page.title, page.summary) == ("Über uns", "Wir sind ein Café. Seit 1901.")


def test_plain_text_pages(outside):
    outside.expect_request("/t").respond_with_data(
        "README\n\nThis tool does one thing. It does it well.\n", content_type="text/plain"
    )
    page = previewer().preview(outside.url_for("/t"))
    assert (page.title, page.summary) == ("README", "This tool does one thing. It does it well.")


def test_first_sentences_stop_at_whole_sentences():
    text = "One two three. " * 40
    assert first_sentences(text, 50) == "One two three. One two three. One two three."
    assert first_sentences("x" * 500, 20) == "x" * 19 + "…"
