"""One test suite per capability of the provider contract, run against every source that has it.

As Django runs one session test mixin against every session backend: a source's test class
inherits the suites of its capabilities and gives one fixture, ``source``, that serves the
shared data below (``MARKET``) from wherever that source reads it (a fake server speaking its
wire format, or the minimal source's options). What a suite asserts holds for any source the
services may be given, so a second source can stand beside Eastmoney.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from etfs.providers.base import (
    CASH,
    SPLIT,
    XSHE,
    XSHG,
    Bar,
    ProviderDataError,
)
from etfs.providers.stocks import board_of


@dataclass(frozen=True)
class MarketFund:
    code: str
    exchange: str
    name: str
    # (day, open, high, low, close, volume in shares, amount in yuan)
    bars: tuple[tuple[str, str, str, str, str, int, str], ...] = ()
    list_date: dt.date = dt.date(2020, 1, 6)

    def records(self) -> list[Bar]:
        return [
            Bar(dt.date.fromisoformat(day), *map(Decimal, prices), volume, Decimal(amount))
            for day, *prices, volume, amount in self.bars
        ]


@dataclass(frozen=True)
class Market:
    funds: tuple[MarketFund, ...]
    stocks: tuple[MarketFund, ...] = ()
    # (code, name, ex-date, cash per unit) and (code, name, ex-date, units after per unit)
    dividends: tuple[tuple[str, str, str, str], ...] = ()
    splits: tuple[tuple[str, str, str, str], ...] = ()
    bad_bar: tuple[str, str] = ("", "")  # (code, day) of a bar no source may pass on
    # Stock events as the source lists them, per 10 shares: (code, exchange, ex-date or None,
    # record date, cash, bonus, capitalisation, rights, rights price).
    stock_events: tuple[tuple, ...] = ()
    # One day's suspension snapshot: (day, code, start, end or None).
    suspensions: tuple[tuple[str, str, str, str | None], ...] = ()
    extra: dict = field(default_factory=dict)

    @property
    def days(self) -> list[dt.date]:
        return sorted({bar.trade_date for fund in self.funds for bar in fund.records()})

    @property
    def last_day(self) -> dt.date:
        return self.days[-1]


MARKET = Market(
    funds=(
        MarketFund(
            "588000",
            XSHG,
            "科创50ETF",
            (
                ("2024-03-01", "1.000", "1.050", "0.990", "1.040", 100000, "103000.00"),
                ("2024-03-04", "1.040", "1.060", "1.020", "1.050", 200000, "208000.00"),
                ("2024-03-05", "1.050", "1.070", "1.030", "1.060", 150000, "157500.00"),
            ),
            dt.date(2020, 11, 16),
        ),
        MarketFund(
            "159915",
            XSHE,
            "创业板ETF",
            (
                ("2024-03-04", "2.000", "2.100", "1.950", "2.050", 50000, "101000.00"),
                # high below low: no source may hand this bar on
                ("2024-03-05", "2.050", "1.900", "2.000", "2.060", 60000, "123000.00"),
            ),
            dt.date(2011, 12, 9),
        ),
    ),
    stocks=(
        MarketFund("600000", XSHG, "浦发银行", list_date=dt.date(1999, 11, 10)),
        MarketFund("300750", XSHE, "宁德时代", list_date=dt.date(2018, 6, 11)),
    ),
    dividends=(("588000", "科创50ETF", "2024-03-04", "0.0100"),),
    splits=(("159915", "创业板ETF", "2024-03-05", "2.000000"),),
    bad_bar=("159915", "2024-03-05"),
    stock_events=(
        ("600000", XSHG, "2024-03-04", "2024-03-01", "1.5", "3", "2", None, None),
        ("300750", XSHE, None, "2024-03-01", None, None, None, "3", "6.00"),
    ),
    suspensions=(("2024-03-05", "300750", "2024-03-04", "2024-03-06"),),
)


def good_bars(fund: MarketFund, start: dt.date, end: dt.date) -> list[Bar]:
    bad_code, bad_day = MARKET.bad_bar
    return [
        bar
        for bar in fund.records()
        if start <= bar.trade_date <= end
        and not (fund.code == bad_code and bar.trade_date.isoformat() == bad_day)
    ]


# --- the suites -------------------------------------------------------------------------------


class FundListContract:
    """FundListSource: the primary list names every fund once, with its exchange and name."""

    def test_lists_every_fund_with_its_exchange_and_name(self, source):
        fetched = source.fund_list()

        assert fetched.error is None and fetched.complete
        assert sorted((item.code, item.exchange, item.name) for item in fetched.listings) == sorted(
            (fund.code, fund.exchange, fund.name) for fund in MARKET.funds
        )
        assert fetched.reported_total == len(MARKET.funds)
        assert set(source.exchanges) >= {fund.exchange for fund in MARKET.funds}

    def test_progress_never_counts_backwards(self, source):
        seen = []
        source.fund_list(on_page=lambda *counts: seen.append(counts))

        assert seen == sorted(seen)


class DailyBarContract:
    """DailyBarSource: one security's unadjusted bars in an inclusive range, checked."""

    def test_gives_the_bars_of_the_range_in_shares_and_exact_decimals(self, source):
        fund = MARKET.funds[0]
        start, end = dt.date(2024, 3, 4), dt.date(2024, 3, 5)

        series = source.daily_bars(fund.code, fund.exchange, start, end, MARKET.last_day)

        assert (series.code, series.exchange) == (fund.code, fund.exchange)
        assert list(series.bars) == good_bars(fund, start, end)
        assert all(isinstance(bar.close, Decimal) for bar in series.bars)
        assert [problem for problem in series.problems if problem.fatal] == []

    def test_a_bar_that_cannot_be_true_is_left_out_with_a_problem(self, source):
        fund = MARKET.funds[1]
        start, end = MARKET.days[0], MARKET.last_day

        series = source.daily_bars(fund.code, fund.exchange, start, end, MARKET.last_day)

        assert list(series.bars) == good_bars(fund, start, end)
        rejected = [problem for problem in series.problems if problem.fatal]
        assert len(rejected) == 1 and MARKET.bad_bar[1] in rejected[0].message

    def test_an_unknown_security_is_a_data_error(self, source):
        with pytest.raises(ProviderDataError):
            source.daily_bars("510999", XSHG, MARKET.days[0], MARKET.last_day, MARKET.last_day)


