"""The ETF price sync against the fake Eastmoney: what lands in DailyBar and on the run.

The fake's histories run 2024-01-01..2024-03-29 (a Friday, a trading day); every sync is given
``now`` so that "the last final day" does not depend on the wall clock.

Tests that write bars more than once are transactional (each write commits, as it does in a
worker or a command): upsert_daily_bars keeps a session-wide staging table that only empties at
COMMIT, so inside the one big transaction of a plain ``django_db`` test a second upsert would
still see the first one's rows (TestUpsertDailyBars.test_inside_an_outer_transaction_*).
Classes that write bars once at most use the faster plain ``django_db``.
"""

import datetime as dt
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_q.models import OrmQ

from etfs.models import (
    DailyBar,
    SourceCooldown,
    StockInfo,
    SyncKind,
    SyncRun,
    SyncRunError,
    SyncStatus,
    SyncTrigger,
)
from etfs.providers.base import Bar
from etfs.sync.freshness import refresh_bar_summary
from etfs.sync.lists import sync_etf_lists
from etfs.sync.prices import PriceOptions, sync_etf_prices
from etfs.sync.upsert import upsert_daily_bars
from etfs.tasks import enqueue_sync, execute_run
from tests.bars import assert_same_bars, served_bars, stored_bars
from tests.conftest import HISTORY_END
from tests.database import terminate_backend
from tests.factories import make_bars, make_run, make_run_error, make_security, make_staff_user

pytestmark = pytest.mark.django_db(transaction=True)

SHANGHAI = ZoneInfo("Asia/Shanghai")
LAST_DAY = HISTORY_END  # 2024-03-29, the fake's last bar
PREVIOUS_DAY = dt.date(2024, 3, 28)  # the trading day before it


def shanghai(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=SHANGHAI)


AFTER_CLOSE = shanghai(LAST_DAY, 16)


def sync(now: dt.datetime = AFTER_CLOSE, **options) -> SyncRun:
    options.setdefault("start_year", 2024)
    run = sync_etf_prices(PriceOptions(**options), now=now)
    run.refresh_from_db()
    return run


@pytest.fixture
def server(fake_eastmoney):
    """The fake with its six funds, their StockInfo rows stored by a list sync."""
    sync_etf_lists()
    fake_eastmoney.requests.clear()
    return fake_eastmoney


def fake_fund(server, code: str):
    [fund] = [fund for fund in server.funds.values() if fund.code == code]
    return fund


def kline_requests(server) -> dict:
    """code -> the query parameters of the k-line requests the fake saw for it."""
    requests = {}
    for request in server.paths("/api/qt/stock/kline/get"):
        code = request.args["secid"].partition(".")[2]
        requests.setdefault(code, []).append(dict(request.args))
    return requests


def yyyymmdd(day: dt.date) -> str:
    return day.strftime("%Y%m%d")


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


# --- (f) failures ------------------------------------------------------------------------------

FAILING = "510001"


