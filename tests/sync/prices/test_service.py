"""The price sync service against the fake Eastmoney: what lands in DailyBar and on the run
(first and later runs, the intraday guard, the queries it costs).

Tests that write bars more than once are transactional (each write commits, as it does in a
worker or a command): upsert_daily_bars keeps a session-wide staging table that only empties at
COMMIT, so inside the one big transaction of a plain ``django_db`` test a second upsert would
still see the first one's rows (tests/sync/test_upsert.py). Classes that write bars once at
most use the faster plain ``django_db``.
"""

import datetime as dt
from decimal import Decimal

import pytest

from etfs.models import (
    DailyBar,
    SyncKind,
    SyncStatus,
    SyncTrigger,
)
from etfs.sync.lists import sync_etf_lists
from tests.bars import assert_same_bars, served_bars, stored_bars
from tests.database import queries_on_every_connection
from tests.sync.prices.market import (
    LAST_DAY,
    PREVIOUS_DAY,
    fake_fund,
    kline_requests,
    shanghai,
    sync,
)

pytestmark = pytest.mark.django_db(transaction=True)


# --- (a) first sync ----------------------------------------------------------------------------


@pytest.mark.django_db
class TestFirstSync:
    def test_stores_exactly_the_bars_the_server_served(self, server):
        sync()

        assert_same_bars(stored_bars(), served_bars(server))

    def test_the_run_counts_every_bar_as_created(self, server):
        run = sync()

        served = len(served_bars(server))
        assert run.status == SyncStatus.SUCCEEDED, run.error_summary
        assert (run.kind, run.trigger) == (SyncKind.ETF_PRICES, SyncTrigger.COMMAND)
        assert run.parameters == {"start_year": 2024}
        assert (run.items_total, run.items_done, run.items_failed) == (6, 6, 0)
        assert run.rows_fetched == served
        assert run.rows_created == served == DailyBar.objects.count()
        assert (run.rows_updated, run.rows_unchanged, run.rows_rejected, run.warnings) == (
            0,
            0,
            0,
            0,
        )
        assert run.error_summary == ""
        assert not run.errors.exists()

    def test_each_fund_is_asked_once_from_the_start_year_to_the_last_final_day(self, server):
        sync()

        requests = kline_requests(server)
        assert sorted(requests) == ["159000", "159001", "159002", "510000", "510001", "510002"]
        for code, [params] in requests.items():
            market = "1" if code.startswith("51") else "0"
            assert params["secid"] == f"{market}.{code}"
            assert (params["beg"], params["end"]) == ("20240101", "20240329")
            assert (params["klt"], params["fqt"]) == ("101", "0")

    def test_a_start_year_after_the_history_fetches_nothing(self, server):
        run = sync(start_year=2025)

        assert run.status == SyncStatus.SUCCEEDED
        assert (run.items_total, run.items_done) == (6, 6)
        assert server.paths("kline") == []
        assert not DailyBar.objects.exists()


# --- (b), (c) re-runs --------------------------------------------------------------------------


class TestSecondSync:
    def test_a_second_run_inserts_and_updates_nothing(self, server, settings):
        sync()

        second = sync()

        window_start = LAST_DAY - dt.timedelta(days=settings.ETFSYNC_LOOKBACK_DAYS)
        in_window = [key for key in served_bars(server) if key[1] >= window_start]
        assert second.status == SyncStatus.SUCCEEDED
        assert (second.rows_created, second.rows_updated) == (0, 0)
        assert second.rows_unchanged == second.rows_fetched == len(in_window) > 0
        assert DailyBar.objects.count() == len(served_bars(server))

    def test_a_revised_bar_in_the_look_back_window_is_updated(self, server):
        sync()
        revised = fake_fund(server, "159001").bars[-3]
        assert revised.day == dt.date(2024, 3, 27)
        revised.close = revised.high + Decimal("0.011")
        revised.high = revised.close + Decimal("0.002")

        run = sync()

        assert (run.rows_created, run.rows_updated) == (0, 1)
        assert run.rows_unchanged == run.rows_fetched - 1
        assert_same_bars(stored_bars(), served_bars(server))

    def test_a_revision_older_than_the_look_back_needs_a_run_with_a_start(self, server):
        sync()
        revised = fake_fund(server, "510002").bars[5]
        revised.low = revised.low - Decimal("0.001")

        incremental = sync()
        stored = DailyBar.objects.get(security__code="510002", trade_date=revised.day)
        assert incremental.rows_updated == 0
        assert stored.low == revised.low + Decimal("0.001")

        from_start = sync(start=dt.date(2024, 1, 1))

        assert (from_start.rows_created, from_start.rows_updated) == (0, 1)
        assert_same_bars(stored_bars(), served_bars(server))

    def test_the_daily_list_run_leaves_revisions_to_the_corrections_run(self, server):
        """The after-close run (from_list) takes only the day's bar; a k-line run re-reads the
        look-back window (the Saturday corrections schedule)."""
        sync(now=shanghai(PREVIOUS_DAY, 16))
        revised = fake_fund(server, "159001").bars[-3]
        assert revised.day == dt.date(2024, 3, 27)
        before = revised.close
        revised.close = revised.high + Decimal("0.011")
        revised.high = revised.close + Decimal("0.002")
        server.list_today_only = LAST_DAY

        daily = sync(from_list=True)

        assert (daily.rows_created, daily.rows_updated) == (6, 0)
        stored = DailyBar.objects.get(security__code="159001", trade_date=revised.day)
        assert stored.close == before

        corrections = sync(now=shanghai(dt.date(2024, 3, 30), 9))

        assert (corrections.rows_created, corrections.rows_updated) == (0, 1)
        assert_same_bars(stored_bars(), served_bars(server))