class ListPassBarContract:
    """ListPassBarSource: after the close, the day's final bar of every fund that traded."""

    def test_gives_the_days_bar_of_every_fund_that_traded(self, source):
        day = MARKET.last_day

        day_bars = source.day_bars(day)

        assert day_bars.error is None and day_bars.complete
        assert set(day_bars.settled_dates) == {day}  # every settled row carries the day
        expected = {
            (fund.code, fund.exchange): good_bars(fund, day, day)[0]
            for fund in MARKET.funds
            if good_bars(fund, day, day)
        }
        assert day_bars.bars == expected
        assert source.rows_per_request > 0


class TradingDayContract:
    """TradingDaySource: the days the market traded, read from the market itself."""

    def test_gives_the_trading_days_of_the_range(self, source):
        start, end = dt.date(2024, 3, 2), MARKET.last_day

        assert source.trading_days(start, end) == [day for day in MARKET.days if day >= start]


class FundProfileContract:
    """FundProfileSource: one exchange's own list, each fund with its profile."""

    def test_gives_each_fund_of_its_exchange_with_its_listing_date(self, source):
        fetched = source.fund_profiles()

        assert fetched.error is None and fetched.exchange == source.exchange
        assert sorted((p.code, p.exchange, p.list_date) for p in fetched.profiles) == sorted(
            (fund.code, fund.exchange, fund.list_date)
            for fund in MARKET.funds
            if fund.exchange == source.exchange
        )
        assert all(profile.name for profile in fetched.profiles)


