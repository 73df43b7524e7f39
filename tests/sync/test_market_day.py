"""Deciding a day the calendar does not know yet: never from one row, never from one source
when the other contradicts it (etfs/sync/market_day.py), and a known day the index later
contradicts is corrected.

The three scenarios of issue 23 (items 1-3), with the clock moved by time-machine and the fake
Eastmoney serving the list, the funds' k-lines and the index (secid 1.000001).
"""

import datetime as dt

import pytest

from etfs.models import CalendarRevision, DailyBar, SyncRun, SyncStatus, TradingDay
from etfs.sync.calendar import is_trading_day
from etfs.sync.calendar_sync import sync_calendar
from etfs.sync.prices import PriceOptions, sync_etf_prices
from tests.fakes.eastmoney import FakeBar, fake_trading_days, make_funds
from tests.sync.test_calendar import (
    HOLIDAYS_2027,
    LAST_SHIPPED,
    NEW_YEAR,
    at,
    fund_kline_requests,
    index_requests,
    market_until,
    store_bars_until,
)

pytestmark = pytest.mark.django_db(transaction=True)

FIRST_MONDAY = dt.date(2027, 1, 4)
FESTIVAL_MONDAY = dt.date(2027, 2, 8)


def warnings_of(run: SyncRun) -> list[str]:
    return list(run.errors.filter(severity="warning").values_list("message", flat=True))


def after_close_run(day: dt.date, hour: int = 16, minute: int = 20) -> SyncRun:
    with at(day, hour, minute):
        run = sync_etf_prices(PriceOptions(from_list=True))
    run.refresh_from_db()
    return run


@pytest.fixture
def until_new_year(start_fake_eastmoney):
    """Six funds whose data end on 2026-12-31; the index knows no later day yet."""
    server = start_fake_eastmoney(funds=make_funds(6, dt.date(2026, 11, 2), LAST_SHIPPED))
    server.set_index_days(fake_trading_days(dt.date(2026, 10, 1), LAST_SHIPPED))
    store_bars_until(LAST_SHIPPED)
    server.requests.clear()
    return server


class TestOneRowNeverDecides:
    def test_one_row_dated_a_holiday_does_not_open_it(self, until_new_year):
        """Issue item 1: one settled row dated 20270101, every other 20261231."""
        odd = next(iter(until_new_year.funds.values()))
        last = odd.bars[-1]
        odd.bars.append(
            FakeBar(NEW_YEAR, last.open, last.close, last.high, last.low, 10, last.amount)
        )

        run = after_close_run(NEW_YEAR)

        assert run.status == SyncStatus.SUCCEEDED, run.error_summary
        assert "no trading on 2027-01-01" in run.error_summary
        assert not DailyBar.objects.filter(trade_date=NEW_YEAR).exists()
        assert TradingDay.objects.get(date=NEW_YEAR).is_open is False
        assert any("1 list row(s) dated 2027-01-01" in warning for warning in warnings_of(run))
        assert fund_kline_requests(until_new_year) == []
        assert len(index_requests(until_new_year)) == 1

    def test_a_clear_majority_of_settled_rows_opens_the_day_without_the_index(
        self, start_fake_eastmoney
    ):
        server = start_fake_eastmoney(
            funds=make_funds(6, dt.date(2026, 11, 2), dt.date(2027, 1, 5), holidays=HOLIDAYS_2027)
        )
        server.set_index_days(fake_trading_days(dt.date(2026, 10, 1), dt.date(2027, 1, 5)))
        store_bars_until(FIRST_MONDAY)
        server.requests.clear()

        run = after_close_run(dt.date(2027, 1, 5))

        assert run.status == SyncStatus.SUCCEEDED, run.error_summary
        assert index_requests(server) == []
        assert TradingDay.objects.get(date=dt.date(2027, 1, 5)).source == "etf list"
        assert DailyBar.objects.filter(trade_date=dt.date(2027, 1, 5)).count() == 6

    def test_a_known_day_the_index_contradicts_is_corrected_not_kept(self, until_new_year):
        """What the old rule left behind: 2027-01-01 recorded open from one row. The next
        calendar run sees the index without it (and with 2027-01-04): it is corrected, and the
        correction is kept with both values."""
        TradingDay.objects.create(date=NEW_YEAR, is_open=True, source="etf list")
        until_new_year.set_index_days(
            fake_trading_days(dt.date(2026, 10, 1), dt.date(2027, 1, 5), HOLIDAYS_2027)
        )

        with at(dt.date(2027, 1, 6), 9):
            run = sync_calendar()

        assert run.status == SyncStatus.SUCCEEDED, run.error_summary
        assert is_trading_day(NEW_YEAR) is False
        revision = CalendarRevision.objects.get(date=NEW_YEAR)
        assert (revision.was_open, revision.is_open, revision.run_id) == (True, False, run.pk)
        assert "2027-01-01 corrected to closed" in warnings_of(run)[0]
        assert run.warnings == 1


