"""The after-close run: the day's bars from one pass over the list endpoint."""

import datetime as dt

import pytest

from etfs.models import (
    DailyBar,
    StockInfo,
    SyncRunError,
    SyncStatus,
)
from etfs.sync.freshness import refresh_bar_summary
from etfs.sync.lists import sync_etf_lists
from tests.bars import assert_same_bars, served_bars, stored_bars
from tests.sync.prices.market import (
    LAST_DAY,
    PREVIOUS_DAY,
    fake_fund,
    kline_requests,
    shanghai,
    sync,
    yyyymmdd,
)

pytestmark = pytest.mark.django_db(transaction=True)


# --- (g) the daily pass over the list ------------------------------------------------------------


class TestDailyListPass:
    """The after-close run with from_list (the 15:45 schedule)."""

    @pytest.fixture
    def one_day_behind(self, server):
        """Every bar up to the previous trading day stored; the list shows LAST_DAY's bars."""
        sync(now=shanghai(PREVIOUS_DAY, 16))
        assert not DailyBar.objects.filter(trade_date=LAST_DAY).exists()
        server.list_today_only = LAST_DAY
        server.requests.clear()
        return server

    def test_the_day_s_bars_come_from_one_pass_over_the_list(self, one_day_behind):
        server = one_day_behind

        run = sync(from_list=True)

        assert len(server.paths("/api/qt/clist/get")) == 1
        assert server.paths("kline") == []
        assert run.status == SyncStatus.SUCCEEDED, run.error_summary
        assert (run.items_done, run.rows_fetched, run.rows_created, run.rows_updated) == (
            6,
            6,
            6,
            0,
        )
        assert_same_bars(stored_bars(), served_bars(server))

    def test_a_second_daily_run_asks_nothing_for_funds_that_have_the_day(self, one_day_behind):
        server = one_day_behind
        sync(from_list=True)
        server.requests.clear()

        again = sync(from_list=True)

        assert server.requests == []
        assert again.status == SyncStatus.SUCCEEDED
        assert (again.items_done, again.rows_fetched, again.rows_created) == (6, 0, 0)

    def test_without_from_list_every_fund_goes_to_k_lines(self, one_day_behind):
        server = one_day_behind

        run = sync()

        assert server.paths("clist") == []
        assert len(kline_requests(server)) == 6
        assert run.rows_created == 6
        assert_same_bars(stored_bars(), served_bars(server))

    def test_a_fund_missing_more_than_one_day_falls_back_to_k_lines(self, one_day_behind):
        server = one_day_behind
        DailyBar.objects.filter(security__code="159002", trade_date=PREVIOUS_DAY).delete()
        refresh_bar_summary(
            list(StockInfo.objects.filter(code="159002").values_list("pk", flat=True))
        )

        run = sync(from_list=True)

        assert len(server.paths("clist")) == 1
        requests = kline_requests(server)
        assert list(requests) == ["159002"]
        assert requests["159002"][0]["beg"] == yyyymmdd(dt.date(2024, 3, 27) - dt.timedelta(10))
        assert run.status == SyncStatus.SUCCEEDED
        assert run.rows_created == 5 + 2
        assert_same_bars(stored_bars(), served_bars(server))

    def test_a_fund_without_a_trade_today_is_asked_through_k_lines(self, one_day_behind):
        server = one_day_behind
        fake_fund(server, "510002").bars.pop()  # suspended on LAST_DAY

        run = sync(from_list=True)

        assert list(kline_requests(server)) == ["510002"]
        assert run.status == SyncStatus.SUCCEEDED
        assert run.rows_created == 5
        assert_same_bars(stored_bars(), served_bars(server))

    def test_a_failed_list_pass_stops_instead_of_storming_the_k_lines(self, one_day_behind):
        server = one_day_behind
        server.fail("500", times=10, path="clist")

        run = sync(from_list=True)

        assert kline_requests(server) == {}
        assert run.status == SyncStatus.FAILED
        assert "6 of 6 ETF(s) have no settled bar in the list" in run.error_summary
        [warning] = SyncRunError.objects.filter(run=run)
        assert warning.severity == SyncRunError.Severity.WARNING
        assert "daily list pass failed" in warning.message
        assert not DailyBar.objects.filter(trade_date=LAST_DAY).exists()

    def test_a_few_funds_missing_from_a_failed_list_pass_still_fall_back(
        self, one_day_behind, settings
    ):
        server = one_day_behind
        settings.ETFSYNC_LIST_FALLBACK_MAX_SHARE = 1.0
        server.fail("500", times=10, path="clist")

        run = sync(from_list=True)

        assert len(kline_requests(server)) == 6
        assert run.status == SyncStatus.SUCCEEDED
        assert_same_bars(stored_bars(), served_bars(server))

    def test_rows_updated_before_the_close_are_not_taken(self, one_day_behind):
        server = one_day_behind
        server.list_updated_at = dt.time(14, 57)

        run = sync(from_list=True)

        assert len(server.paths("clist")) == 1
        assert kline_requests(server) == {}, "the guard stops: no fund had a settled row"
        assert run.status == SyncStatus.FAILED
        assert not DailyBar.objects.filter(trade_date=LAST_DAY).exists()

    def test_rows_updated_after_the_close_are_taken(self, one_day_behind):
        server = one_day_behind
        server.list_updated_at = dt.time(15, 0)

        run = sync(from_list=True)

        assert run.status == SyncStatus.SUCCEEDED, run.error_summary
        assert run.rows_created == 6

    def test_more_funds_than_a_page_take_one_request_per_page(self, start_fake_eastmoney):
        server = start_fake_eastmoney(130)
        sync_etf_lists()
        sync(now=shanghai(PREVIOUS_DAY, 16))
        server.list_today_only = LAST_DAY
        server.requests.clear()

        run = sync(from_list=True)

        assert len(server.paths("clist")) == 2
        assert server.paths("kline") == []
        assert run.rows_created == 130
        assert DailyBar.objects.filter(trade_date=LAST_DAY).count() == 130
