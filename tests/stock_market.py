"""A small market of stocks beside ETFs, served by the fake Eastmoney and the fake exchanges.

Eastmoney: four ETFs, eight stocks (two on each A-share board: 600000, 688001, 000001,
300001, 600001, 688002, 000002, 300002), ST stock 000002, an ETF with the six digits of
stock 600000 on the other exchange (600000.XSHE), the OTC code 400001 on the ``m:0 s:3``
board, 603999 in its k-lines but not its list, and two stocks off its list (600087
delisted 2024-02-01 with bars up to then, 000003 delisted 2002 with no k-lines at all).
The exchanges: the same stocks with listing dates, 603999 only on the SSE's list, the
delisted 600087, 000003 and a delisted B share.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from types import SimpleNamespace

import pytest

from tests.conftest import HISTORY_END, HISTORY_START
from tests.fakes.eastmoney import FakeFund, make_bars, make_funds
from tests.fakes.eastmoney_funds import FakeEastmoneyFunds
from tests.fakes.eastmoney_stocks import (
    delisted_stock,
    make_stock_bars,
    make_stocks,
    otc_stock,
)
from tests.fakes.exchange_stocks import ExchangeStock
from tests.fakes.exchanges import FakeExchanges

STOCK_SOURCES = [
    "etfs.providers.eastmoney.EastmoneyClient",
    "etfs.providers.eastmoney.EastmoneyFundsClient",
    "etfs.providers.eastmoney.EastmoneyStockList",
    "etfs.providers.exchange_stocks.SseStockList",
    "etfs.providers.exchange_stocks.SzseStockList",
]
DELISTED_ON = dt.date(2024, 2, 1)
SSE_ONLY = "603999"


def eastmoney_securities(stock_count: int = 8):
    funds = make_funds(4, HISTORY_START, HISTORY_END)
    twin = FakeFund("600000", 0, "深同码ETF", make_bars(99, HISTORY_START, HISTORY_END))
    stocks = make_stocks(stock_count, HISTORY_START, HISTORY_END)
    by_code = {stock.code: stock for stock in stocks}
    if "000002" in by_code:
        by_code["000002"].st = True
        by_code["000002"].name = "*ST深主板1"
    gone = make_stock_bars(87, HISTORY_START, DELISTED_ON - dt.timedelta(days=1))
    # On the SSE's list and in the k-lines, not on Eastmoney's list (see ``unlisted``).
    sse_only = make_stocks(1, HISTORY_START, HISTORY_END, seed=603)[0]
    sse_only.code, sse_only.name, sse_only.list_date = SSE_ONLY, "沪独有", dt.date(2024, 3, 1)
    extra = [
        sse_only,
        otc_stock(),
        delisted_stock("600087", 1, "退市长油", gone, list_date=dt.date(1997, 6, 12)),
        delisted_stock("000003", 0, "PT金田A", [], empty_klines=True),
    ]
    return [*funds, twin, *stocks, *extra]


def exchange_stocks(stocks) -> list[ExchangeStock]:
    listed = [
        ExchangeStock(
            stock.code,
            "XSHG" if stock.market == 1 else "XSHE",
            stock.name,
            stock.list_date,
            stock_type=8 if stock.code.startswith("688") else 1,
            board="创业板" if stock.code.startswith("300") else "主板",
        )
        for stock in stocks
        if getattr(stock, "board", "") and stock.listed and not stock.code.startswith("4")
    ]
    return [
        *listed,
        ExchangeStock("600087", "XSHG", "*ST长油", dt.date(1997, 6, 12), DELISTED_ON),
        ExchangeStock(
            "900950", "XSHG", "新城B股", dt.date(1997, 10, 16), dt.date(2015, 11, 23), stock_type=2
        ),
        ExchangeStock("000003", "XSHE", "PT金田A", dt.date(1991, 7, 3), dt.date(2002, 6, 14)),
    ]


@pytest.fixture
def stock_market(settings):
    """Both fakes running, settings pointing at them, the stock sources configured."""
    securities = eastmoney_securities()
    # The fund data host (corporate actions) too, without events.
    eastmoney = FakeEastmoneyFunds(securities)
    eastmoney.unlisted = {SSE_ONLY}
    exchanges = FakeExchanges(funds=[], stocks=exchange_stocks(securities))
    url = eastmoney.start()
    settings.ETFSYNC_EASTMONEY_PUSH2_URL = settings.ETFSYNC_EASTMONEY_PUSH2HIS_URL = url
    settings.ETFSYNC_EASTMONEY_FUND_URL = url
    settings.ETFSYNC_SSE_QUERY_URL = settings.ETFSYNC_SZSE_URL = exchanges.start()
    settings.ETFSYNC_PROVIDERS = STOCK_SOURCES
    yield SimpleNamespace(
        eastmoney=eastmoney,
        exchanges=exchanges,
        stock=lambda code, market: eastmoney.funds[(market, code)],
        replace=lambda stock, **changes: eastmoney.add(dataclasses.replace(stock, **changes)),
    )
    eastmoney.stop()
    exchanges.stop()