class TestFailures:
    @pytest.mark.parametrize(
        ("fault", "times", "reason"),
        [
            ("500", 10, "answered HTTP 500 after retries"),
            ("502", 10, "answered HTTP 502 after retries"),
            ("data-null", 1, "the source knows no such security (data is null)"),
            ("truncated", 3, "sent invalid JSON"),  # a cut-off answer is asked twice more
            ("wrong-shape", 1, "klines"),
        ],
    )
    def test_one_failing_fund_does_not_stop_the_others(self, server, fault, times, reason):
        server.fail(fault, times=times, code=FAILING)

        run = sync()

        assert run.status == SyncStatus.PARTIAL
        assert (run.items_total, run.items_done, run.items_failed) == (6, 6, 1)
        [error] = SyncRunError.objects.filter(run=run)
        assert error.code == FAILING
        assert error.severity == SyncRunError.Severity.ERROR
        assert reason in error.message
        assert error.security == StockInfo.objects.get(code=FAILING)
        assert run.error_summary.startswith(f"1 of 6 ETF(s) failed, first: {FAILING}: ")
        assert reason in run.error_summary
        others = served_bars(server, codes={f.code for f in server.funds.values()} - {FAILING})
        assert_same_bars(stored_bars(), others)
        assert run.rows_created == len(others)

    def test_the_offending_answer_is_kept_on_the_problem(self, server):
        server.fail("truncated", times=3, code=FAILING)

        run = sync()

        error = SyncRunError.objects.get(run=run)
        assert error.detail.startswith('{"rc": 0')

    def test_a_re_run_fetches_the_failed_fund_from_the_start(self, server):
        server.fail("500", times=10, code=FAILING)
        sync()
        server.faults.clear()
        server.requests.clear()

        run = sync()

        assert run.status == SyncStatus.SUCCEEDED
        assert kline_requests(server)[FAILING][0]["beg"] == "20240101"
        assert run.rows_created == len(served_bars(server, codes={FAILING}))
        assert_same_bars(stored_bars(), served_bars(server))

    def test_when_every_fund_fails_the_run_fails(self, server):
        server.fail("500", times=100, path="kline")

        run = sync()

        assert run.status == SyncStatus.FAILED
        assert (run.items_total, run.items_done, run.items_failed) == (6, 6, 6)
        assert run.error_summary.startswith("6 of 6 ETF(s) failed, first: ")
        assert SyncRunError.objects.filter(run=run, severity="error").count() == 6
        assert not DailyBar.objects.exists()

    def test_an_unknown_code_is_a_warning_and_the_known_ones_are_synced(self, server):
        run = sync(codes=("510000", "999999"))

        assert run.status == SyncStatus.SUCCEEDED
        [warning] = SyncRunError.objects.filter(run=run)
        assert warning.severity == SyncRunError.Severity.WARNING
        assert "unknown ETF code(s), skipped: 999999" in warning.message
        assert_same_bars(stored_bars(), served_bars(server, codes={"510000"}))

    @pytest.mark.parametrize("fault", ["html", "403", "empty"])
    def test_a_ban_stops_the_run_and_pauses_every_worker(self, server, fault):
        """A captcha page, a 403 or empty answers mean a ban (shared/providers.md section 3):
        asking on prolongs it, so the run stops and records a cooldown instead."""
        server.ban_from(FAILING, fault)

        run = sync()

        assert run.status in (SyncStatus.PARTIAL, SyncStatus.FAILED)
        assert run.items_done < 6
        left = 6 - run.items_done
        assert run.error_summary.startswith(f"stopped, {left} of 6 ETF(s) not synced: ")
        assert "all workers pause until" in run.error_summary
        assert SourceCooldown.objects.filter(until__gt=timezone.now()).exists()
        synced = {code for code, _ in stored_bars()}
        assert FAILING not in synced
        assert_same_bars(stored_bars(), served_bars(server, codes=synced))

    def test_during_a_cooldown_a_run_asks_nothing_and_afterwards_completes(self, server):
        server.ban_from(FAILING, "html")
        sync()
        server.requests.clear()

        paused = sync()

        assert paused.status == SyncStatus.FAILED
        assert paused.rows_created == 0
        assert server.requests == []
        SourceCooldown.objects.all().delete()
        server.recover()

        resumed = sync()

        assert resumed.status == SyncStatus.SUCCEEDED
        assert_same_bars(stored_bars(), served_bars(server))

    def test_a_garbage_bar_too_large_for_the_columns_is_rejected_alone(self, server):
        bar = fake_fund(server, FAILING).bars[10]
        bar.open = bar.close = bar.high = bar.low = Decimal("12345678901.000")

        run = sync()

        assert run.status == SyncStatus.SUCCEEDED
        assert run.rows_rejected == 1 and run.items_failed == 0
        problem = SyncRunError.objects.get(run=run, code=FAILING)
        assert "implausibly large" in problem.message
        stored = set(stored_bars())
        assert set(served_bars(server)) - stored == {(FAILING, bar.day)}

    def test_a_batch_the_database_refuses_is_split_so_only_that_fund_fails(self, server, settings):
        """The database refuses one fund's bars by a rule the parser does not know (a CHECK
        added here): the batch of six fails as one statement, and writing its funds one by
        one stores the other five and fails that fund alone."""
        settings.ETFSYNC_PRICE_BATCH_ETFS = 6
        refused = StockInfo.objects.get(code=FAILING)
        table = DailyBar._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"ALTER TABLE {table} ADD CONSTRAINT refuse_one_fund "
                f"CHECK (security_id <> {refused.pk})"
            )
        try:
            run = sync()
        finally:
            with connection.cursor() as cursor:
                cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT refuse_one_fund")

        assert run.status == SyncStatus.PARTIAL
        assert (run.items_done, run.items_failed) == (6, 1)
        error = SyncRunError.objects.get(run=run, severity=SyncRunError.Severity.ERROR)
        assert error.code == FAILING
        assert "cannot store its bars" in error.message and "refuse_one_fund" in error.message
        others = {fund.code for fund in server.funds.values()} - {FAILING}
        assert_same_bars(stored_bars(), served_bars(server, codes=others))


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


