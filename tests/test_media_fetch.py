"""Downloading what a user sent, against real servers on loopback: a fake Twilio media API
on 127.0.0.1 (the `upstream` fixture, which TWILIO_API_URL names) that demands Basic auth
and redirects to a CDN on 127.0.0.2 (the only address the guard lets through, so 127.0.0.1
stays "inside"), plus hostile redirects, sizes, types and servers that hang."""

from __future__ import annotations

import base64
import ipaddress
import itertools
import logging
import re
import socket

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from config import settings_from
from skills.http import UpstreamError
from skills.media import MB, PROBLEMS, Fetched, MediaError, MediaFetcher, filename_of
from tests.conftest import ACCOUNT, SAFETY, TOKEN, base_settings

PDF = b"%PDF-1.4\n" + b"0123456789" * 300 + b"\n%%EOF\n"
MEDIA_PATH = f"/2010-04-01/Accounts/{ACCOUNT}/Messages/MM{'a' * 32}/Media/ME{'b' * 32}"
OUTSIDE = (ipaddress.ip_network("127.0.0.2/32"),)
DOCUMENTS = ("application/pdf", "text/plain")
BASIC = "Basic " + base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()


def base(server: HTTPServer) -> str:
    return server.url_for("/").rstrip("/")


def served(host: str) -> HTTPServer:
    server = HTTPServer(host=host, port=0, threaded=True)
    server.start()
    return server


@pytest.fixture(scope="module")
def _cdn_server():
    server = served("127.0.0.2")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def _inside_server():
    server = served("127.0.0.1")
    yield server
    server.stop()


@pytest.fixture
def cdn(_cdn_server):
    """Twilio's media CDN, on an address the guard treats as public; empty for each test."""
    _cdn_server.clear()
    yield _cdn_server
    _cdn_server.clear()


@pytest.fixture
def inside(_inside_server):
    """A server on 127.0.0.1 (not Twilio's port) standing for something inside the network."""
    _inside_server.clear()
    _inside_server.expect_request("/secret").respond_with_data(PDF, content_type="application/pdf")
    yield _inside_server
    _inside_server.clear()


def fetcher(twilio: HTTPServer, token: str = TOKEN, **overrides) -> MediaFetcher:
    settings = settings_from(
        {},
        base_settings(TWILIO_API_URL=twilio.url_for("/"), TWILIO_AUTH_TOKEN=token, **overrides),
    )
    return MediaFetcher.from_settings(settings, allowed=OUTSIDE)


def twilio_redirects_to(twilio: HTTPServer, target: str, status: int = 307) -> None:
    """Twilio's media endpoint: 401 without the account's Basic auth, else a redirect."""

    def respond(request: Request) -> Response:
        if request.headers.get("Authorization") != BASIC:
            return Response("auth required", 401, {"WWW-Authenticate": 'Basic realm="Twilio"'})
        return Response("", status, {"Location": target})

    twilio.expect_request(MEDIA_PATH).respond_with_handler(respond)


def authorizations(server: HTTPServer) -> list[str | None]:
    return [request.headers.get("Authorization") for request, _ in server.log]


def fails(problem: str, call) -> MediaError:
    assert problem in PROBLEMS
    with pytest.raises(MediaError) as caught:
        call()
    assert caught.value.problem == problem, str(caught.value)
    assert TOKEN not in str(caught.value)
    return caught.value


def test_twilio_gets_the_credentials_and_the_cdn_does_not(upstream, cdn, caplog):
    caplog.set_level(logging.DEBUG)  # requests' and urllib3's own lines included
    cdn.expect_request("/files/abc").respond_with_data(
        PDF,
        content_type="application/pdf",
        headers={"Content-Disposition": 'inline; filename="Menu 2024.pdf"'},
    )
    twilio_redirects_to(upstream, cdn.url_for("/files/abc"))

    got = fetcher(upstream).fetch(upstream.url_for(MEDIA_PATH), DOCUMENTS)

    assert got == Fetched(PDF, "application/pdf", "Menu 2024.pdf", cdn.url_for("/files/abc"))
    assert authorizations(upstream) == [BASIC]
    assert authorizations(cdn) == [None]
    assert caplog.records  # urllib3 logged its requests, and neither form of the secret
    assert TOKEN not in caplog.text
    assert BASIC.split()[1] not in caplog.text


