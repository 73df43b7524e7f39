import datetime as dt

import pytest

from tests.fakes.eastmoney import FakeEastmoney, make_funds

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
