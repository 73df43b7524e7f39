"""The fund data host as a source (etfs/providers/eastmoney/fund_data.py) against its fake."""

import pytest

from etfs.providers.base import CASH, ProviderDataError
from etfs.providers.eastmoney import EastmoneyFundsClient
from etfs.providers.eastmoney.fund_actions import DIVIDENDS
from etfs.providers.http import HttpConfig
from tests.fakes.eastmoney_funds import FakeDividend, FakeEastmoneyFunds

HTTP = HttpConfig(read_timeout=2.0, retries=1, backoff=0.01, rate_limit=0)
DIVIDEND_ROWS = [FakeDividend(f"5100{n:02d}", f"ETF{n}", "2024-06-03", "0.0100") for n in range(5)]


@pytest.fixture
def server():
    server = FakeEastmoneyFunds(dividends=DIVIDEND_ROWS, page_size=2)
    server.start()
    yield server
    server.stop()


def client(server) -> EastmoneyFundsClient:
    return EastmoneyFundsClient.from_options(
        {"FUND_URL": server.url, "PUSH2HIS_URL": server.url}, HTTP
    )


def test_pages_through_a_year(server):
    fetched = client(server).corporate_actions(DIVIDENDS, 2024)

    assert fetched.error is None
    assert sorted(action.code for action in fetched.actions) == [row.code for row in DIVIDEND_ROWS]
    assert {action.kind for action in fetched.actions} == {CASH}
    assert (fetched.pages, fetched.total_pages) == (3, 3)


def test_a_list_that_ignores_the_page_and_claims_500_costs_two_requests(server):
    """Issue 23 item 6: a source that ignores `page` and claims 500 pages made 503 requests."""
    server.ignores_page = True

    fetched = client(server).corporate_actions(DIVIDENDS, 2024)

    assert len(server.paths("funddataIndex_Interface")) == 2
    assert isinstance(fetched.error, ProviderDataError)
    assert "page 2 repeats page 1: a paging fault" in str(fetched.error)
    # What came before the fault is kept, once.
    assert [action.code for action in fetched.actions] == ["510000", "510001"]