def test_without_credentials_twilio_refuses(upstream):
    twilio_redirects_to(upstream, "http://127.0.0.2:1/never")
    error = fails("unauthorized", lambda: fetcher(upstream, token="wrong-token").fetch(
        upstream.url_for(MEDIA_PATH), DOCUMENTS
    ))  # fmt: skip
    assert error.status == 401
    assert authorizations(upstream) == [
        "Basic " + base64.b64encode(f"{ACCOUNT}:wrong-token".encode()).decode()
    ]


def test_a_link_the_user_typed_carries_no_credentials_even_to_twilio(upstream):
    twilio_redirects_to(upstream, "http://127.0.0.2:1/never")
    fails("unauthorized", lambda: fetcher(upstream).fetch(
        upstream.url_for(MEDIA_PATH), DOCUMENTS, credentials=False
    ))  # fmt: skip
    assert authorizations(upstream) == [None]


def test_no_credentials_are_sent_when_none_are_configured(upstream):
    twilio_redirects_to(upstream, "http://127.0.0.2:1/never")
    no_sid = fetcher(upstream, TWILIO_ACCOUNT_SID="")
    fails("unauthorized", lambda: no_sid.fetch(upstream.url_for(MEDIA_PATH), DOCUMENTS))
    assert authorizations(upstream) == [None]


def test_a_media_url_on_another_host_gets_no_credentials(cdn):
    """Twilio signs the webhook, so a MediaUrl elsewhere is a misconfiguration or a test:
    fetched like a link, through the guard, without credentials."""
    twilio = served("127.0.0.1")  # Twilio's configured origin, which the URL is not on
    try:
        cdn.expect_request(MEDIA_PATH).respond_with_data(PDF, content_type="application/pdf")
        got = fetcher(twilio).fetch(cdn.url_for(MEDIA_PATH), DOCUMENTS)
        assert (got.data, got.filename) == (PDF, "ME" + "b" * 32)
        assert authorizations(cdn) == [None]
        assert twilio.log == []
    finally:
        twilio.stop()


@pytest.mark.parametrize(
    "path",
    [
        f"/2010-04-01/Accounts/AC{'9' * 32}/Messages/MM{'a' * 32}/Media/ME{'b' * 32}",
        f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json",
        f"/2010-04-01/Accounts/{ACCOUNT}/Messages/MM{'a' * 32}/Media.json",
        f"/2010-04-01/Accounts/{ACCOUNT}/Messages/MM{'a' * 32}/Media/ME{'b' * 32}/../../x",
    ],
)
def test_on_twilio_only_our_accounts_media_gets_the_credentials(upstream, path):
    upstream.expect_request(re.compile(".*")).respond_with_data("", status=401)
    fails("unauthorized", lambda: fetcher(upstream).fetch(base(upstream) + path, DOCUMENTS))
    assert authorizations(upstream) == [None]


def test_credentials_go_over_https_only_when_twilio_is_https(upstream):
    """Configured https: the same host and port over http is not Twilio, so it is guarded
    (and refused, being loopback) and never sees the credentials."""
    secure = MediaFetcher(f"https://127.0.0.1:{upstream.port}", ACCOUNT, TOKEN, MB, allowed=OUTSIDE)
    twilio_redirects_to(upstream, "http://127.0.0.2:1/never")
    fails("not_allowed", lambda: secure.fetch(upstream.url_for(MEDIA_PATH), DOCUMENTS))
    assert upstream.log == []


def test_a_redirect_from_twilio_to_a_private_address_is_refused(upstream, inside):
    twilio_redirects_to(upstream, inside.url_for("/secret"), status=302)
    error = fails("not_allowed", lambda: fetcher(upstream).fetch(
        upstream.url_for(MEDIA_PATH), DOCUMENTS
    ))  # fmt: skip
    assert "127.0.0.1" in error.detail
    assert inside.log == []


def test_private_addresses_are_refused_unless_allowed(inside, upstream):
    url = inside.url_for("/secret")
    fails("not_allowed", lambda: fetcher(upstream).fetch(url, DOCUMENTS))
    assert inside.log == []
    settings = settings_from(
        {}, base_settings(TWILIO_API_URL=base(upstream), BOT_ALLOW_PRIVATE_URLS="true")
    )
    assert MediaFetcher.from_settings(settings).fetch(url, DOCUMENTS).data == PDF
    assert authorizations(inside) == [None]


