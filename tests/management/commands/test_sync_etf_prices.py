"""The sync_etf_prices command: the summary line, exit statuses, usage errors, --queue."""

import datetime as dt
import io

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django_q.models import OrmQ

from etfs.models import (
    DailyBar,
    SyncKind,
    SyncRun,
    SyncStatus,
    SyncTrigger,
)
from tests import commands
from tests.bars import assert_same_bars, served_bars, stored_bars
from tests.factories import make_security
from tests.sync.prices.market import (
    FAILING,
    shanghai,
)

pytestmark = pytest.mark.django_db(transaction=True)


# --- (j) the sync_etf_prices command -------------------------------------------------------------


def run_command(*args) -> str:
    return commands.run_command("sync_etf_prices", *args, "--no-progress")


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


# A Monday the shipped calendar (through 2026-12-31) does not know, after the close.
NEWEST_KNOWN = dt.date(2026, 12, 31)
UNKNOWN_MONDAY = shanghai(dt.date(2027, 1, 4), 17)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("command", "is_etf", "noun"),
    [("sync_etf_prices", True, "ETFs"), ("sync_stock_prices", False, "stocks")],
)
@pytest.mark.parametrize("from_list", [[], ["--from-list"]])
def test_the_dry_run_on_a_weekday_the_calendar_does_not_know(command, is_etf, noun, from_list):
    """The plan says the day is unknown and counts from the newest known final day."""
    make_security(is_etf=is_etf, last_bar_date=NEWEST_KNOWN)
    make_security(is_etf=is_etf)

    with time_machine.travel(UNKNOWN_MONDAY, tick=False):
        output = commands.run_command(command, "--dry-run", *from_list)

    lines = output.splitlines()
    assert lines[0] == (
        f"last final day: {NEWEST_KNOWN} (today is not in the calendar yet: "
        "the run asks the source first)"
    )
    assert lines[1] == f"{noun}: 1 up to date, 0 behind, 1 without bars"
    assert not SyncRun.objects.exists()
