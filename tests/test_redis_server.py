"""The tests' Redis: the one BOT_TEST_REDIS_URL names, else a redis-server of the run's own
(never a developer's database at 6379), else the Redis tests skip and say why."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from tests.redis_server import RedisServer, RedisUnavailable

ROOT = Path(__file__).resolve().parent.parent


def test_tests_use_a_redis_of_their_own_unless_one_is_named(redis_url):
    if os.environ.get("BOT_TEST_REDIS_URL"):
        pytest.skip("BOT_TEST_REDIS_URL names the Redis to use")
    client = redis.Redis.from_url(redis_url)
    try:
        assert client.info("server")["tcp_port"] != 6379
        assert Path(client.config_get("dir")["dir"]).name.startswith("bot-redis-")
        assert client.config_get("save")["save"] == ""  # it writes nothing to disk
    finally:
        client.close()


def test_a_server_of_our_own_is_gone_afterwards():
    with RedisServer() as server:
        client = redis.Redis.from_url(server.url, socket_connect_timeout=2)
        folder = Path(client.config_get("dir")["dir"])
        assert client.ping()
        client.close()
    assert not folder.exists()
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(server.url, socket_connect_timeout=2).ping()


def test_no_redis_server_is_said_plainly():
    with pytest.raises(RedisUnavailable, match="no redis-server"):
        RedisServer(binary="/nonexistent/redis-server").start()


@pytest.mark.parametrize(("required", "outcome"), [("", "SKIPPED"), ("1", "ERROR")])
def test_without_redis_the_redis_tests_skip_or_fail_as_ci_asks(required, outcome):
    env = {k: v for k, v in os.environ.items() if k != "BOT_TEST_REDIS_URL"}
    env.update(PATH=str(Path(sys.executable).parent), BOT_REQUIRE_SERVICES=required)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-rsE", "-p", "no:cacheprovider",
         f"{__file__}::test_tests_use_a_redis_of_their_own_unless_one_is_named"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert outcome in result.stdout, result.stdout
    assert "no redis-server on PATH" in result.stdout
    assert "BOT_TEST_REDIS_URL" in result.stdout
