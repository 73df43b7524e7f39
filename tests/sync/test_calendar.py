"""The trading calendar: answered from TradingDay, kept by the index k-lines, and the
after-close run on a day the calendar does not know yet.

The shipped file ends on 2026-12-31. The fake market below trades into 2027 with holidays no
shipped file knows (New Year's Day, a made-up Spring Festival week); the clock is moved with
time-machine, and the fake Eastmoney serves the index (secid 1.000001) and the funds.
"""

import datetime as dt
import io

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.urls import reverse

from etfs.models import DailyBar, SyncKind, SyncRun, SyncStatus, SyncTrigger, TradingDay
from etfs.sync.calendar import (
    SHANGHAI,
    UnknownDay,
    is_trading_day,
    last_final_day,
    previous_trading_day,
    shipped_trading_days,
    trading_days_between,
)
from etfs.sync.calendar_sync import sync_calendar
from etfs.sync.lists import sync_etf_lists
from etfs.sync.prices import PriceOptions, sync_etf_prices
from etfs.tasks import enqueue_sync, execute_run, scheduled_sync
from tests.commands import run_command
from tests.fakes.eastmoney import fake_trading_days, make_funds

pytestmark = pytest.mark.django_db(transaction=True)

NEW_YEAR = dt.date(2027, 1, 1)  # a Friday
SPRING_FESTIVAL = {dt.date(2027, 2, 8) + dt.timedelta(days=offset) for offset in range(5)}
HOLIDAYS_2027 = {NEW_YEAR, *SPRING_FESTIVAL}
LAST_SHIPPED = dt.date(2026, 12, 31)


def shanghai(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=SHANGHAI)


def at(day: dt.date, hour: int, minute: int = 0):
    return time_machine.travel(shanghai(day, hour, minute), tick=False)


def index_requests(server) -> list[dict]:
    return [
        dict(request.args)
        for request in server.paths("kline")
        if request.args.get("secid") == "1.000001"
    ]


def fund_kline_requests(server) -> list[dict]:
    return [
        dict(request.args)
        for request in server.paths("kline")
        if request.args.get("secid") != "1.000001"
    ]


@pytest.fixture
def market_2027(start_fake_eastmoney):
    """Six funds trading 2026-11-02 .. 2027-02-19; the index shows the same days."""
    funds = make_funds(6, dt.date(2026, 11, 2), dt.date(2027, 2, 19), holidays=HOLIDAYS_2027)
    server = start_fake_eastmoney(funds=funds)
    server.set_index_days(
        fake_trading_days(dt.date(2026, 10, 1), dt.date(2027, 2, 19), HOLIDAYS_2027)
    )
    return server


class TestTheTableAnswers:
    def test_the_shipped_file_seeds_the_table(self):
        stored = list(TradingDay.objects.open().values_list("date", flat=True))

        assert stored == list(shipped_trading_days())
        assert stored[-1] == LAST_SHIPPED

    def test_a_shipped_holiday_and_a_trading_day(self):
        assert is_trading_day(dt.date(2026, 10, 1)) is False  # National Day
        assert is_trading_day(dt.date(2026, 12, 31)) is True
        assert previous_trading_day(dt.date(2026, 10, 9)) == dt.date(2026, 10, 8)
        assert previous_trading_day(dt.date(2026, 10, 8)) == dt.date(2026, 9, 30)
        assert trading_days_between(dt.date(2026, 12, 28), dt.date(2026, 12, 31)) == 3

    def test_a_weekday_after_the_newest_known_day_is_unknown_not_guessed(self):
        with pytest.raises(UnknownDay) as raised:
            is_trading_day(NEW_YEAR)

        assert raised.value.known_through == LAST_SHIPPED
        with pytest.raises(UnknownDay):
            previous_trading_day(dt.date(2027, 1, 5))
        with pytest.raises(UnknownDay):
            last_final_day(shanghai(NEW_YEAR, 16))

    def test_weekends_are_never_trading_days(self):
        assert is_trading_day(dt.date(2027, 1, 2)) is False
        assert previous_trading_day(dt.date(2027, 1, 1)) == LAST_SHIPPED

    def test_a_row_added_to_the_table_changes_the_answer(self):
        TradingDay.objects.create(date=dt.date(2027, 1, 4), source="test")

        assert is_trading_day(dt.date(2027, 1, 4)) is True
        assert is_trading_day(NEW_YEAR) is False  # between two known trading days, no row
        assert previous_trading_day(dt.date(2027, 1, 4)) == LAST_SHIPPED


