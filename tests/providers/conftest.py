"""Fixtures shared by the provider tests."""

import pytest

from tests.fakes.exchanges import FakeExchanges


@pytest.fixture
def exchanges():
    """The fake SSE and SZSE hosts (tests/fakes/exchanges.py), running on 127.0.0.1."""
    server = FakeExchanges()
    server.start()
    yield server
    server.stop()
