"""The contract suites (tests/providers/contracts.py) against every shipped source and the
minimal test source: each class below gives one source serving ``MARKET`` from its own wire
format, and inherits the suites of that source's capabilities."""

from __future__ import annotations

import inspect
import sys

import pytest
from django.utils.module_loading import import_string

from etfs.providers.base import (
    XSHG,
    CorporateActionSource,
    DailyBarSource,
    FundListSource,
    FundProfileSource,
    ListPassBarSource,
    Provider,
    StockActionSource,
    SuspensionSource,
    TradingDaySource,
)
from etfs.providers.eastmoney import (
    EastmoneyClient,
    EastmoneyDatacenter,
    EastmoneyFundsClient,
    EastmoneyStockList,
)
from etfs.providers.exchange_stocks import SseStockList, SzseStockList
from etfs.providers.http import HttpConfig
from etfs.providers.sse import SseFundList
from etfs.providers.stocks import ExchangeStockSource, StockListSource
from etfs.providers.szse import SzseFundList
from etfsync_site import settings as production_settings
from tests.fakes.eastmoney import FakeBar, FakeEastmoney, FakeFund
from tests.fakes.eastmoney_datacenter import (
    FakeEastmoneyDatacenter,
    bonus_row,
    rights_row,
    suspension_row,
)
from tests.fakes.eastmoney_funds import FakeDividend, FakeEastmoneyFunds, FakeSplit
from tests.fakes.eastmoney_stocks import CHINEXT, SH_MAIN, FakeStock
from tests.fakes.exchange_stocks import ExchangeStock
from tests.fakes.exchanges import ExchangeFund, FakeExchanges
from tests.providers.contracts import (
    MARKET,
    CorporateActionContract,
    DailyBarContract,
    ExchangeStockContract,
    FundListContract,
    FundProfileContract,
    ListPassBarContract,
    StockActionContract,
    StockListContract,
    SuspensionContract,
    TradingDayContract,
)
from tests.providers.minimal_source import MinimalSource

CONTRACTS = {
    FundListSource: FundListContract,
    DailyBarSource: DailyBarContract,
    ListPassBarSource: ListPassBarContract,
    TradingDaySource: TradingDayContract,
    FundProfileSource: FundProfileContract,
    CorporateActionSource: CorporateActionContract,
    StockActionSource: StockActionContract,
    SuspensionSource: SuspensionContract,
    StockListSource: StockListContract,
    ExchangeStockSource: ExchangeStockContract,
}
HTTP = HttpConfig(read_timeout=2.0, retries=1, backoff=0.01, rate_limit=0)


def market_id(exchange: str) -> int:
    return 1 if exchange == XSHG else 0


def fake_funds() -> list[FakeFund]:
    return [
        FakeFund(
            fund.code,
            market_id(fund.exchange),
            fund.name,
            [
                FakeBar(
                    bar.trade_date,
                    bar.open,
                    bar.close,
                    bar.high,
                    bar.low,
                    bar.volume // 100,
                    bar.amount,
                )
                for bar in fund.records()
            ],
        )
        for fund in MARKET.funds
    ]


@pytest.fixture
def eastmoney():
    server = FakeEastmoney(fake_funds())
    server.start()
    yield EastmoneyClient.from_options({"PUSH2_URL": server.url, "PUSH2HIS_URL": server.url}, HTTP)
    server.stop()


@pytest.fixture
def exchanges():
    server = FakeExchanges(
        [ExchangeFund(f.code, f.exchange, f.name, f.list_date) for f in MARKET.funds],
        [
            ExchangeStock(s.code, s.exchange, s.name, s.list_date, board="创业板")
            if s.code.startswith("3")
            else ExchangeStock(s.code, s.exchange, s.name, s.list_date)
            for s in MARKET.stocks
        ],
    )
    server.start()
    yield server
    server.stop()


class TestEastmoney(FundListContract, DailyBarContract, ListPassBarContract, TradingDayContract):
    backend = EastmoneyClient

    @pytest.fixture
    def source(self, eastmoney):
        return eastmoney


class TestMinimalSource(FundListContract, DailyBarContract):
    backend = MinimalSource

    @pytest.fixture
    def source(self):
        funds = {(fund.code, fund.exchange): (fund.name, list(fund.bars)) for fund in MARKET.funds}
        return MinimalSource.from_options({"FUNDS": funds}, HTTP)