class TestTheIndexSettlesWhatTheListCannot:
    def test_a_late_list_on_an_unknown_trading_day_is_no_holiday(self, start_fake_eastmoney):
        """Issue item 2: 2027-01-04 16:20, the day unknown (the 16:05 calendar run missing),
        the list still dated 2026-12-31 and the index already showing 2027-01-04."""
        server = start_fake_eastmoney(
            funds=make_funds(6, dt.date(2026, 11, 2), FIRST_MONDAY, holidays=HOLIDAYS_2027)
        )
        server.set_index_days(fake_trading_days(dt.date(2026, 10, 1), FIRST_MONDAY, HOLIDAYS_2027))
        store_bars_until(LAST_SHIPPED)
        market_until(server, LAST_SHIPPED)  # the list is late
        server.requests.clear()

        run = after_close_run(FIRST_MONDAY)

        assert is_trading_day(FIRST_MONDAY) is True
        assert TradingDay.objects.get(date=FIRST_MONDAY).source == "index"
        assert is_trading_day(NEW_YEAR) is False  # a weekday before a day the index shows
        assert run.status == SyncStatus.FAILED
        assert "the source is late publishing the day" in run.error_summary
        assert "no trading" not in run.error_summary
        assert fund_kline_requests(server) == []
        assert len(index_requests(server)) == 1

    def test_without_any_trade_date_the_index_is_asked_once(self, until_new_year):
        """Issue item 3: no row carries f297. On the holiday the index has no bar either: the
        day stays undecided (the list cannot agree), said in one line; the next trading day
        the index shows it, and the holiday before it is closed."""
        until_new_year.list_fields_dropped = {"f297"}

        run = after_close_run(NEW_YEAR)

        assert run.status == SyncStatus.FAILED
        assert run.error_summary.startswith(
            "cannot tell whether 2027-01-01 is a trading day: no list row has a settled trade "
            "date (f297), and the index has no bar for it yet"
        )
        assert len(index_requests(until_new_year)) == 1
        assert not TradingDay.objects.filter(date=NEW_YEAR).exists()

        until_new_year.set_index_days(
            fake_trading_days(dt.date(2026, 10, 1), FIRST_MONDAY, HOLIDAYS_2027)
        )
        after_close_run(FIRST_MONDAY)

        assert is_trading_day(NEW_YEAR) is False
        assert is_trading_day(FIRST_MONDAY) is True

    def test_a_holiday_nobody_recorded_is_learnt_from_the_list_and_the_index(self, market_2027):
        """Issue item 3: the workers were down on 2027-02-08 (a holiday); on 2027-02-09 the
        list rows are all dated 2027-02-05 and the index has nothing after it: both days are
        recorded closed and the run succeeds."""
        store_bars_until(dt.date(2027, 2, 5))
        with at(dt.date(2027, 2, 6), 9):
            sync_calendar()
        market_until(market_2027, dt.date(2027, 2, 9))
        market_2027.set_index_days(
            fake_trading_days(dt.date(2026, 10, 1), dt.date(2027, 2, 9), HOLIDAYS_2027)
        )
        market_2027.requests.clear()

        run = after_close_run(dt.date(2027, 2, 9))

        assert run.status == SyncStatus.SUCCEEDED, run.error_summary
        assert "no trading on 2027-02-09" in run.error_summary
        assert is_trading_day(FESTIVAL_MONDAY) is False
        assert is_trading_day(dt.date(2027, 2, 9)) is False
        assert fund_kline_requests(market_2027) == []
        assert len(index_requests(market_2027)) == 1

    def test_the_sources_disagreeing_records_nothing_and_says_which(self, until_new_year):
        """The list's rows are all dated 2026-12-30 while the index's newest bar is 2026-12-31:
        nothing is recorded from either, and the run says which disagree."""
        for fund in until_new_year.funds.values():
            fund.bars.pop()

        run = after_close_run(NEW_YEAR)

        assert run.status == SyncStatus.FAILED
        assert (
            "the list's rows are dated 2026-12-30, the index's newest bar is 2026-12-31: the "
            "two sources disagree" in run.error_summary
        )
        assert not TradingDay.objects.filter(date=NEW_YEAR).exists()


@pytest.fixture
def market_2027(start_fake_eastmoney):
    funds = make_funds(6, dt.date(2026, 11, 2), dt.date(2027, 2, 19), holidays=HOLIDAYS_2027)
    server = start_fake_eastmoney(funds=funds)
    server.set_index_days(
        fake_trading_days(dt.date(2026, 10, 1), dt.date(2027, 2, 19), HOLIDAYS_2027)
    )
    return server