def test_credentials_do_not_come_back_after_leaving_twilio(upstream, cdn):
    """Twilio -> CDN -> Twilio's media URL again: the second visit goes without them."""
    twilio_redirects_to(upstream, cdn.url_for("/bounce"))
    cdn.expect_request("/bounce").respond_with_data(
        "", status=302, headers={"Location": upstream.url_for(MEDIA_PATH)}
    )
    fails("unauthorized", lambda: fetcher(upstream).fetch(
        upstream.url_for(MEDIA_PATH), DOCUMENTS
    ))  # fmt: skip
    assert authorizations(upstream) == [BASIC, None]


def test_three_redirects_are_followed_not_four(upstream, cdn):
    for n in range(1, 4):
        cdn.expect_request(f"/r{n}").respond_with_data(
            "", status=301, headers={"Location": f"/r{n + 1}"}
        )
    cdn.expect_request("/r4").respond_with_data(PDF, content_type="application/pdf")
    twilio_redirects_to(upstream, cdn.url_for("/r1"))
    media = fetcher(upstream)
    error = fails("unreachable", lambda: media.fetch(upstream.url_for(MEDIA_PATH), DOCUMENTS))
    assert error.detail == "more than 3 redirects"
    assert [request.path for request, _ in cdn.log] == ["/r1", "/r2", "/r3"]
    assert media.fetch(cdn.url_for("/r2"), DOCUMENTS).final_url == cdn.url_for("/r4")


def test_a_redirect_loop_ends(upstream, cdn):
    cdn.expect_request("/loop").respond_with_data("", status=302, headers={"Location": "/loop"})
    fails("unreachable", lambda: fetcher(upstream).fetch(cdn.url_for("/loop"), DOCUMENTS))
    assert len(cdn.log) == 4


def test_a_declared_size_over_the_cap_is_not_read(upstream, cdn):
    big = b"%PDF" + b"x" * MB
    cdn.expect_request("/big").respond_with_data(big, content_type="application/pdf")
    capped = fetcher(upstream, BOT_MEDIA_MAX_MB="1")
    error = fails("too_large", lambda: capped.fetch(cdn.url_for("/big"), DOCUMENTS))
    assert error.detail == f"{len(big)} bytes declared, cap {MB}"


def test_a_streamed_body_is_cut_at_the_cap(upstream, cdn):
    def endless(request: Request) -> Response:
        pieces = (b"x" * 65536 for _ in range(100))  # 6.25 MB, no Content-Length
        return Response(pieces, content_type="text/plain")

    cdn.expect_request("/stream").respond_with_handler(endless)
    capped = fetcher(upstream, BOT_MEDIA_MAX_MB="1")
    error = fails("too_large", lambda: capped.fetch(cdn.url_for("/stream"), DOCUMENTS))
    assert error.detail == f"over the {MB}-byte cap"


def test_a_file_of_exactly_the_cap_is_read(upstream, cdn):
    exact = b"y" * MB
    cdn.expect_request("/exact").respond_with_data(exact, content_type="text/plain")
    got = fetcher(upstream, BOT_MEDIA_MAX_MB="1").fetch(cdn.url_for("/exact"), DOCUMENTS)
    assert got.data == exact


@pytest.mark.parametrize("kind", ["image/png", "application/octet-stream", "text/html", ""])
def test_a_type_the_caller_did_not_ask_for_is_refused_unread(upstream, cdn, kind):
    cdn.expect_request("/file").respond_with_data(b"\x89PNG....", content_type=kind)
    error = fails("wrong_type", lambda: fetcher(upstream).fetch(cdn.url_for("/file"), DOCUMENTS))
    assert error.detail == (kind or "no content type")


def test_type_parameters_and_case_are_ignored(upstream, cdn):
    cdn.expect_request("/notes.md").respond_with_data(
        "# Notes\n", content_type="Text/Markdown; charset=UTF-8"
    )
    got = fetcher(upstream).fetch(cdn.url_for("/notes.md"), ["text/markdown; charset=utf-8"])
    assert (got.content_type, got.filename, got.data) == ("text/markdown", "notes.md", b"# Notes\n")


