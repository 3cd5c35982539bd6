"""Choosing and opening the store: the URL, start-up errors, /health, and a store that fails
while the bot runs (Redis refused, Redis silent, SQLite locked)."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from bot import create_app
from config import DEFAULTS, ConfigError
from conversation import ConversationState, Reply
from memory import Exchange, SqliteStore, open_store, sqlite_connections
from memory.sqlite_schema import MIGRATIONS, SCHEMA_VERSION
from pipeline import DEGRADED
from tests.conftest import base_settings, post_whatsapp, reply_text, unavailable
from tests.helpers import closed_port
from tests.stores import counted, kept_state, recorded


def test_the_default_store_is_a_sqlite_file_created_on_first_run(tmp_path):
    assert DEFAULTS["BOT_STORE_URL"] == "sqlite:///instance/bot.db"
    store = open_store(DEFAULTS["BOT_STORE_URL"], tmp_path, 30)
    assert (tmp_path / "instance" / "bot.db").is_file()
    assert store.url == "sqlite:///instance/bot.db"


def test_four_slashes_name_an_absolute_path(tmp_path):
    store = open_store(f"sqlite:///{tmp_path}/data/bot.db", tmp_path / "elsewhere", 30)
    assert store.path == tmp_path / "data" / "bot.db"
    assert store.path.is_file()


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("nonsense", "use sqlite:///path/to/bot.db, redis://host:port/db"),
        ("mysql://db.example.com/bot", "use sqlite:///path/to/bot.db"),
        ("sqlite://", "name the database file"),
        ("sqlite://host/bot.db", "write sqlite:///relative/path.db"),
        ("sqlite:///:memory:", "use memory:// in tests"),
        ("redis://localhost:port/0", "not a Redis URL"),
        ("redis://localhost:6379/zero", "must be a number, not 'zero'"),
        ("memory://somewhere", "memory:// takes no host or path"),
    ],
)
def test_an_unusable_url_stops_start_up_naming_the_setting(url, reason):
    with pytest.raises(ConfigError) as raised:
        create_app(base_settings(BOT_STORE_URL=url))
    assert str(raised.value).startswith(f"BOT_STORE_URL={url!r}: ")
    assert reason in str(raised.value)


def test_an_unwritable_path_stops_start_up(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(ConfigError, match="cannot create the folder"):
        create_app(base_settings(BOT_STORE_URL=f"sqlite:///{blocker}/bot.db"))
    (tmp_path / "a-folder.db").mkdir()
    with pytest.raises(ConfigError, match="unable to open database file"):
        create_app(base_settings(BOT_STORE_URL=f"sqlite:///{tmp_path}/a-folder.db"))


def test_a_file_that_is_not_a_database_stops_start_up(tmp_path):
    (tmp_path / "notes.db").write_text("these are my notes, not a database" * 100)
    with pytest.raises(ConfigError, match="file is not a database"):
        create_app(base_settings(BOT_STORE_URL=f"sqlite:///{tmp_path}/notes.db"))


def test_a_password_never_shows(tmp_path):
    with pytest.raises(ConfigError) as raised:
        create_app(base_settings(BOT_STORE_URL="redis://:hunter2@localhost:6379/x"))
    assert "hunter2" not in str(raised.value)
    assert "redis://:***@localhost:6379/x" in str(raised.value)


def test_the_schema_is_created_and_versioned(tmp_path):
    path = tmp_path / "bot.db"
    SqliteStore(path).close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    assert {"conversations", "history", "replies", "locks"} <= tables
    SqliteStore(path).close()  # opening again migrates nothing and loses nothing


def test_a_database_from_a_newer_bot_is_refused(tmp_path):
    path = tmp_path / "bot.db"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(ConfigError, match="newer than this bot's"):
        create_app(base_settings(BOT_STORE_URL=f"sqlite:///{path}"))


# /health shows the store's URL and error only to the bearer of BOT_METRICS_TOKEN.
METRICS = {"BOT_METRICS_TOKEN": "metrics-token"}
BEARER = {"Authorization": "Bearer metrics-token"}


def test_health_reports_the_store(tmp_path):
    url = f"sqlite:///{tmp_path}/bot.db"
    client = create_app(base_settings(BOT_STORE_URL=url, **METRICS)).test_client()
    response = client.get("/health", headers=BEARER)
    assert response.status_code == 200
    assert response.json["store"] == {"url": url, "ok": True}


def test_health_reports_a_redis_store(redis_url):
    client = create_app(base_settings(BOT_STORE_URL=redis_url, **METRICS)).test_client()
    response = client.get("/health", headers=BEARER)
    assert response.status_code == 200
    assert response.json["store"] == {"url": redis_url, "ok": True}


# -- a store that fails while the bot runs ---------------------------------------------------


@pytest.fixture
def silent_port():
    """A TCP port that accepts connections and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(2)
    for conn in held:
        conn.close()
    server.close()


