"""The shared HTTP client against a real server on 127.0.0.1: answers, retries, and every
way an upstream can fail becoming one `UpstreamError`."""

from __future__ import annotations

import threading

import pytest
from werkzeug import Response

from skills.http import MAX_JSON_BYTES, USER_AGENT, Upstream, UpstreamError, make_session
from tests.conftest import SAFETY
from tests.helpers import closed_port


@pytest.fixture
def api(upstream):
    return Upstream("test", upstream.url_for(""), make_session(), timeout=1.0)


def test_json_comes_back_with_our_user_agent(upstream, api):
    upstream.expect_request("/v1/thing", query_string="a=1").respond_with_json({"ok": True})
    assert api.get_json("/v1/thing", {"a": 1}) == {"ok": True}
    [(request, _)] = upstream.log
    assert request.headers["User-Agent"] == USER_AGENT


def test_gateway_errors_are_retried_twice_then_reported(upstream, api):
    upstream.expect_request("/flaky").respond_with_data("busy", status=503)
    with pytest.raises(UpstreamError, match="HTTP 503") as raised:
        api.get_json("/flaky")
    assert raised.value.status == 503
    assert len(upstream.log) == 3


def test_a_retry_that_succeeds_is_invisible(upstream, api):
    upstream.expect_ordered_request("/flaky").respond_with_data("oops", status=500)
    upstream.expect_ordered_request("/flaky").respond_with_json([1, 2])
    assert api.get_json("/flaky") == [1, 2]


def test_client_errors_are_not_retried(upstream, api):
    upstream.expect_request("/missing").respond_with_json({"error": "nope"}, status=404)
    with pytest.raises(UpstreamError) as raised:
        api.get_json("/missing")
    assert (raised.value.status, len(upstream.log)) == (404, 1)


@pytest.mark.parametrize(
    "body",
    [b"<html>not json</html>", b"", b"\xff\xfe\x00garbage", b'{"unterminated": '],
)
def test_garbage_is_not_json(upstream, api, body):
    upstream.expect_request("/garbage").respond_with_data(body, content_type="application/json")
    with pytest.raises(UpstreamError, match="not JSON"):
        api.get_json("/garbage")


def test_an_oversized_answer_is_cut_off(upstream, api):
    huge = b"[" + b"1," * MAX_JSON_BYTES + b"1]"
    upstream.expect_request("/huge").respond_with_data(huge, content_type="application/json")
    with pytest.raises(UpstreamError, match="cap"):
        api.get_json("/huge")


def test_an_oversized_stream_without_a_length_is_cut_off(upstream, api):
    def chunks():
        for _ in range(100):
            yield b" " * 16384

    upstream.expect_request("/stream").respond_with_response(
        Response(chunks(), content_type="application/json")
    )
    with pytest.raises(UpstreamError, match="over the 524288-byte cap"):
        api.get_json("/stream")


def test_a_refused_connection_is_unreachable():
    api = Upstream("test", f"http://127.0.0.1:{closed_port()}", make_session(), timeout=1.0)
    with pytest.raises(UpstreamError, match="unreachable: ConnectionError"):
        api.get_json("/anything")


def test_a_hanging_upstream_times_out_without_retrying(upstream, api, gate):
    hang = gate.held(lambda _request: Response("{}", content_type="application/json"))
    upstream.expect_request("/hang").respond_with_handler(hang)
    # The gate stays shut until the client has given up: the answer never came in time.
    with pytest.raises(UpstreamError) as raised:
        api.get_json("/hang")
    assert (raised.value.problem, raised.value.status) == ("timed out", None)
    gate.drain()  # the held request answered, and logged
    assert gate.arrived == 1
    assert [request.path for request, _ in upstream.log] == ["/hang"]


def test_an_answer_that_trickles_in_is_given_up(upstream, api):
    given_up = threading.Event()

    def trickle():
        # A byte every 0.1 s, each well within the 1 s read timeout, until the client has
        # given up on the whole answer (its 4 s deadline); SAFETY ends it if it never does.
        for _ in range(int(SAFETY / 0.1)):
            if given_up.wait(0.1):
                return
            yield b" "

    upstream.expect_request("/slow").respond_with_response(
        Response(trickle(), content_type="application/json")
    )
    try:
        with pytest.raises(UpstreamError) as raised:
            api.get_json("/slow")
    finally:
        given_up.set()
    assert raised.value.problem == "answer took over 4 s"
