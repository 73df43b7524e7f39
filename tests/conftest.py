import datetime as dt
import functools
import shutil
import socket
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings

from tests.database_server import describe as describe_database
from tests.database_server import embedded_postgres_reason, first_line
from tests.fakes.eastmoney import FakeEastmoney, make_funds
from tests.qcluster import QCluster

# Fixtures of a market with stocks beside the ETFs (stock_market).
pytest_plugins = ["tests.stock_market"]

TEST_SETTINGS = "etfsync_site.settings_test"
BROWSER_TESTS = Path(__file__).resolve().parent / "browser"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

# A fixed history window keeps the fake data independent of today's date.
HISTORY_START = dt.date(2024, 1, 1)
HISTORY_END = dt.date(2024, 3, 29)


@pytest.fixture
def fake_eastmoney(settings):
    """A running fake Eastmoney (both hosts) with 6 funds; settings point at it."""
    server = FakeEastmoney(make_funds(6, HISTORY_START, HISTORY_END))
    url = server.start()
    settings.ETFSYNC_EASTMONEY_PUSH2_URL = url
    settings.ETFSYNC_EASTMONEY_PUSH2HIS_URL = url
    yield server
    server.stop()


HISTORY = (HISTORY_START, HISTORY_END)


@pytest.fixture
def server(fake_eastmoney):
    """The fake with its six funds, their StockInfo rows stored by a list sync; the list
    sync's requests forgotten. (Provider tests define their own bare ``server``.)"""
    from etfs.sync.lists import sync_etf_lists

    sync_etf_lists()
    fake_eastmoney.requests.clear()
    return fake_eastmoney


@pytest.fixture
def superuser(client):
    """A superuser, logged in on ``client``."""
    from django.contrib.auth.models import User

    user = User.objects.create_superuser("root", password="unused")
    client.force_login(user)
    return user


@pytest.fixture
def start_fake_eastmoney(settings):
    """Start a fake Eastmoney with ``count`` funds (or given funds); settings point at it.

    Call it more than once and the last server started is the one settings point at.
    """
    servers = []

    def start(count: int = 6, *, funds=None) -> FakeEastmoney:
        server = FakeEastmoney(funds if funds is not None else make_funds(count, *HISTORY))
        url = server.start()
        settings.ETFSYNC_EASTMONEY_PUSH2_URL = url
        settings.ETFSYNC_EASTMONEY_PUSH2HIS_URL = url
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens: connections are refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def provider_down(settings, closed_port_url) -> str:
    """Settings point both Eastmoney hosts at a closed port."""
    settings.ETFSYNC_EASTMONEY_PUSH2_URL = closed_port_url
    settings.ETFSYNC_EASTMONEY_PUSH2HIS_URL = closed_port_url
    return closed_port_url


@pytest.fixture
def start_qcluster(tmp_path):
    """Start ``manage.py qcluster`` on this test's database: ``start(server, **env)``.

    See tests.qcluster.QCluster.start; every cluster started is stopped after the test.
    """
    with QCluster(tmp_path) as clusters:
        yield clusters.start


# --- the database server: configured, running, or embedded ------------------------------------


@functools.cache
def session_embedded_postgres_reason() -> str | None:
    """Why this session needs its own PostgreSQL (tests/database_server.py); None if it has one."""
    if settings.SETTINGS_MODULE != TEST_SETTINGS:
        return None
    return embedded_postgres_reason(settings.TEST_DATABASE_URL, settings.DATABASES["default"])


def pytest_report_header(config):
    """Say which database server the run uses."""
    if settings.SETTINGS_MODULE != TEST_SETTINGS:
        return None
    return describe_database(
        settings.TEST_DATABASE_URL,
        settings.DATABASES["default"],
        session_embedded_postgres_reason(),
    )


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """Start the embedded PostgreSQL when the session has no other server, and point the
    connection at it (qcluster subprocesses get its URL from the connection's settings)."""
    if session_embedded_postgres_reason() is None:
        yield
        return
    from django.db import connection

    from tests.embedded_postgres_server import EmbeddedPostgres

    server = EmbeddedPostgres().start()
    connection.close()
    connection.settings_dict.update(HOST="127.0.0.1", PORT=server.port, USER="postgres")
    connection.settings_dict["PASSWORD"] = ""
    yield
    server.stop()


# --- services a test may need: Redis, a browser -------------------------------------------------


@pytest.fixture
def redis_queue():
    """A django-q2 queue on Redis (TEST_REDIS_URL) for a cluster: ``.url`` and ``.name``.

    The queue name is this test's own (subprocesses get it in ETFSYNC_TEST_QUEUE_NAME), so a
    run beside it is not disturbed and only this test's keys are deleted afterwards. Skips
    with one line when no Redis answers.
    """
    import redis

    url = settings.ETFSYNC_TEST_REDIS_URL
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis at {url}: {first_line(exc)}")
    name = f"etfsync-test-{uuid.uuid4().hex[:12]}"
    yield SimpleNamespace(url=url, name=name, client=client, keys=f"django_q:{name}:*")
    own_keys = client.keys(f"django_q:{name}:*")
    if own_keys:
        client.delete(*own_keys)
    client.close()


def pytest_collection_modifyitems(config, items):
    """Mark what the fast inner loop skips (CONTRIBUTING.md): every test in tests/browser is a
    browser test, and every test that starts a cluster (``start_qcluster``) a qcluster test."""
    for item in items:
        if BROWSER_TESTS in item.path.parents:
            item.add_marker(pytest.mark.browser)
        if "start_qcluster" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.qcluster)


# A test marked `browser` (every test in tests/browser is) skips without Chromium; in CI it fails.
def pytest_runtest_setup(item):
    if CHROMIUM is None and item.get_closest_marker("browser"):
        reason = "Chromium is not installed (apt install chromium)"
        if settings.ETFSYNC_TEST_IN_CI:
            pytest.fail(f"{reason}; CI must run the browser tests", pytrace=False)
        pytest.skip(reason)