def test_a_hanging_twilio_hits_the_deadline(upstream, gate):
    """Each read may wait 60 s, longer than the gate holds (30 s): only the deadline ends
    the fetch, and the gate is released by the test, never by its safety timeout."""
    upstream.expect_request(MEDIA_PATH).respond_with_handler(
        gate.held(lambda request: Response(PDF, content_type="application/pdf"))
    )
    slow = MediaFetcher(base(upstream), ACCOUNT, TOKEN, MB, timeout=60, deadline=0.5)
    fails("too_slow", lambda: slow.fetch(upstream.url_for(MEDIA_PATH), DOCUMENTS))
    assert gate.arrived == 1


def test_a_body_held_after_its_first_bytes_hits_the_deadline(upstream, cdn, gate):
    def trickle(request: Request) -> Response:
        def pieces():
            yield PDF[:100]
            if not gate.opened.wait(SAFETY):  # only the deadline may end this wait
                gate.expired += 1
            yield PDF[100:]

        return Response(pieces(), content_type="application/pdf")

    cdn.expect_request("/slow").respond_with_handler(trickle)
    slow = MediaFetcher(
        base(upstream), ACCOUNT, TOKEN, MB, allowed=OUTSIDE, timeout=60, deadline=0.5
    )
    fails("too_slow", lambda: slow.fetch(cdn.url_for("/slow"), DOCUMENTS))


class Ticks:
    """A clock that moves one second each time it is read."""

    def __init__(self) -> None:
        self.count = itertools.count()

    def __call__(self) -> float:
        return float(next(self.count))


@pytest.mark.parametrize(("deadline", "finishes"), [(10.0, False), (1000.0, True)])
def test_the_deadline_covers_the_whole_body_not_each_read(upstream, cdn, deadline, finishes):
    """A body arriving promptly, piece by piece, is still cut once the total time is over."""
    body = b"z" * MB  # at least 16 reads of 64 KB: more than 10 ticks
    cdn.expect_request("/long").respond_with_data(body, content_type="text/plain")
    media = MediaFetcher(
        base(upstream), ACCOUNT, TOKEN, 2 * MB, allowed=OUTSIDE, deadline=deadline, clock=Ticks()
    )
    if finishes:
        assert media.fetch(cdn.url_for("/long"), DOCUMENTS).data == body
    else:
        fails("too_slow", lambda: media.fetch(cdn.url_for("/long"), DOCUMENTS))


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://127.0.0.2/x.pdf",
        "http:///x.pdf",
        "http://[::1",
        "http://127.0.0.2:99999/x",
        "https://AC1:secret@127.0.0.2/x.pdf",
    ],
)
def test_urls_that_are_not_plain_http_are_refused(upstream, url):
    error = fails("not_allowed", lambda: fetcher(upstream).fetch(url, DOCUMENTS))
    assert "secret" not in str(error)


def test_an_unreachable_host_and_a_missing_file(upstream, cdn):
    with socket.socket() as probe:  # a port nothing listens on once the probe closes
        probe.bind(("127.0.0.2", 0))
        closed_url = f"http://127.0.0.2:{probe.getsockname()[1]}/x"
    fails("unreachable", lambda: fetcher(upstream).fetch(closed_url, DOCUMENTS))
    cdn.expect_request("/gone").respond_with_data("", status=404)
    error = fails("unreachable", lambda: fetcher(upstream).fetch(cdn.url_for("/gone"), DOCUMENTS))
    assert error.status == 404


def test_the_error_is_an_upstream_error_the_skills_already_handle():
    error = MediaError("too_large", "over the cap")
    assert isinstance(error, UpstreamError)
    assert (error.service, error.problem, str(error)) == (
        "media",
        "too_large",
        "media: too_large (over the cap)",
    )


@pytest.mark.parametrize(
    ("disposition", "urls", "name"),
    [
        ('attachment; filename="report.pdf"', ["https://x/a/b"], "report.pdf"),
        ("attachment; filename*=UTF-8''Men%C3%BC%20Caf%C3%A9.pdf", [], "Menü Café.pdf"),
        ('attachment; filename="../../etc/passwd"', [], "passwd"),
        ('attachment; filename="..\\\\boot.ini"', [], "boot.ini"),
        ('attachment; filename="a\x07b\u202e.pdf"', [], "ab.pdf"),
        ("inline", ["https://x/docs/Price%20list.pdf?sig=1"], "Price list.pdf"),
        ("", ["https://x/", "https://y/ME123"], "ME123"),
        ("", ["https://x/"], "document"),
    ],
)
def test_the_filename(disposition, urls, name):
    assert filename_of(disposition, urls) == name
