"""The benches write their results to an untracked folder, and empty only a Redis of their
own or the one BOT_BENCH_REDIS_URL names, saying so."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path
from types import ModuleType

import pytest
import redis

ROOT = Path(__file__).resolve().parent.parent


def bench(name: str) -> ModuleType:
    """A bench script as a module (its `main` does not run)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ignored_by_git(path: Path) -> bool:
    check = subprocess.run(["git", "check-ignore", "-q", str(path)], cwd=ROOT)
    return check.returncode == 0


@pytest.mark.parametrize("name", ["load", "memory"])
def test_results_go_to_an_untracked_folder(name):
    results = bench(name).RESULTS
    assert results == ROOT / "bench" / "out"
    assert ignored_by_git(results / f"{name}.json")


def test_no_tracked_results_are_left():
    tracked = subprocess.run(
        ["git", "ls-files", "--", "bench/results"], cwd=ROOT, capture_output=True, text=True
    ).stdout
    present = [line for line in tracked.splitlines() if (ROOT / line).exists()]
    assert present == []


@pytest.mark.parametrize("script", ["webhook", "console_store", "console_page"])
def test_the_benches_load_as_modules(script):
    # Their imports resolve (the shared bench/redis_db.py among them) without running them.
    assert callable(bench(script).main)


def test_the_webhook_bench_uses_a_redis_of_its_own(monkeypatch):
    monkeypatch.delenv("BOT_BENCH_REDIS_URL", raising=False)
    with bench("redis_db").bench_redis("bench/webhook.py") as url:
        if url is None:
            pytest.skip("no redis-server to start")
        client = redis.Redis.from_url(url)
        assert client.info("server")["tcp_port"] != 6379
        client.close()
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()


def test_a_named_bench_redis_is_emptied_and_the_bench_says_so(monkeypatch, redis_url, capsys):
    redis.Redis.from_url(redis_url).set("left-over", "1")
    monkeypatch.setenv("BOT_BENCH_REDIS_URL", redis_url)
    with bench("redis_db").bench_redis("bench/webhook.py") as url:
        assert url == redis_url
        assert redis.Redis.from_url(url).dbsize() == 0
    assert f"emptying {redis_url} (BOT_BENCH_REDIS_URL)" in capsys.readouterr().err