def assert_degraded_but_answering(client, caplog, failure: str) -> None:
    # What bounds Twilio's wait is the client's timeouts (half a second each, one retry).
    options = client.application.extensions["bot.store"].client.connection_pool
    assert (
        options.connection_kwargs["socket_timeout"],
        options.connection_kwargs["socket_connect_timeout"],
    ) == (0.5, 0.5)
    response = post_whatsapp(client, "my name is Ana")
    assert response.status_code == 200
    assert reply_text(response) == DEGRADED
    assert failure in caplog.text
    health = client.get("/health", headers=BEARER)
    assert health.status_code == 503
    assert health.json["status"] == "degraded"
    assert failure in health.json["store"]["error"]


def test_redis_refusing_connections(caplog):
    url = f"redis://127.0.0.1:{closed_port()}/0"
    client = create_app(base_settings(BOT_STORE_URL=url, **METRICS)).test_client()  # starts
    assert "the store is not answering" in caplog.text
    assert_degraded_but_answering(client, caplog, "ConnectionError")


def test_redis_that_accepts_but_never_answers(silent_port, caplog):
    url = f"redis://127.0.0.1:{silent_port}/0"
    client = create_app(base_settings(BOT_STORE_URL=url, **METRICS)).test_client()
    assert_degraded_but_answering(client, caplog, "TimeoutError")


def test_sqlite_locked_past_its_timeout(tmp_path, caplog):
    path = tmp_path / "bot.db"
    client = create_app(base_settings(BOT_STORE_URL=f"sqlite:///{path}")).test_client()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another program holds the file
    try:
        response = post_whatsapp(client, "my name is Ana")
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert response.status_code == 200
    assert reply_text(response) == DEGRADED
    assert "database is locked" in caplog.text
    # Once the file is free again, the bot remembers as before.
    post_whatsapp(client, "my name is Ana")
    assert reply_text(post_whatsapp(client, "what is my name")) == "Your name is Ana 😊"


class OtherWriter:
    """Another writer (a file of its own, as another process has) holding the writers'
    queue until the test lets go."""

    def __init__(self, path) -> None:
        self.fd = os.open(f"{path}-writer", os.O_RDWR | os.O_CREAT)
        fcntl.flock(self.fd, fcntl.LOCK_EX)

    def let_go(self) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


def write_in_a_thread(store, order: list[str]) -> threading.Thread:
    """Count a message for "a" on another thread; `order` gets "written" when it is done."""

    def write():
        with store.turn("a") as turn:
            turn.count_message()
        order.append("written")

    thread = threading.Thread(target=write)
    thread.start()
    return thread


def test_sqlite_writers_queue_on_the_writer_file(tmp_path, monkeypatch):
    store = SqliteStore(tmp_path / "bot.db")
    queueing = threading.Event()
    lock_file = sqlite_connections.WriterQueue._lock_file

    def announcing(self, deadline):
        queueing.set()
        return lock_file(self, deadline)

    monkeypatch.setattr(sqlite_connections.WriterQueue, "_lock_file", announcing)
    other = OtherWriter(tmp_path / "bot.db")
    order: list[str] = []
    thread = write_in_a_thread(store, order)
    assert queueing.wait(30)  # the turn's write has joined the queue behind the other writer
    order.append("let go")
    other.let_go()
    thread.join(30)
    assert order == ["let go", "written"]
    assert counted(store, "a") == 1
    store.close()


def test_a_writer_file_held_too_long_leaves_it_to_sqlite(tmp_path, monkeypatch):
    monkeypatch.setattr(sqlite_connections, "BUSY_TIMEOUT", 0.2)
    store = SqliteStore(tmp_path / "bot.db")
    other = OtherWriter(tmp_path / "bot.db")  # holds the queue for as long as the test runs
    order: list[str] = []
    write_in_a_thread(store, order).join(30)
    order.append("let go")
    other.let_go()
    assert order == ["written", "let go"]  # the database itself was free
    assert counted(store, "a") == 1
    store.close()


def _exchange(message_id: str) -> Exchange:
    return Exchange(message_id, time.time(), "whatsapp", "hi", "greet", 1.0, (Reply("Hello!"),))


def _turns_then_die(path: str) -> None:
    """In another process: an optimistic turn for "a" and a locked one for "b" that have
    asked for all their writes, then the worker dies before either ends."""
    store = SqliteStore(path)
    store.lock_lease = 3600.0  # only the owner's death can free the lock
    with store.turn("b", "SM2"), store.turn("a", "SM1", optimistic=True) as turn:
        turn.count_message()
        turn.keep(ConversationState(turns=7), _exchange("SM1"))
        os._exit(1)  # killed in the middle of the message