# --- (e) intraday guard ------------------------------------------------------------------------


class TestIntradayGuard:
    def test_the_day_s_bar_is_stored_only_after_the_close(self, server):
        morning = sync(now=shanghai(LAST_DAY, 10))

        assert morning.status == SyncStatus.SUCCEEDED
        assert not DailyBar.objects.filter(trade_date=LAST_DAY).exists()
        assert_same_bars(stored_bars(), served_bars(server, until=PREVIOUS_DAY))

        evening = sync(now=shanghai(LAST_DAY, 16))

        assert evening.rows_created == 6
        assert_same_bars(stored_bars(), served_bars(server))

    def test_a_source_that_ignores_end_cannot_slip_in_the_day_in_progress(self, server):
        original_route = server.route

        def ignore_end(request, fault):
            request.args = request.args.copy()
            request.args["end"] = "20500101"
            return original_route(request, fault)

        server.route = ignore_end

        run = sync(now=shanghai(LAST_DAY, 10))

        assert run.status == SyncStatus.SUCCEEDED
        assert not DailyBar.objects.filter(trade_date=LAST_DAY).exists()
        assert_same_bars(stored_bars(), served_bars(server, until=PREVIOUS_DAY))

    @pytest.mark.parametrize(("hour", "minute"), [(9, 31), (14, 59), (15, 0), (15, 29)])
    def test_before_the_close_has_settled_the_day_is_left_out(self, server, hour, minute):
        sync(now=shanghai(PREVIOUS_DAY, 16))
        server.requests.clear()

        server.list_today_only = LAST_DAY

        run = sync(now=shanghai(LAST_DAY, hour, minute), from_list=True)

        assert run.rows_created == 0
        assert not DailyBar.objects.filter(trade_date=LAST_DAY).exists()
        assert server.paths("clist") == [], "intraday list values must not be used"
        # Every fund holds the last final day: the after-close run re-reads none of them.
        assert server.requests == []

    @pytest.mark.parametrize("from_list", [False, True])
    @pytest.mark.parametrize(("hour", "minute"), [(15, 30), (23, 59)])
    def test_once_the_close_has_settled_the_day_is_stored(self, server, hour, minute, from_list):
        sync(now=shanghai(PREVIOUS_DAY, 16))
        server.list_today_only = LAST_DAY

        run = sync(now=shanghai(LAST_DAY, hour, minute), from_list=from_list)

        assert run.rows_created == 6
        assert_same_bars(stored_bars(), served_bars(server))

    def test_on_a_saturday_the_friday_bar_is_final(self, server):
        run = sync(now=shanghai(dt.date(2024, 3, 30), 9))

        assert run.status == SyncStatus.SUCCEEDED
        assert_same_bars(stored_bars(), served_bars(server))


# --- (h) queries --------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [2, 8, 24])
def test_queries_do_not_grow_with_bars_and_by_at_most_one_per_fund(
    start_fake_eastmoney, settings, count
):
    """A first sync writes ~60 bars per fund in one batch: a fixed number of queries, plus
    one counter update per fund (the run's progress), never one per bar. Among the fixed ones:
    the batch's jump check (sync/jumps.py: the funds' events, the bars around), the calendar's,
    the batch's freshness summary and the run's "days behind"."""
    settings.ETFSYNC_PRICE_BATCH_ETFS = 50
    start_fake_eastmoney(count)
    sync_etf_lists()

    # Counted on every connection: the batches' writers have their own.
    with queries_on_every_connection() as queries:
        run = sync()

    assert len(queries) <= 40 + count
    assert run.rows_created > 50 * count