# --- (h) queries --------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [2, 8, 24])
def test_queries_do_not_grow_with_bars_and_by_at_most_one_per_fund(
    start_fake_eastmoney, settings, django_assert_max_num_queries, count
):
    """A first sync writes ~60 bars per fund in one batch: a fixed number of queries, plus
    one counter update per fund (the run's progress), never one per bar. Among the fixed ones:
    the batch's jump check (sync/jumps.py: the funds' events, the bars around), the calendar's,
    the batch's freshness summary and the run's "days behind"."""
    settings.ETFSYNC_PRICE_BATCH_ETFS = 50
    start_fake_eastmoney(count)
    sync_etf_lists()

    with django_assert_max_num_queries(40 + count):
        run = sync()

    assert run.rows_created > 50 * count


# --- (i) upsert_daily_bars -----------------------------------------------------------------------


def bar(day: int, close: str = "3.480", **values) -> Bar:
    fields = {
        "open": Decimal("3.500"),
        "high": Decimal("3.510"),
        "low": Decimal("3.470"),
        "close": Decimal(close),
        "volume": 123_400,
        "amount": Decimal("430000.00"),
    }
    fields.update(values)
    return Bar(trade_date=dt.date(2024, 1, day), **fields)


class TestUpsertDailyBars:
    @pytest.fixture
    def funds(self):
        return make_security("510300"), make_security("159915", "XSHE")

    def test_counts_inserted_updated_and_unchanged(self, funds):
        first, second = funds
        rows = [(first.pk, bar(2)), (first.pk, bar(3)), (second.pk, bar(2))]

        assert upsert_daily_bars(rows).__dict__ == {"inserted": 3, "updated": 0, "unchanged": 0}
        assert upsert_daily_bars(rows).__dict__ == {"inserted": 0, "updated": 0, "unchanged": 3}

        revised = [(first.pk, bar(2)), (first.pk, bar(3, close="3.490")), (second.pk, bar(4))]
        result = upsert_daily_bars(revised)

        assert result.__dict__ == {"inserted": 1, "updated": 1, "unchanged": 1}
        assert DailyBar.objects.count() == 4
        assert DailyBar.objects.get(security=first, trade_date=dt.date(2024, 1, 3)).close == (
            Decimal("3.490")
        )

    def test_a_re_run_creates_no_duplicates(self, funds):
        first, _ = funds
        rows = [(first.pk, bar(day)) for day in (2, 3, 4)]

        for _ in range(3):
            upsert_daily_bars(rows)

        assert DailyBar.objects.count() == 3
        assert sorted(DailyBar.objects.values_list("trade_date", flat=True)) == [
            dt.date(2024, 1, day) for day in (2, 3, 4)
        ]

    def test_values_are_stored_to_the_last_decimal(self, funds):
        first, _ = funds
        exact = bar(
            2,
            open=Decimal("9999999999.9999"),
            high=Decimal("9999999999.9999"),
            low=Decimal("0.0001"),
            close=Decimal("3.999"),
            volume=9_000_000_000_000_000_000,
            amount=Decimal("1234567890123456789.123"),
        )

        upsert_daily_bars([(first.pk, exact)])

        row = DailyBar.objects.get()
        assert (row.open, row.high, row.low, row.close) == (
            Decimal("9999999999.9999"),
            Decimal("9999999999.9999"),
            Decimal("0.0001"),
            Decimal("3.999"),
        )
        assert row.volume == 9_000_000_000_000_000_000
        assert row.amount == Decimal("1234567890123456789.123")

    def test_a_change_in_the_fourth_decimal_is_an_update(self, funds):
        first, _ = funds
        upsert_daily_bars([(first.pk, bar(2, close="3.4800"))])

        result = upsert_daily_bars([(first.pk, bar(2, close="3.4801"))])

        assert (result.inserted, result.updated) == (0, 1)
        assert DailyBar.objects.get().close == Decimal("3.4801")

    def test_only_the_given_rows_are_touched(self, funds):
        first, second = funds
        upsert_daily_bars([(first.pk, bar(2)), (second.pk, bar(2))])

        upsert_daily_bars([(first.pk, bar(2, close="3.500"))])

        assert DailyBar.objects.get(security=second).close == Decimal("3.480")

    def test_nothing_to_write_is_nothing_done(self):
        assert upsert_daily_bars([]).__dict__ == {"inserted": 0, "updated": 0, "unchanged": 0}

    def test_inside_an_outer_transaction_the_last_write_wins(self, funds):
        first, _ = funds

        with transaction.atomic():
            upsert_daily_bars([(first.pk, bar(2, close="3.480"))])
            upsert_daily_bars([(first.pk, bar(2, close="3.490"))])
            result = upsert_daily_bars([(first.pk, bar(2, close="3.500"))])

        assert DailyBar.objects.get().close == Decimal("3.500")
        assert (result.inserted, result.updated, result.unchanged) == (0, 1, 0)


