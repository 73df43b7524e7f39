"""A price run when the source fails: one fund's fault, a ban, a cooldown, a value the
columns cannot hold."""

from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from etfs.models import (
    DailyBar,
    SourceCooldown,
    StockInfo,
    SyncRunError,
    SyncStatus,
)
from tests.bars import assert_same_bars, served_bars, stored_bars
from tests.sync.prices.market import (
    FAILING,
    fake_fund,
    kline_requests,
    sync,
)

pytestmark = pytest.mark.django_db(transaction=True)


# --- (f) failures ------------------------------------------------------------------------------


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