class TestSyncCalendar:
    def test_learns_the_holidays_the_shipped_file_does_not_know(self, market_2027):
        with at(dt.date(2027, 2, 20), 9):
            output = run_command("sync_calendar")

        run = SyncRun.objects.get(kind=SyncKind.CALENDAR)
        assert run.status == SyncStatus.SUCCEEDED, run.error_summary
        assert "note: trading days known up to 2027-02-19" in output
        assert is_trading_day(NEW_YEAR) is False
        assert all(is_trading_day(day) is False for day in SPRING_FESTIVAL)
        assert is_trading_day(dt.date(2027, 1, 4)) is True
        assert previous_trading_day(dt.date(2027, 2, 15)) == dt.date(2027, 2, 5)
        learned = fake_trading_days(dt.date(2027, 1, 1), dt.date(2027, 2, 19), HOLIDAYS_2027)
        assert run.rows_created == len(learned)
        assert set(
            TradingDay.objects.filter(date__gt=LAST_SHIPPED, is_open=True).values_list(
                "date", flat=True
            )
        ) == set(learned)

    def test_asks_the_index_unadjusted_from_the_last_known_day_minus_the_look_back(
        self, market_2027, settings
    ):
        settings.ETFSYNC_CALENDAR_LOOKBACK_DAYS = 30
        with at(dt.date(2027, 1, 8), 18):
            sync_calendar()

        [params] = index_requests(market_2027)
        assert (params["klt"], params["fqt"]) == ("101", "0")
        assert (params["beg"], params["end"]) == ("20261201", "20270108")

    def test_never_stores_a_day_that_is_not_final_yet(self, market_2027):
        with at(dt.date(2027, 1, 8), 10):
            sync_calendar()

        assert TradingDay.objects.latest("date").date == dt.date(2027, 1, 7)
        with pytest.raises(UnknownDay):
            is_trading_day(dt.date(2027, 1, 8))

    def test_an_answer_without_rows_is_a_fault_not_a_market_without_trading(self, market_2027):
        market_2027.fail("no-rows", path="kline")

        with at(dt.date(2027, 1, 8), 18), pytest.raises(CommandError) as raised:
            run_command("sync_calendar")

        run = SyncRun.objects.get(kind=SyncKind.CALENDAR)
        assert run.status == SyncStatus.FAILED
        assert "has no rows" in run.error_summary
        assert raised.value.returncode == 1
        assert TradingDay.objects.latest("date").date == LAST_SHIPPED

    def test_a_scheduled_run_asks_on_any_day(self, market_2027):
        with at(NEW_YEAR, 7, 45):
            outcome = scheduled_sync(SyncKind.CALENDAR, {}, False)

        assert outcome.endswith("succeeded")
        assert len(index_requests(market_2027)) == 1


def store_bars_until(day: dt.date) -> None:
    """The funds' bars up to ``day``, stored by a k-line run after that day's close."""
    with at(day, 17):
        sync_etf_lists()
        run = sync_etf_prices(PriceOptions(start_year=2026))
    assert run.status == SyncStatus.SUCCEEDED, run.error_summary


def market_until(server, day: dt.date) -> None:
    """The source as it stands on ``day``: no fund has a later bar yet."""
    for fund in server.funds.values():
        fund.bars = [bar for bar in fund.bars if bar.day <= day]