# --- (j) the sync_etf_prices command -------------------------------------------------------------


def run_command(*args) -> str:
    out = io.StringIO()
    call_command("sync_etf_prices", *args, "--no-progress", stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.mark.django_db
class TestCommand:
    """The command runs on the wall clock: the fake's 2024 bars all lie in the past."""

    def test_success_prints_the_summary_line(self, server):
        output = run_command("--start-year", "2024")

        run = SyncRun.objects.get(kind=SyncKind.ETF_PRICES)
        served = len(served_bars(server))
        line, note = output.splitlines()
        assert line.startswith(f"run #{run.pk} ETF prices succeeded in ")
        # The fake's bars end in March 2024, long before today's last final day: every fund is
        # far behind, so the run says the source is stale rather than suggest suspensions.
        assert note.startswith(
            "note: the source's data are stale: its newest bars are from 2024-03-29, and all 6 "
            "ETF(s) with bars are at least "
        )
        assert "6/6 items (0 failed)" in line
        assert f"fetched {served}, created {served}, updated 0, unchanged 0" in line
        assert run.trigger == SyncTrigger.COMMAND
        assert_same_bars(stored_bars(), served_bars(server))

    def test_only_the_given_codes(self, server):
        output = run_command("--start-year", "2024", "--code", "159001", "--code", "510002")

        assert "2/2 items" in output
        assert {code for code, _ in stored_bars()} == {"159001", "510002"}
        assert SyncRun.objects.get(kind=SyncKind.ETF_PRICES).parameters == {
            "codes": ["159001", "510002"],
            "start_year": 2024,
        }

    def test_a_partial_run_exits_3_after_the_summary(self, server):
        server.fail("500", times=10, code=FAILING)
        out = io.StringIO()

        with pytest.raises(CommandError) as raised:
            call_command("sync_etf_prices", "--start-year", "2024", "--no-progress", stdout=out)

        assert raised.value.returncode == 3
        assert "partial" in str(raised.value)
        assert f"{FAILING}: " in str(raised.value)
        assert "6/6 items (1 failed)" in out.getvalue()

    def test_a_failed_run_exits_1(self, server):
        server.fail("500", times=100, path="kline")

        with pytest.raises(CommandError) as raised:
            run_command("--start-year", "2024")

        assert raised.value.returncode == 1
        assert "failed" in str(raised.value)

    def test_a_start_after_the_end_is_a_usage_error(self, server):
        with pytest.raises(CommandError) as raised:
            run_command("--start", "2025-01-01", "--end", "2024-01-01")

        assert raised.value.returncode == 2
        assert "--start: 2025-01-01 is after end 2024-01-01" in str(raised.value)
        assert not SyncRun.objects.filter(kind=SyncKind.ETF_PRICES).exists()
        assert server.requests == []

    def test_an_unknown_code_is_a_usage_error(self, server):
        with pytest.raises(CommandError) as raised:
            run_command("--code", "510000", "--code", "999999")

        assert raised.value.returncode == 2
        assert "unknown ETF code(s): '999999'" in str(raised.value)
        assert not SyncRun.objects.filter(kind=SyncKind.ETF_PRICES).exists()

    def test_a_start_year_out_of_range_is_a_usage_error(self, server):
        with pytest.raises(CommandError) as raised:
            run_command("--start-year", "1980")

        assert raised.value.returncode == 2

    @pytest.mark.parametrize(
        ("start", "message"),
        [
            # Python 3.11's fromisoformat reads all three; the first was sent as beg=10101.
            ("0001-01-01", "--start: must be from 1990-01-01 to today (2026-06-01)"),
            ("2030-01-01", "--start: must be from 1990-01-01 to today (2026-06-01)"),
            ("20240101", "--start: '20240101' is not a date written YYYY-MM-DD"),
        ],
    )
    def test_a_start_the_api_would_refuse_is_a_usage_error(self, server, start, message):
        with time_machine.travel(shanghai(dt.date(2026, 6, 1), 10), tick=False):
            with pytest.raises(CommandError) as raised:
                run_command("--start", start)

        assert raised.value.returncode == 2
        assert str(raised.value) == message
        assert not SyncRun.objects.filter(kind=SyncKind.ETF_PRICES).exists()
        assert server.requests == []

    def test_queue_prints_the_run_and_runs_nothing(self, server):
        output = run_command("--queue", "--start-year", "2024")

        run = SyncRun.objects.get(kind=SyncKind.ETF_PRICES)
        assert output.startswith(f"queued run #{run.pk} (task {run.task_id})")
        assert run.status == SyncStatus.QUEUED
        assert run.parameters == {"start_year": 2024}
        assert OrmQ.objects.count() == 1
        assert server.paths("kline") == []
        assert not DailyBar.objects.exists()


# --- (k) the admin ------------------------------------------------------------------------------

STOCKINFO_LIST = "admin:etfs_stockinfo_changelist"
DAILYBAR_LIST = "admin:etfs_dailybar_changelist"


@pytest.fixture
def operator(client):
    """Staff who may see securities and bars and start syncs, logged in."""
    user = make_staff_user(
        "operator",
        "etfs.view_stockinfo",
        "etfs.view_dailybar",
        "etfs.view_syncrun",
        "etfs.run_sync",
    )
    client.force_login(user)
    return user


@pytest.mark.django_db
class TestAdmin:
    def test_the_action_queues_a_price_run_of_the_selected_etfs(self, client, operator):
        chosen = [make_security("510300"), make_security("159915", "XSHE")]
        make_security("510500")

        response = client.post(
            reverse(STOCKINFO_LIST),
            {
                "action": "sync_prices_of_selected",
                "_selected_action": [security.pk for security in chosen],
            },
        )

        run = SyncRun.objects.get()
        assert response.status_code == 302
        assert response.url == reverse("admin:etfs_syncrun_change", args=[run.pk])
        assert (run.kind, run.status, run.trigger) == (
            SyncKind.ETF_PRICES,
            SyncStatus.QUEUED,
            SyncTrigger.ADMIN,
        )
        assert run.parameters == {"codes": ["159915", "510300"]}
        assert run.requested_by == operator
        assert run.task_id
        assert OrmQ.objects.count() == 1

    def test_the_action_skips_securities_that_are_not_etfs(self, client, operator):
        stock = make_security("600000", is_etf=False)

        response = client.post(
            reverse(STOCKINFO_LIST),
            {"action": "sync_prices_of_selected", "_selected_action": [stock.pk]},
            follow=True,
        )

        assert not SyncRun.objects.exists()
        assert "None of the selected securities is an ETF." in response.content.decode()

    def test_the_action_needs_the_run_sync_permission(self, client):
        client.force_login(make_staff_user("viewer", "etfs.view_stockinfo"))
        fund = make_security("510300")

        response = client.post(
            reverse(STOCKINFO_LIST),
            {"action": "sync_prices_of_selected", "_selected_action": [fund.pk]},
        )

        assert response.status_code in (200, 302)
        assert not SyncRun.objects.exists()

    def test_the_sync_all_prices_button_queues_a_run_of_every_etf(self, client, operator):
        response = client.post(reverse("admin:etfs_stockinfo_sync_prices"))

        run = SyncRun.objects.get()
        assert response.status_code == 302
        assert response.url == reverse("admin:etfs_syncrun_change", args=[run.pk])
        assert (run.kind, run.status, run.parameters) == (SyncKind.ETF_PRICES, "queued", {})

    def test_the_changelist_shows_bar_counts_without_a_query_per_row(self, client, operator):
        def changelist() -> tuple[int, str]:
            with CaptureQueriesContext(connection) as queries:
                response = client.get(reverse(STOCKINFO_LIST))
            assert response.status_code == 200
            return len(queries), response.content.decode()

        make_bars(make_security("510300"), 7)
        make_bars(make_security("159915", "XSHE"), 4)
        few, content = changelist()
        for index in range(20):
            make_bars(make_security(f"{512000 + index:06d}"), 3)
        many, _ = changelist()

        assert many == few
        assert '<td class="field-bar_count">7</td>' in content
        assert '<td class="field-bar_count">4</td>' in content

    def test_the_daily_bar_changelist_renders(self, client, operator, server):
        sync()

        response = client.get(reverse(DAILYBAR_LIST))

        assert response.status_code == 200
        content = response.content.decode()
        assert "510000.XSHG" in content
        assert "2024-03-29" in content or "March 29, 2024" in content


# --- fan-out of a queued run, in-process ---------------------------------------------------------


class TestFanOut:
    """execute_run, as a qcluster worker calls it, here one task after the other."""

    @pytest.fixture
    def eight_funds(self, start_fake_eastmoney, settings):
        settings.ETFSYNC_PRICE_CHUNK_ETFS = 3
        server = start_fake_eastmoney(8)
        sync_etf_lists()
        return server

    def test_a_run_of_exactly_one_chunk_runs_itself(self, eight_funds):
        codes = sorted(fund.code for fund in eight_funds.funds.values())[:3]
        run, _ = enqueue_sync(SyncKind.ETF_PRICES, SyncTrigger.ADMIN, {"codes": codes})

        execute_run(run.pk)

        run.refresh_from_db()
        assert not run.chunks.exists()
        assert (run.status, run.items_done) == (SyncStatus.SUCCEEDED, 3)

    def test_chunks_act_for_whoever_asked_for_the_run(self, eight_funds):
        operator = make_staff_user("operator")
        parent, _ = enqueue_sync(
            SyncKind.ETF_PRICES, SyncTrigger.ADMIN, {"start_year": 2024}, user=operator
        )

        execute_run(parent.pk)

        chunks = list(parent.chunks.all())
        assert len(chunks) == 3
        assert {(chunk.kind, chunk.trigger, chunk.requested_by) for chunk in chunks} == {
            (SyncKind.ETF_PRICES, SyncTrigger.ADMIN, operator)
        }

    def test_the_last_chunk_finishes_the_parent_with_the_totals(self, eight_funds):
        parent, _ = enqueue_sync(SyncKind.ETF_PRICES, SyncTrigger.ADMIN, {"start_year": 2024})

        execute_run(parent.pk)
        chunks = list(parent.chunks.order_by("id"))
        assert [len(chunk.parameters["codes"]) for chunk in chunks] == [3, 3, 2]
        for chunk in chunks:
            execute_run(chunk.pk)

        parent.refresh_from_db()
        chunks = list(parent.chunks.order_by("id"))
        assert parent.status == SyncStatus.SUCCEEDED, parent.error_summary
        assert {chunk.status for chunk in chunks} == {SyncStatus.SUCCEEDED}
        assert (parent.items_total, parent.items_done) == (8, 8)
        assert parent.rows_created == sum(chunk.rows_created for chunk in chunks)
        assert parent.rows_created == DailyBar.objects.count() == len(served_bars(eight_funds))

    def test_funds_that_failed_last_time_go_into_the_last_chunk(self, eight_funds):
        codes = sorted(fund.code for fund in eight_funds.funds.values())
        before = make_run("etf_prices", status="partial", scope="old")
        for code in codes[:2]:
            security = StockInfo.objects.get(code=code)
            make_run_error(before, "timeout", code=code, security=security)
        parent, _ = enqueue_sync(SyncKind.ETF_PRICES, SyncTrigger.ADMIN, {"start_year": 2024})

        execute_run(parent.pk)

        chunks = [chunk.parameters["codes"] for chunk in parent.chunks.order_by("id")]
        assert chunks == [codes[2:5], codes[5:8], codes[:2]]

    def test_a_chunk_that_raises_still_finishes_the_parent(self, eight_funds):
        """The database ends the last chunk's connection while it fetches: the chunk raises
        (it is marked failed over a new connection) and still finishes the parent."""
        parent, _ = enqueue_sync(SyncKind.ETF_PRICES, SyncTrigger.ADMIN, {"start_year": 2024})
        execute_run(parent.pk)
        *first, last = list(parent.chunks.order_by("id"))
        for chunk in first:
            execute_run(chunk.pk)
        connection.ensure_connection()
        pid = connection.connection.info.backend_pid
        ended = []

        def end_the_connection_once(request):
            if not ended:
                ended.append(request)
                terminate_backend(pid)

        eight_funds.on_request = end_the_connection_once

        with pytest.raises(DatabaseError):
            execute_run(last.pk)

        assert ended
        last.refresh_from_db()
        parent.refresh_from_db()
        assert last.status == SyncStatus.FAILED
        assert parent.status == SyncStatus.PARTIAL
        assert f"chunk #{last.pk} failed: " in parent.error_summary


@pytest.mark.django_db
def test_without_listed_etfs_the_run_says_to_sync_the_lists_first(server):
    StockInfo.objects.all().delete()

    run = sync()

    assert run.status == SyncStatus.SUCCEEDED
    assert run.error_summary == "no listed ETFs to sync yet: run the ETF list sync first"
    assert server.paths("kline") == []
