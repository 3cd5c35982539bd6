"""GET /health: ok or degraded for anyone, with 200 or 503; paths, hosts and error texts only
for the bearer of BOT_METRICS_TOKEN."""

from __future__ import annotations

from bot import __version__, create_app
from tests.conftest import base_settings
from tests.helpers import closed_port

METRICS_TOKEN = "health-and-metrics-token"
BEARER = {"Authorization": f"Bearer {METRICS_TOKEN}"}


def test_health_tells_a_stranger_only_ok_and_the_version(tmp_path):
    url = f"sqlite:///{tmp_path}/bot.db"
    client = create_app(base_settings(BOT_STORE_URL=url)).test_client()
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "version": __version__, "warnings": []}
    assert str(tmp_path) not in response.text


def test_the_metrics_token_shows_the_details(tmp_path):
    url = f"sqlite:///{tmp_path}/bot.db"
    settings = base_settings(BOT_STORE_URL=url, BOT_METRICS_TOKEN=METRICS_TOKEN)
    client = create_app(settings).test_client()
    details = client.get("/health", headers=BEARER).json
    assert details["status"] == "ok"
    assert details["store"] == {"url": url, "ok": True}
    assert details["signature_validation"] is True
    assert details["intents"] > 0
    wrong = client.get("/health", headers={"Authorization": "Bearer guess"}).json
    bare = client.get("/health", headers={"Authorization": METRICS_TOKEN}).json
    assert wrong == bare == {"status": "ok", "version": __version__, "warnings": []}


def test_a_store_that_does_not_answer_is_degraded_without_its_host_or_error():
    port = closed_port()
    settings = base_settings(
        BOT_STORE_URL=f"redis://127.0.0.1:{port}/0", BOT_METRICS_TOKEN=METRICS_TOKEN
    )
    client = create_app(settings).test_client()
    response = client.get("/health")
    assert response.status_code == 503
    assert response.json == {
        "status": "degraded",
        "version": __version__,
        "warnings": ["the conversation store is not answering: users get an apology"],
    }
    assert str(port) not in response.text
    assert "127.0.0.1" not in response.text
    assert "Error" not in response.text
    details = client.get("/health", headers=BEARER)
    assert details.status_code == 503
    assert details.json["store"]["url"] == f"redis://127.0.0.1:{port}/0"
    assert "ConnectionError" in details.json["store"]["error"]


def test_switched_off_signatures_are_not_advertised():
    client = create_app(base_settings(TWILIO_VALIDATE="false")).test_client()
    assert client.get("/health").json == {"status": "ok", "version": __version__, "warnings": []}
