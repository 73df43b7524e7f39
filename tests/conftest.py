import datetime as dt
import socket

import pytest

from tests.fakes.eastmoney import FakeEastmoney, make_funds
from tests.qcluster import QCluster

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
