"""Which funds a price run asks for and from when: each from its own last bar minus the
look-back."""

import datetime as dt

import pytest

from etfs.models import (
    DailyBar,
    StockInfo,
    SyncStatus,
)
from etfs.sync.freshness import refresh_bar_summary
from tests.bars import assert_same_bars, served_bars, stored_bars
from tests.sync.prices.market import (
    LAST_DAY,
    kline_requests,
    sync,
    yyyymmdd,
)

pytestmark = pytest.mark.django_db(transaction=True)


# --- (d) incremental window ----------------------------------------------------------------------


class TestIncrementalWindow:
    LAST_STORED = {
        "510000": dt.date(2024, 3, 20),
        "159000": dt.date(2024, 3, 1),
        "510001": dt.date(2024, 2, 22),
    }

    @pytest.mark.parametrize("lookback", [10, 3])
    def test_each_fund_resumes_from_its_own_last_bar_minus_the_look_back(
        self, server, settings, lookback
    ):
        settings.ETFSYNC_LOOKBACK_DAYS = lookback
        sync()
        deleted = 0
        for code, last in self.LAST_STORED.items():
            deleted += DailyBar.objects.filter(security__code=code, trade_date__gt=last).delete()[0]
        # Bars deleted behind the writer's back: keep the stored summary as a write would.
        refresh_bar_summary(list(StockInfo.objects.values_list("pk", flat=True)))
        server.requests.clear()

        run = sync()

        back = dt.timedelta(days=lookback)
        expected = {code: LAST_DAY - back for code in ("159001", "159002", "510002")}
        expected.update({code: last - back for code, last in self.LAST_STORED.items()})
        requests = kline_requests(server)
        assert {code: [params["beg"] for params in asked] for code, asked in requests.items()} == {
            code: [yyyymmdd(begin)] for code, begin in expected.items()
        }
        assert all(params["end"] == "20240329" for [params] in requests.values())
        assert run.status == SyncStatus.SUCCEEDED
        assert (run.rows_created, run.rows_updated) == (deleted, 0)
        assert_same_bars(stored_bars(), served_bars(server))

    def test_a_hole_within_the_look_back_is_back_filled(self, server):
        sync()
        hole = DailyBar.objects.filter(
            security__code="510002", trade_date__range=(dt.date(2024, 3, 25), dt.date(2024, 3, 27))
        )
        assert hole.delete()[0] == 3

        run = sync()

        assert (run.rows_created, run.rows_updated) == (3, 0)
        assert_same_bars(stored_bars(), served_bars(server))

    def test_a_fund_without_bars_starts_at_the_start_year(self, server):
        sync(codes=("510000",))
        server.requests.clear()

        sync()

        begins = {code: asked[0]["beg"] for code, asked in kline_requests(server).items()}
        assert begins.pop("510000") == "20240319"
        assert set(begins.values()) == {"20240101"}
        assert_same_bars(stored_bars(), served_bars(server))