class TestEastmoneyFunds(CorporateActionContract):
    backend = EastmoneyFundsClient

    @pytest.fixture
    def source(self):
        server = FakeEastmoneyFunds(
            fake_funds(),
            dividends=[FakeDividend(*dividend) for dividend in MARKET.dividends],
            splits=[FakeSplit(*split) for split in MARKET.splits],
        )
        server.start()
        yield EastmoneyFundsClient.from_options(
            {"FUND_URL": server.url, "PUSH2HIS_URL": server.url}, HTTP
        )
        server.stop()


class TestSse(FundProfileContract):
    backend = SseFundList

    @pytest.fixture
    def source(self, exchanges):
        return SseFundList.from_options({"QUERY_URL": exchanges.url}, HTTP)


class TestSzse(FundProfileContract):
    backend = SzseFundList

    @pytest.fixture
    def source(self, exchanges):
        return SzseFundList.from_options({"URL": exchanges.url}, HTTP)


class TestEastmoneyStocks(StockListContract):
    backend = EastmoneyStockList

    @pytest.fixture
    def source(self):
        stocks = [
            FakeStock(
                s.code,
                market_id(s.exchange),
                s.name,
                board=CHINEXT if s.code.startswith("3") else SH_MAIN,
                list_date=s.list_date,
            )
            for s in MARKET.stocks
        ]
        server = FakeEastmoney([*fake_funds(), *stocks])
        server.start()
        yield EastmoneyStockList.from_options({"PUSH2_URL": server.url}, HTTP)
        server.stop()


class TestSseStocks(ExchangeStockContract):
    backend = SseStockList

    @pytest.fixture
    def source(self, exchanges):
        return SseStockList.from_options({"QUERY_URL": exchanges.url}, HTTP)


class TestSzseStocks(ExchangeStockContract):
    backend = SzseStockList

    @pytest.fixture
    def source(self, exchanges):
        return SzseStockList.from_options({"URL": exchanges.url}, HTTP)


class TestEastmoneyDatacenter(StockActionContract, SuspensionContract):
    backend = EastmoneyDatacenter

    @pytest.fixture
    def source(self):
        server = FakeEastmoneyDatacenter(
            bonus=[
                bonus_row(code, ex_date, cash=cash, bonus=bonus, it=it)
                for code, _, ex_date, _, cash, bonus, it, rights, _ in MARKET.stock_events
                if not rights
            ],
            rights=[
                rights_row(code, record_date, rights, price)
                for code, _, _, record_date, _, _, _, rights, price in MARKET.stock_events
                if rights
            ],
            suspensions={
                day: [suspension_row(code, start, end)]
                for day, code, start, end in MARKET.suspensions
            },
        )
        server.start()
        yield EastmoneyDatacenter.from_options(
            {"DATACENTER_URL": server.url, "PUSH2HIS_URL": server.url}, HTTP
        )
        server.stop()


def test_every_shipped_source_runs_the_suite_of_each_of_its_capabilities():
    """A source added to the defaults, or a capability added to a source, needs its suite."""
    shipped = [import_string(path) for path in production_settings.ETFSYNC_PROVIDERS]
    covered = {
        (cls.backend, contract)
        for _, cls in inspect.getmembers(sys.modules[__name__], inspect.isclass)
        if hasattr(cls, "backend")
        for contract in CONTRACTS.values()
        if issubclass(cls, contract)
    }
    missing = [
        f"{backend.__name__}: {capability.__name__}"
        for backend in [*shipped, MinimalSource]
        for capability, contract in CONTRACTS.items()
        if issubclass(backend, capability) and (backend, contract) not in covered
    ]
    assert shipped and missing == []
    assert all(issubclass(backend, Provider) for backend in shipped)


def test_every_capability_has_a_suite():
    """A capability class added to the contract (one that names its ``capability``) needs a
    suite in tests/providers/contracts.py and an entry in CONTRACTS."""

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    capabilities = {
        cls
        for cls in subclasses(Provider)
        if "capability" in vars(cls) and cls.__module__.startswith("etfs.providers")
    }
    assert capabilities and capabilities - CONTRACTS.keys() == set()
