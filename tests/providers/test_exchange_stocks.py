"""The exchanges' stock lists: the parsers over the documented shapes, the sources over a fake."""

import datetime as dt

import pytest

from etfs.providers.base import XSHE, XSHG, ProviderDataError
from etfs.providers.exchange_stocks import (
    LISTED_COLUMNS,
    SseStockList,
    SzseStockList,
    parse_sse_stock,
    parse_szse_stock,
)
from etfs.providers.http import HttpConfig
from etfs.providers.stocks import board_of
from tests.fakes.exchange_stocks import sample_exchange_stocks
from tests.fakes.exchanges import FakeExchanges

SSE_ROW = {
    "A_STOCK_CODE": "600000",
    "B_STOCK_CODE": "-",
    "COMPANY_CODE": "600000",
    "COMPANY_ABBR": "浦发银行",
    "SEC_NAME_CN": "浦发银行",
    "LIST_DATE": "19991110",
    "DELIST_DATE": "-",
}
CONFIG = HttpConfig(read_timeout=2.0, retries=1, backoff=0.01, rate_limit=0)


@pytest.mark.parametrize(
    ("code", "exchange", "board"),
    [
        ("600000", XSHG, "main"),
        ("605001", XSHG, "main"),
        ("688001", XSHG, "star"),
        ("689009", XSHG, "star"),
        ("000001", XSHE, "main"),
        ("003816", XSHE, "main"),
        ("300750", XSHE, "chinext"),
        ("301001", XSHE, "chinext"),
        ("900950", XSHG, ""),  # B share
        ("200002", XSHE, ""),  # B share
        ("400001", XSHE, ""),  # the OTC code of a delisted company
        ("510300", XSHG, ""),  # a fund
        ("000001", XSHG, ""),  # the SSE Composite's code on the other exchange
    ],
)
def test_board_of_a_code(code, exchange, board):
    assert board_of(code, exchange) == board


class TestSseParsing:
    def test_a_listed_row(self):
        stock = parse_sse_stock(SSE_ROW)

        assert (stock.code, stock.exchange, stock.name) == ("600000", XSHG, "浦发银行")
        assert stock.list_date == dt.date(1999, 11, 10) and stock.delist_date is None

    def test_a_delisted_row_has_its_date(self):
        stock = parse_sse_stock({**SSE_ROW, "A_STOCK_CODE": "600087", "DELIST_DATE": "20140605"})

        assert stock.delist_date == dt.date(2014, 6, 5)

    @pytest.mark.parametrize(
        "row", [{"A_STOCK_CODE": "-", "B_STOCK_CODE": "900950"}, {"A_STOCK_CODE": "900950"}]
    )
    def test_b_shares_are_skipped(self, row):
        assert parse_sse_stock({**SSE_ROW, **row}) is None

    @pytest.mark.parametrize("code", ["60000", "６００００0", "abcdef"])
    def test_a_bad_code_is_refused(self, code):
        with pytest.raises(ProviderDataError, match="A_STOCK_CODE"):
            parse_sse_stock({**SSE_ROW, "A_STOCK_CODE": code})

    def test_a_bad_date_says_where(self):
        with pytest.raises(ProviderDataError, match="600000"):
            parse_sse_stock({**SSE_ROW, "LIST_DATE": "1999-13-45"})


class TestSzseParsing:
    KEYS = {"code": "agdm", "name": "agjc", "list_date": "agssrq"}

    def test_anchors_are_stripped(self):
        row = {
            "agdm": "<a href='/x?code=000001'><u>000001</u></a>",
            "agjc": "<a href='/y'><u>平安银行</u></a>",
            "agssrq": "1991-04-03",
        }
        stock = parse_szse_stock(row, self.KEYS)

        assert (stock.code, stock.exchange, stock.name) == ("000001", XSHE, "平安银行")
        assert stock.list_date == dt.date(1991, 4, 3)

    def test_a_b_share_is_skipped(self):
        row = {"agdm": "200002", "agjc": "万科B", "agssrq": "1993-05-28"}
        assert parse_szse_stock(row, self.KEYS) is None

    def test_listed_columns_are_found_by_key(self):
        assert set(LISTED_COLUMNS) == {"code", "name", "list_date"}


@pytest.fixture
def server():
    server = FakeExchanges(stocks=sample_exchange_stocks(extra_szse=45))
    server.start()
    yield server
    server.stop()


def test_sse_lists_main_and_star_and_the_delisted_without_b_shares(server):
    server.sse_stock_page_size = 1
    source = SseStockList.from_settings(
        type("S", (), {"ETFSYNC_SSE_QUERY_URL": server.url}), CONFIG
    )

    found = source.stock_lists()

    assert found.error is None and found.delisted_error is None and not found.problems
    assert sorted(stock.code for stock in found.listed) == ["600000", "688001"]
    assert [(s.code, s.delist_date) for s in found.delisted] == [("600087", dt.date(2014, 6, 5))]
    stock_types = [r.args.get("STOCK_TYPE") for r in server.requests if "commonQuery" in r.path]
    assert {"1", "8"} <= set(stock_types)


def test_szse_pages_each_tab_by_its_own_key(server):
    source = SzseStockList.from_settings(type("S", (), {"ETFSYNC_SZSE_URL": server.url}), CONFIG)

    found = source.stock_lists()

    assert found.error is None and found.delisted_error is None
    listed = sorted(stock.code for stock in found.listed)
    assert len(listed) == 47 and listed[:2] == ["000001", "002000"] and "300001" in listed
    assert [(s.code, s.delist_date) for s in found.delisted] == [("000003", dt.date(2002, 6, 14))]
    pages = [r.args.get("tab1PAGENO") for r in server.requests if r.args.get("CATALOGID") == "1110"]
    assert pages == ["1", "2", "3"]


def test_szse_a_repeated_page_is_a_paging_fault(server, monkeypatch):
    source = SzseStockList.from_settings(type("S", (), {"ETFSYNC_SZSE_URL": server.url}), CONFIG)
    asked = source.fetch_report
    # A client that pages tab1 with another tab's key gets page 1 again and again.
    monkeypatch.setattr(
        source, "fetch_report", lambda catalog, tab, page: asked(catalog, "tab9", page)
    )

    found = source.stock_lists()

    assert isinstance(found.error, ProviderDataError)
    assert "repeats page 1" in str(found.error)


def test_a_ban_on_the_delisted_list_keeps_the_listed_one(server):
    source = SzseStockList.from_settings(type("S", (), {"ETFSYNC_SZSE_URL": server.url}), CONFIG)
    fetch = source.fetch_report

    def refuse_terminated(catalog, tab, page):
        if catalog == "1793_ssgs":
            server.fail("XSHE", "down")
        return fetch(catalog, tab, page)

    source.fetch_report = refuse_terminated
    found = source.stock_lists()

    assert found.error is None and found.delisted_error is not None
    assert len(found.listed) == 47 and found.delisted == []
