"""A run's counters are what it recorded: ``warnings`` is the number of its warning rows and
``rows_rejected`` of its rejected rows, for every kind (RunRecorder.record counts them)."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from etfs.models import SyncRun, SyncRunError, TradingDay
from etfs.sync.calendar_sync import sync_calendar
from etfs.sync.corporate_actions import ActionOptions, sync_corporate_actions
from etfs.sync.lists import sync_etf_lists
from etfs.sync.prices import PriceOptions, sync_etf_prices
from etfs.sync.runs import Problem, RunRecorder, Severity
from tests.conftest import HISTORY_END
from tests.factories import make_run
from tests.fakes.eastmoney import FakeBar, FakeFund, fake_trading_days, make_funds
from tests.fakes.eastmoney_funds import FakeDividend, FakeEastmoneyFunds

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
AFTER_CLOSE = dt.datetime.combine(HISTORY_END, dt.time(16), tzinfo=SHANGHAI)


def problem_rows(run: SyncRun, severity: str) -> int:
    return SyncRunError.objects.filter(run=run, severity=severity).count()


def assert_counters_are_the_rows(run: SyncRun) -> None:
    run.refresh_from_db()
    assert run.warnings == problem_rows(run, SyncRunError.Severity.WARNING)
    assert run.rows_rejected == problem_rows(run, SyncRunError.Severity.REJECTED)


def test_a_price_run_with_an_unknown_code_counts_its_warning(fake_eastmoney):
    """Found in review: one warning row stored, ``warnings == 0`` counted."""
    sync_etf_lists()

    run = sync_etf_prices(
        PriceOptions(codes=("510000", "999999"), start_year=2024), now=AFTER_CLOSE
    )

    assert_counters_are_the_rows(run)
    assert run.warnings == 1


def test_a_price_run_with_a_rejected_bar_counts_it(fake_eastmoney):
    sync_etf_lists()
    [fund] = [fund for fund in fake_eastmoney.funds.values() if fund.code == "510000"]
    fund.bars[3].high = fund.bars[3].low - 1  # a high below the low: the bar is rejected

    run = sync_etf_prices(PriceOptions(start_year=2024), now=AFTER_CLOSE)

    assert_counters_are_the_rows(run)
    assert run.rows_rejected == 1


def test_a_list_run_with_a_rejected_row_counts_it(fake_eastmoney):
    fake_eastmoney.funds[(1, "510000")].name = "-"

    run = sync_etf_lists()

    assert_counters_are_the_rows(run)
    assert run.rows_rejected == 1


def test_a_calendar_run_counts_the_days_it_doubts(start_fake_eastmoney):
    server = start_fake_eastmoney(funds=make_funds(2, dt.date(2027, 1, 4), dt.date(2027, 1, 29)))
    server.set_index_days(fake_trading_days(dt.date(2026, 12, 1), dt.date(2027, 1, 29), set()))
    with time_machine.travel(dt.datetime(2027, 1, 30, 9, tzinfo=SHANGHAI), tick=False):
        sync_calendar()
        # Held as a trading day, but the index has no bar on it (a Saturday).
        TradingDay.objects.update_or_create(date=dt.date(2027, 1, 23), defaults={"is_open": True})

        run = sync_calendar()

    assert_counters_are_the_rows(run)
    assert run.warnings == 1


@pytest.fixture
def fund_lists(settings):
    bars = [
        FakeBar(dt.date(2024, 3, day), *[Decimal("2.5")] * 4, 100, Decimal(25000))
        for day in (25, 26)
    ]
    server = FakeEastmoneyFunds(
        [FakeFund("510050", 1, "上证50ETF", bars)],
        dividends=[
            FakeDividend("510050", "上证50ETF", "2024-03-26", "0.0550"),
            FakeDividend("510050", "上证50ETF", "2024-03-27", "abc"),  # rejected
        ],
        splits=[],
    )
    url = server.start()
    settings.ETFSYNC_EASTMONEY_PUSH2_URL = url
    settings.ETFSYNC_EASTMONEY_PUSH2HIS_URL = url
    settings.ETFSYNC_EASTMONEY_FUND_URL = url
    yield server
    server.stop()


def test_a_corporate_action_run_counts_its_rejected_rows(fund_lists):
    sync_etf_lists()

    run = sync_corporate_actions(ActionOptions(years=(2024,)))

    assert_counters_are_the_rows(run)
    assert run.rows_rejected == 1


def test_a_chunk_s_problems_are_counted_on_it_and_its_parent_and_stored_on_the_parent():
    parent = make_run("etf_prices", status="running")
    chunk = make_run("etf_prices", status="running", parent=parent, scope="")
    recorder = RunRecorder(chunk)

    recorder.record(Problem.warning("suspicious units"), Problem("no volume", Severity.REJECTED))

    for run in (parent, chunk):
        run.refresh_from_db()
        assert (run.warnings, run.rows_rejected) == (1, 1)
    assert_counters_are_the_rows(parent)
    assert not chunk.errors.exists()


def test_warnings_and_rejected_rows_cannot_be_counted_without_their_rows():
    recorder = RunRecorder(make_run(status="running"))

    with pytest.raises(ValueError, match="counted by record"):
        recorder.count(warnings=1)
    with pytest.raises(ValueError, match="counted by record"):
        recorder.count(rows_rejected=1)