def test_a_worker_that_dies_mid_turn_leaves_nothing_behind(tmp_path):
    path = tmp_path / "bot.db"
    SqliteStore(path).close()
    worker = multiprocessing.get_context("spawn").Process(target=_turns_then_die, args=(str(path),))
    worker.start()
    worker.join(60)
    assert worker.exitcode == 1
    store = SqliteStore(path)
    assert kept_state(store, "a") == ConversationState()  # none of the turn was kept
    assert store.history("a") == []
    assert recorded(store, "a", "SM1") is None
    assert counted(store, "a") == 0
    # The dead worker's lock on "b" is taken over at once, not after its hour-long lease.
    store.lock_wait = 30.0
    with store.turn("b") as turn:
        assert not turn.busy
    store.close()


def test_an_optimistic_turn_never_waits_for_another_workers_locked_turn(tmp_path):
    store = SqliteStore(tmp_path / "bot.db")
    store.lock_wait = 30.0  # a turn that waited would time the test out
    other = SqliteStore(tmp_path / "bot.db")  # another worker
    with other.turn("a") as slow:
        assert not slow.busy
        with store.turn("a", optimistic=True) as quick:
            assert quick.busy
        with store.turn("b", optimistic=True) as turn:  # other senders go ahead
            assert turn.count_message() == 1
    assert counted(store, "b") == 1
    store.close()
    other.close()


def test_an_optimistic_turn_whose_sender_changed_meanwhile_keeps_nothing(tmp_path):
    store = SqliteStore(tmp_path / "bot.db")
    other = SqliteStore(tmp_path / "bot.db")  # another worker, answering the same sender
    with store.turn("a", "SM2", optimistic=True) as turn:
        turn.keep(ConversationState(turns=9), _exchange("SM2"))
        with other.turn("a", "SM1", optimistic=True) as first:
            first.keep(ConversationState(turns=5), _exchange("SM1"))
    assert (first.conflict, turn.conflict) == (False, True)
    assert kept_state(store, "a").turns == 5
    assert recorded(store, "a", "SM2") is None
    with store.turn("a", "SM2", optimistic=True) as again:  # read again, it goes ahead
        again.keep(ConversationState(turns=6), _exchange("SM2"))
    assert not again.conflict
    assert kept_state(store, "a").turns == 6
    store.close()
    other.close()


def test_the_bot_recovers_when_redis_comes_back(tmp_path):
    server = shutil.which("redis-server")
    if server is None:
        unavailable("redis-server is not installed")
    port = closed_port()
    client = create_app(base_settings(BOT_STORE_URL=f"redis://127.0.0.1:{port}/0")).test_client()
    assert reply_text(post_whatsapp(client, "my name is Ana")) == DEGRADED
    command = [
        server,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
    ]
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60  # a safety net only: it comes back within a second
        while client.get("/health").status_code != 200:
            assert time.monotonic() < deadline, "the bot never saw Redis come back"
            time.sleep(0.05)
        post_whatsapp(client, "my name is Ana")
        assert reply_text(post_whatsapp(client, "what is my name")) == "Your name is Ana 😊"
    finally:
        process.terminate()
        process.wait(10)


def test_a_version_1_database_is_migrated_without_losing_anything(tmp_path):
    path = tmp_path / "bot.db"
    with sqlite3.connect(path) as db:
        db.executescript(MIGRATIONS[0].read_text())
        db.execute(
            "INSERT INTO conversations VALUES (?, ?, ?)",
            ("whatsapp:+1555", '{"variables": {"name": "Ana"}, "turns": 3}', time.time()),
        )
        db.execute("PRAGMA user_version = 1")
    store = SqliteStore(path)
    assert kept_state(store, "whatsapp:+1555").variables == {"name": "Ana"}
    with store.turn("whatsapp:+1555") as turn:  # the table version 2 added
        assert turn.count_message() == 1
    assert counted(store, "whatsapp:+1555") == 1
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 6
    store.close()


def test_redis_py_is_loaded_only_by_bots_that_use_redis(tmp_path):
    # A worker's memory matters: redis-py adds about 6 MB and 0.1 s to each one.
    check = (
        "import sys; from bot import create_app; "
        "create_app({'BOT_STORE_URL': sys.argv[1], 'BOT_LOG_LEVEL': 'ERROR'}); "
        "print('redis' in sys.modules)"
    )
    for url, loaded in [
        (f"sqlite:///{tmp_path}/bot.db", "False"),
        ("redis://127.0.0.1:1/0", "True"),
    ]:
        out = subprocess.run(
            [sys.executable, "-c", check, url], capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == loaded


def test_opening_and_checking_the_store_leave_no_connection_to_cross_a_fork(tmp_path):
    # gunicorn's preload_app opens the store in the master, which then forks the workers.
    store = SqliteStore(tmp_path / "bot.db")
    store.check()
    assert store._connections._pool == []
    with store.turn("a") as turn:  # a worker's turns pool their connection as usual
        turn.count_message()
    assert len(store._connections._pool) == 1
    store.close()
