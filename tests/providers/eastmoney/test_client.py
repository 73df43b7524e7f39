"""EastmoneyClient against the fake server: paging the ETF list, the k-line request."""

import datetime as dt

import pytest

from etfs.providers.base import XSHE, XSHG, ProviderDataError, ProviderUnavailable
from etfs.providers.eastmoney import EastmoneyClient
from etfs.providers.http import HttpClient, HttpConfig
from tests.conftest import HISTORY
from tests.fakes.eastmoney import FakeEastmoney, make_funds

FUNDS = 250


@pytest.fixture
def server():
    server = FakeEastmoney(make_funds(FUNDS, *HISTORY))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def client(server):
    http = HttpClient(HttpConfig(read_timeout=2.0, retries=2, backoff=0.01, rate_limit=0))
    yield EastmoneyClient(http, push2_url=server.url + "/", push2his_url=server.url)
    http.close()


def list_requests(server):
    return server.paths("/api/qt/clist/get")


class TestFetchEtfList:
    def test_pages_until_the_reported_total(self, server, client):
        result = client.fetch_etf_list()

        assert result.error is None
        assert result.complete
        assert result.reported_total == FUNDS
        assert result.pages == 3
        assert len(list_requests(server)) == 3
        keys = {(listing.code, listing.exchange) for listing in result.listings}
        assert len(keys) == len(result.listings) == FUNDS
        assert keys == {
            (fund.code, XSHG if fund.market == 1 else XSHE) for fund in server.funds.values()
        }

    def test_a_lower_page_cap_that_offsets_by_the_asked_size_loses_no_fund(self, server, client):
        """The cap moved below 100 and the source still offsets pages by the pz we sent."""
        server.page_cap = 40
        server.offset_by_requested_size = True

        result = client.fetch_etf_list()

        assert result.complete
        assert len({(item.code, item.exchange) for item in result.listings}) == FUNDS
        sizes = [request.args["pz"] for request in list_requests(server)]
        assert sizes[0] == "100" and set(sizes[1:]) == {"40"}  # followed the source's size

    @pytest.mark.parametrize("seed", range(8))
    def test_funds_that_move_between_pages_are_caught_by_another_pass(self, server, client, seed):
        """A source that ignores the sort field orders by a moving key (change %)."""
        server.forced_sort_field = "f3"
        server.rng.seed(seed)

        result = client.fetch_etf_list()

        keys = {(item.code, item.exchange) for item in result.listings}
        assert result.complete, f"{len(keys)} of {FUNDS} after {result.pages} requests"
        assert len(keys) == FUNDS
        assert result.pages <= 5 * 3  # at most five passes of three pages

    def test_asks_for_the_documented_shape(self, server, client):
        client.fetch_etf_list()

        pages = [int(request.args["pn"]) for request in list_requests(server)]
        assert pages == [1, 2, 3]
        for request in list_requests(server):
            assert request.args["pz"] == "100"
            assert request.args["fid"] == "f12"  # sorted by code: rows cannot move
            assert request.args["np"] == "1"
            assert request.args["fltt"] == "2"
            assert "cb" not in request.args
            boards = request.args["fs"].split(",")
            assert "b:MK0827" in boards
            assert {"f12", "f13", "f14"} <= set(request.args["fields"].split(","))

    def test_reports_progress_per_page(self, client):
        seen = []

        client.fetch_etf_list(on_page=lambda page, covered, total: seen.append((page, covered)))

        assert seen == [(1, 100), (2, 200), (3, 250)]

    def test_a_server_with_a_smaller_page_cap_still_gives_every_fund(self, server, client):
        server.page_cap = 40

        result = client.fetch_etf_list()

        assert result.complete
        assert len(result.listings) == FUNDS
        assert result.pages == 7
        assert len(list_requests(server)) == 7

    def test_a_failure_on_page_two_keeps_page_one(self, server, client):
        server.fail("500", times=5, path="clist", page=2)

        result = client.fetch_etf_list()

        assert isinstance(result.error, ProviderUnavailable)
        assert "HTTP 500" in str(result.error)
        assert not result.complete
        assert result.pages == 1
        assert result.reported_total == FUNDS
        assert len(result.listings) == 100
        assert len(list_requests(server)) == 1 + 3  # page 1, then page 2 tried three times

    def test_a_wrong_shape_on_page_two_is_a_data_error(self, server, client):
        server.fail("diff-object", page=2)

        result = client.fetch_etf_list()

        assert isinstance(result.error, ProviderDataError)
        assert "np=1" in str(result.error)
        assert len(result.listings) == 100

    def test_a_failure_on_page_one_leaves_nothing(self, server, client):
        server.fail("html", times=None, path="clist")

        result = client.fetch_etf_list()

        assert result.listings == []
        assert result.pages == 0
        assert "HTML page" in str(result.error)

    def test_bad_rows_count_towards_the_total(self, server, client):
        server.funds[(1, "510000")].name = "-"

        result = client.fetch_etf_list()

        assert result.complete
        assert len(result.listings) == FUNDS - 1
        [problem] = result.problems
        assert problem.code == "510000"
        assert "name (f14) missing" in problem.message

    def test_an_empty_board_is_complete_and_empty(self, server, client):
        server.funds.clear()

        result = client.fetch_etf_list()

        assert result.error is None
        assert result.listings == []
        assert result.reported_total == 0
        assert result.complete

    def test_a_server_that_ignores_the_page_number_does_not_loop(self, server, client):
        server.page_cap = 10
        pages_asked = []
        original_route = server.route

        def ignore_pn(request, fault):
            pages_asked.append(request.args.get("pn"))
            request.args = request.args.copy()
            request.args["pn"] = "1"
            return original_route(request, fault)

        server.route = ignore_pn

        result = client.fetch_etf_list()

        assert len(result.listings) == 10
        assert not result.complete
        assert pages_asked == ["1", "2"]


class TestFetchKlines:
    @pytest.mark.parametrize(
        ("code", "exchange", "secid"),
        [("510000", XSHG, "1.510000"), ("159000", XSHE, "0.159000")],
    )
    def test_the_secid_carries_the_market_of_the_exchange(
        self, server, client, code, exchange, secid
    ):
        answer = client.fetch_klines(code, exchange, dt.date(2024, 1, 2), dt.date(2024, 1, 31))

        [request] = server.paths("/api/qt/stock/kline/get")
        assert request.args["secid"] == secid
        assert request.args["beg"] == "20240102"
        assert request.args["end"] == "20240131"
        assert request.args["fqt"] == "0"  # unadjusted
        assert request.args["klt"] == "101"
        assert answer["data"]["code"] == code

    def test_daily_bars_parses_the_answer(self, server, client):
        series = client.daily_bars(
            "159000", XSHE, dt.date(2024, 1, 2), dt.date(2024, 1, 31), today=dt.date(2024, 2, 1)
        )

        fund = server.funds[(0, "159000")]
        expected = [bar for bar in fund.bars if bar.day <= dt.date(2024, 1, 31)]
        assert [bar.trade_date for bar in series.bars] == [bar.day for bar in expected]
        assert series.bars[0].close == expected[0].close
        assert series.bars[0].volume == expected[0].lots * 100
        assert [problem for problem in series.problems if problem.fatal] == []
