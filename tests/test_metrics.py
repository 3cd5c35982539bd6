"""Operations: one structured log line per message, /metrics in Prometheus' format (summed
over gunicorn workers), and the request id."""

from __future__ import annotations

import re

import requests
from prometheus_client.parser import text_string_to_metric_families

from bot import create_app
from tests.conftest import SENDER, base_settings, live_settings, post_whatsapp
from tests.helpers import closed_port
from tests.servers import Server


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in a Prometheus text page (0 if absent)."""
    for family in text_string_to_metric_families(text):
        for item in family.samples:
            if item.name == name and all(item.labels.get(k) == v for k, v in labels.items()):
                return item.value
    return 0.0


def test_one_line_per_message_without_number_or_body(capsys):
    client = create_app(base_settings()).test_client()
    response = post_whatsapp(client, "hello there", headers={"X-Request-Id": "req-42"})
    assert response.headers["X-Request-Id"] == "req-42"
    lines = [li for li in capsys.readouterr().err.splitlines() if " message channel=" in li]
    assert len(lines) == 1
    assert re.search(
        r"bot\.messages: message channel=whatsapp request_id=req-42 message_id=SM\d{32} "
        r"sender=[0-9a-f]{12} intent=greet confidence=\d\.\d\d latency_ms=\d+\.\d outcome=answered$",
        lines[0],
    ), lines[0]
    assert SENDER not in lines[0]
    assert "14155550123" not in lines[0]
    assert "hello there" not in lines[0]


def test_bodies_are_logged_only_when_asked(capsys):
    client = create_app(base_settings(BOT_LOG_BODIES="true")).test_client()
    post_whatsapp(client, "hello there, call me on +1 415 555 0199")
    [line] = [li for li in capsys.readouterr().err.splitlines() if " message channel=" in li]
    assert 'body="hello there, call me on <phone:' in line  # numbers stay hashed
    assert "555 0199" not in line


def test_a_bad_request_id_is_replaced():
    client = create_app(base_settings()).test_client()
    response = post_whatsapp(client, "hi", headers={"X-Request-Id": "bad id <script>" + "x" * 100})
    assert re.fullmatch(r"[0-9a-f]{16}", response.headers["X-Request-Id"])


def test_metrics_count_outcomes_intents_latency_and_upstream_errors():
    app = create_app(live_settings(f"http://127.0.0.1:{closed_port()}"))
    client = app.test_client()
    before = client.get("/metrics").text
    post_whatsapp(client, "hello")
    post_whatsapp(client, "tell me a joke")  # the joke API is down: a bundled joke
    after = client.get("/metrics")
    assert after.status_code == 200
    assert after.mimetype == "text/plain"
    page = after.text

    def grew(name: str, **labels: str) -> float:
        return sample(page, name, **labels) - sample(before, name, **labels)

    assert grew("bot_messages_total", channel="whatsapp", outcome="answered") == 2
    assert grew("bot_intents_total", intent="greet") == 1
    assert grew("bot_intents_total", intent="joke") == 1
    assert grew("bot_message_seconds_count", channel="whatsapp") == 2
    assert grew("bot_upstream_errors_total", service="joke") == 1


def test_metrics_can_require_a_token():
    client = create_app(base_settings(BOT_METRICS_TOKEN="s3cret-metrics")).test_client()
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    right = client.get("/metrics", headers={"Authorization": "Bearer s3cret-metrics"})
    assert right.status_code == 200


def test_metrics_add_up_across_gunicorn_workers(tmp_path):
    server = Server(BOT_STORE_URL=f"sqlite:///{tmp_path}/bot.db", WEB_CONCURRENCY="2")
    try:
        for n in range(12):
            server.say("hello", From=f"whatsapp:+1555000{n:04d}")
        pages = [requests.get(f"{server.base}/metrics", timeout=5).text for _ in range(6)]
    finally:
        server.stop()
    # Whichever worker answers /metrics, the sum covers both.
    counts = {
        sample(p, "bot_messages_total", channel="whatsapp", outcome="answered") for p in pages
    }
    assert counts == {12.0}


# -- who may read /metrics -------------------------------------------------------------------

ELSEWHERE = "203.0.113.9"  # a documentation address: a client on another machine


def metrics_from(client, address: str, **headers: str):
    return client.get("/metrics", headers=headers, environ_base={"REMOTE_ADDR": address})


def test_metrics_are_refused_to_other_machines_by_default():
    client = create_app(base_settings()).test_client()
    response = metrics_from(client, ELSEWHERE)
    assert response.status_code == 403
    assert "BOT_METRICS_TOKEN" in response.text
    assert "BOT_METRICS_PUBLIC=true" in response.text
    assert "bot_messages" not in response.text


def test_metrics_answer_a_client_on_this_machine_without_a_token():
    client = create_app(base_settings()).test_client()
    for address in ("127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"):
        response = metrics_from(client, address)
        assert response.status_code == 200, address
        assert response.mimetype == "text/plain"


def test_a_request_through_a_proxy_is_not_local_whatever_its_address():
    # A proxy on this machine (not trusted: the app sees the proxy's loopback address).
    plain = create_app(base_settings()).test_client()
    assert metrics_from(plain, "127.0.0.1", **{"X-Forwarded-For": ELSEWHERE}).status_code == 403
    assert metrics_from(plain, "127.0.0.1", Forwarded=f"for={ELSEWHERE}").status_code == 403
    # A trusted proxy: ProxyFix gives the client's address, from elsewhere.
    proxied = create_app(base_settings(BOT_TRUSTED_PROXIES="1")).test_client()
    assert metrics_from(proxied, "127.0.0.1", **{"X-Forwarded-For": ELSEWHERE}).status_code == 403
    # A client reaching the port directly and claiming to be loopback: ProxyFix believes
    # it, the app does not.
    forged = metrics_from(proxied, ELSEWHERE, **{"X-Forwarded-For": "127.0.0.1"})
    assert forged.status_code == 403
    # Even a client on this machine that came through the proxy.
    assert metrics_from(proxied, "127.0.0.1", **{"X-Forwarded-For": "127.0.0.1"}).status_code == 403


def test_a_token_is_needed_from_everyone_once_set():
    client = create_app(base_settings(BOT_METRICS_TOKEN="s3cret-metrics")).test_client()
    for address in (ELSEWHERE, "127.0.0.1"):
        refused = metrics_from(client, address)
        assert refused.status_code == 401
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    # The word Bearer is required; the scheme's case is not (RFC 7235).
    bare = metrics_from(client, ELSEWHERE, Authorization="s3cret-metrics")
    assert bare.status_code == 401
    basic = metrics_from(client, ELSEWHERE, Authorization="Basic s3cret-metrics")
    assert basic.status_code == 401
    assert metrics_from(client, ELSEWHERE, Authorization="bearer s3cret-metrics").status_code == 200


def test_metrics_can_be_opened_to_anyone_and_start_up_says_so(capsys):
    client = create_app(base_settings(BOT_METRICS_PUBLIC="true")).test_client()
    assert "BOT_METRICS_PUBLIC=true: /metrics is open to anyone" in capsys.readouterr().err
    assert metrics_from(client, ELSEWHERE).status_code == 200


def test_metrics_over_http_refuse_a_forwarded_request(tmp_path):
    server = Server(BOT_STORE_URL=f"sqlite:///{tmp_path}/bot.db", WEB_CONCURRENCY="1")
    try:
        direct = requests.get(f"{server.base}/metrics", timeout=5)
        forwarded = requests.get(
            f"{server.base}/metrics", headers={"X-Forwarded-For": "127.0.0.1"}, timeout=5
        )
    finally:
        server.stop()
    assert direct.status_code == 200
    assert forwarded.status_code == 403