class CorporateActionContract:
    """CorporateActionSource: the market's fund events by list and year, per unit."""

    def test_gives_the_dividends_and_splits_of_a_year(self, source):
        actions = [
            action
            for list_kind, _ in source.lists
            for action in source.corporate_actions(list_kind, 2024).actions
        ]

        assert sorted(
            (a.code, a.ex_date.isoformat(), a.kind, a.cash, a.ratio) for a in actions
        ) == (
            sorted(
                [
                    (code, day, CASH, Decimal(cash), Decimal(1))
                    for code, _, day, cash in MARKET.dividends
                ]
                + [
                    (code, day, SPLIT, Decimal(0), Decimal(ratio))
                    for code, _, day, ratio in MARKET.splits
                ]
            )
        )

    def test_a_year_without_events_is_empty_not_an_error(self, source):
        for list_kind, _ in source.lists:
            fetched = source.corporate_actions(list_kind, 2001)
            assert (fetched.error, fetched.actions) == (None, [])

    def test_gives_the_sources_backward_adjusted_closes(self, source):
        fund = MARKET.funds[0]

        closes = source.backward_adjusted_closes(
            fund.code, fund.exchange, MARKET.days[0], MARKET.last_day
        )

        assert sorted(closes) == [bar.trade_date for bar in fund.records()]


class StockListContract:
    """StockListSource: every A share of the four boards, once, with its exchange and name."""

    def test_lists_every_stock_with_its_exchange_and_name(self, source):
        fetched = source.stock_list()

        assert fetched.error is None
        assert sorted((item.code, item.exchange, item.name) for item in fetched.listings) == sorted(
            (stock.code, stock.exchange, stock.name) for stock in MARKET.stocks
        )
        assert all(board_of(item.code, item.exchange) for item in fetched.listings)


class ExchangeStockContract:
    """ExchangeStockSource: one exchange's listed A shares with their listing dates."""

    def test_gives_each_listed_stock_of_its_exchange_with_its_listing_date(self, source):
        fetched = source.stock_lists()

        assert fetched.error is None and fetched.exchange == source.exchange
        assert sorted((s.code, s.exchange, s.list_date) for s in fetched.listed) == sorted(
            (stock.code, stock.exchange, stock.list_date)
            for stock in MARKET.stocks
            if stock.exchange == source.exchange
        )


class StockActionContract:
    """StockActionSource: the stocks' events by list and year (or by security), per share."""

    expected = [
        ("600000", XSHG, "2024-03-04", "cash", Decimal("0.15"), Decimal(1), Decimal(0)),
        ("600000", XSHG, "2024-03-04", "bonus", Decimal(0), Decimal("1.3"), Decimal(0)),
        ("600000", XSHG, "2024-03-04", "capitalisation", Decimal(0), Decimal("1.2"), Decimal(0)),
        # A rights issue goes ex the trading day after its record date: the service decides.
        ("300750", XSHE, None, "rights", Decimal(0), Decimal("1.3"), Decimal("6.00")),
    ]

    @staticmethod
    def as_rows(actions):
        return sorted(
            (
                a.code,
                a.exchange,
                a.ex_date and a.ex_date.isoformat(),
                a.kind,
                a.cash,
                a.ratio,
                a.rights_price,
            )
            for a in actions
        )

    def test_gives_the_events_of_a_year_per_share(self, source):
        actions = [
            action
            for list_kind, _ in source.lists
            for action in source.corporate_actions(list_kind, 2024).actions
        ]
        assert self.as_rows(actions) == sorted(self.expected, key=str)

    def test_a_year_without_events_is_empty_not_an_error(self, source):
        for list_kind, _ in source.lists:
            fetched = source.corporate_actions(list_kind, 2001)
            assert (fetched.error, fetched.actions) == (None, [])

    def test_gives_one_securitys_events_when_it_can(self, source):
        if not source.by_security:
            pytest.skip("this source lists events by year only")
        actions = [
            action
            for list_kind, _ in source.lists
            for action in source.security_actions(list_kind, "600000").actions
        ]
        assert self.as_rows(actions) == sorted(
            (row for row in self.expected if row[0] == "600000"), key=str
        )


class SuspensionContract:
    """SuspensionSource: one day's snapshot of the suspended securities."""

    def test_gives_the_days_snapshot(self, source):
        fetched = source.suspensions(dt.date(2024, 3, 5))
        assert fetched.error is None
        assert [(s.code, s.start, s.end) for s in fetched.suspensions] == [
            (code, dt.date.fromisoformat(start), end and dt.date.fromisoformat(end))
            for day, code, start, end in MARKET.suspensions
            if day == "2024-03-05"
        ]

    def test_a_day_without_suspensions_is_empty_not_an_error(self, source):
        fetched = source.suspensions(dt.date(2024, 3, 1))
        assert (fetched.error, fetched.suspensions) == (None, [])