class TestAfterCloseRunOnAnUnknownDay:
    def test_on_a_holiday_it_asks_the_list_and_the_index_once_and_exits_0(
        self, start_fake_eastmoney
    ):
        # The source's data end on 2026-12-31, as the issue found it.
        server = start_fake_eastmoney(funds=make_funds(6, dt.date(2026, 11, 2), LAST_SHIPPED))
        store_bars_until(LAST_SHIPPED)
        server.requests.clear()

        with at(NEW_YEAR, 16, 30):
            output = run_command("sync_etf_prices", "--from-list", "--no-progress")

        # Closed only when the list and the index agree: one index request, no fund k-lines.
        assert fund_kline_requests(server) == []
        assert len(index_requests(server)) == 1
        assert len(server.paths("clist")) == 1
        run = SyncRun.objects.filter(kind=SyncKind.ETF_PRICES).latest("id")
        assert run.status == SyncStatus.SUCCEEDED
        assert "no trading on 2027-01-01: the source's newest bars are from 2026-12-31" in output
        assert not DailyBar.objects.filter(trade_date=NEW_YEAR).exists()
        assert is_trading_day(NEW_YEAR) is False
        assert TradingDay.objects.get(date=NEW_YEAR).is_open is False

    def test_a_second_run_on_the_same_holiday_asks_nothing(self, start_fake_eastmoney):
        server = start_fake_eastmoney(funds=make_funds(6, dt.date(2026, 11, 2), LAST_SHIPPED))
        store_bars_until(LAST_SHIPPED)
        with at(NEW_YEAR, 16, 30):
            run_command("sync_etf_prices", "--from-list", "--no-progress")
        server.requests.clear()

        with at(NEW_YEAR, 18):
            run_command("sync_etf_prices", "--from-list", "--no-progress")

        assert server.requests == []

    def test_on_a_day_that_traded_the_list_gives_the_bars(self, market_2027):
        store_bars_until(dt.date(2027, 1, 4))
        market_until(market_2027, dt.date(2027, 1, 5))
        market_2027.requests.clear()

        with at(dt.date(2027, 1, 5), 16, 30):
            run = sync_etf_prices(PriceOptions(from_list=True))

        assert run.status == SyncStatus.SUCCEEDED, run.error_summary
        assert market_2027.paths("kline") == []
        assert run.rows_created == 6
        assert DailyBar.objects.filter(trade_date=dt.date(2027, 1, 5)).count() == 6
        assert TradingDay.objects.get(date=dt.date(2027, 1, 5)).is_open is True

    def test_a_late_source_on_a_known_trading_day_is_no_holiday_and_no_storm(self, market_2027):
        """At 16:20 the rows are still dated yesterday, but the index shows the day."""
        store_bars_until(dt.date(2027, 1, 4))
        day = dt.date(2027, 1, 5)
        with at(day, 16, 5):
            sync_calendar()
        assert is_trading_day(day) is True
        market_until(market_2027, dt.date(2027, 1, 4))  # the list is late
        market_2027.requests.clear()

        with at(day, 16, 20):
            run = sync_etf_prices(PriceOptions(from_list=True))

        assert fund_kline_requests(market_2027) == []
        assert run.status == SyncStatus.FAILED
        assert "the source is late publishing the day" in run.error_summary
        assert TradingDay.objects.get(date=day).is_open is True

    def test_a_failed_list_pass_on_an_unknown_day_decides_nothing(self, start_fake_eastmoney):
        server = start_fake_eastmoney(funds=make_funds(6, dt.date(2026, 11, 2), LAST_SHIPPED))
        store_bars_until(LAST_SHIPPED)
        server.fail("500", times=None, path="clist")
        server.requests.clear()

        out = io.StringIO()
        with at(NEW_YEAR, 16, 30), pytest.raises(CommandError):
            call_command("sync_etf_prices", "--from-list", "--no-progress", stdout=out)

        run = SyncRun.objects.filter(kind=SyncKind.ETF_PRICES).latest("id")
        assert run.status == SyncStatus.FAILED
        assert "cannot tell whether 2027-01-01 is a trading day" in run.error_summary
        assert "the list pass failed" in run.error_summary
        # Nothing was attempted: no fund counts as done (the issue saw "6/6 items (0 failed)").
        assert (run.items_total, run.items_done, run.items_failed) == (6, 0, 0)
        assert "0/6 items (0 failed)" in out.getvalue()
        assert fund_kline_requests(server) == []
        assert len(index_requests(server)) == 1  # asked once, and it has no bar for the day
        assert not TradingDay.objects.filter(date=NEW_YEAR).exists()

    def test_a_k_line_run_on_an_unknown_day_learns_it_from_the_index(self, market_2027):
        store_bars_until(LAST_SHIPPED)
        market_2027.requests.clear()

        with at(dt.date(2027, 1, 6), 9):
            run = sync_etf_prices(PriceOptions())

        assert run.status == SyncStatus.SUCCEEDED, run.error_summary
        assert len(index_requests(market_2027)) == 1
        assert {params["end"] for params in fund_kline_requests(market_2027)} == {"20270105"}
        assert is_trading_day(NEW_YEAR) is False
        assert DailyBar.objects.filter(trade_date=dt.date(2027, 1, 5)).count() == 6

    def test_the_schedule_fires_on_an_unknown_day(self, start_fake_eastmoney):
        start_fake_eastmoney(funds=make_funds(6, dt.date(2026, 11, 2), LAST_SHIPPED))
        store_bars_until(LAST_SHIPPED)

        with at(NEW_YEAR, 16, 15):
            outcome = scheduled_sync(SyncKind.ETF_PRICES, {"from_list": True})

        assert outcome.endswith("succeeded")
        assert is_trading_day(NEW_YEAR) is False


class TestDoors:
    def test_the_admin_button_queues_a_calendar_run(self, admin_client):
        response = admin_client.post(reverse("admin:etfs_stockinfo_sync_calendar"))

        run = SyncRun.objects.get()
        assert response.status_code == 302
        assert (run.kind, run.status, run.trigger) == (SyncKind.CALENDAR, "queued", "admin")

    def test_the_worker_runs_a_queued_calendar_run(self, market_2027):
        run, _ = enqueue_sync(SyncKind.CALENDAR, SyncTrigger.ADMIN)

        with at(dt.date(2027, 1, 8), 18):
            outcome = execute_run(run.pk)

        assert outcome.endswith("succeeded")
        assert is_trading_day(dt.date(2027, 1, 4)) is True
        run.refresh_from_db()
        assert run.provider == "eastmoney"
