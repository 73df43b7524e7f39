"""The management commands: summary line, exit statuses, queueing, schedules."""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.core.management.base import SystemCheckError
from django_q.models import OrmQ, Schedule

from etfs.models import StockInfo, SyncRun, SyncStatus
from tests.commands import run_command

pytestmark = pytest.mark.django_db

PROJECT = Path(__file__).resolve().parent.parent


class TestSyncEtfLists:
    def test_success_prints_the_summary_line(self, fake_eastmoney):
        output = run_command("sync_etf_lists", "--no-progress")

        run = SyncRun.objects.get()
        [line] = output.splitlines()
        assert line.startswith(f"run #{run.pk} ETF lists succeeded in ")
        assert "2/2 items (0 failed)" in line
        assert "fetched 6, created 6, updated 0, unchanged 0" in line
        assert StockInfo.objects.etfs().count() == 6

    def test_the_second_run_reports_unchanged_and_delisted(self, start_fake_eastmoney):
        server = start_fake_eastmoney(40)
        run_command("sync_etf_lists", "--no-progress")
        server.remove("159003")

        output = run_command("sync_etf_lists", "--no-progress")

        assert "succeeded" in output
        assert "fetched 39, created 0, updated 0, unchanged 39, delisted 1" in output

    def test_one_exchange(self, fake_eastmoney):
        output = run_command("sync_etf_lists", "--exchange", "xshe", "--no-progress")

        assert "1/1 items" in output
        assert set(StockInfo.objects.values_list("exchange", flat=True)) == {"XSHE"}

    def test_the_progress_bar_goes_to_stderr(self, fake_eastmoney):
        out, err = io.StringIO(), io.StringIO()

        call_command("sync_etf_lists", stdout=out, stderr=err)

        assert "list page 1" in err.getvalue()
        assert "list page" not in out.getvalue()

    def test_an_unreachable_source_exits_1_with_a_one_line_message(self, provider_down):
        out = io.StringIO()

        with pytest.raises(CommandError) as caught:
            call_command("sync_etf_lists", "--no-progress", stdout=out, stderr=io.StringIO())

        run = SyncRun.objects.get()
        assert caught.value.returncode == 1
        message = str(caught.value)
        assert "\n" not in message
        assert message.startswith(f"run #{run.pk} failed: ")
        assert provider_down.removeprefix("http://") in message
        assert "failed" in out.getvalue()  # the summary line is printed all the same

    def test_a_partial_run_exits_3(self, start_fake_eastmoney):
        server = start_fake_eastmoney(250)
        server.fail("500", times=3, path="clist", page=2)

        with pytest.raises(CommandError) as caught:
            run_command("sync_etf_lists", "--no-progress")

        assert caught.value.returncode == 3
        assert "partial" in str(caught.value)
        assert StockInfo.objects.count() == 100

    def test_a_run_already_active_exits_1(self, fake_eastmoney):
        run_command("sync_etf_lists", "--queue")
        queued = SyncRun.objects.get()

        with pytest.raises(CommandError) as caught:
            run_command("sync_etf_lists", "--no-progress")

        assert caught.value.returncode == 1
        assert f"run #{queued.pk}" in str(caught.value)
        assert fake_eastmoney.requests == []

    def test_an_unknown_exchange_is_a_usage_error(self):
        with pytest.raises(CommandError, match="invalid choice: 'XXXX'"):
            run_command("sync_etf_lists", "--exchange", "XXXX")

        assert not SyncRun.objects.exists()

    def test_queue_creates_a_queued_run_with_a_task(self):
        output = run_command("sync_etf_lists", "--queue")

        run = SyncRun.objects.get()
        assert output.startswith(f"queued run #{run.pk} (task {run.task_id})")
        assert run.status == SyncStatus.QUEUED
        assert run.trigger == "command"
        assert run.task_id
        task = OrmQ.objects.get()
        assert task.task_id() == run.task_id
        assert task.func() == "etfs.tasks.execute_run"
        assert task.args() == (run.pk,)

    def test_queue_twice_joins_the_queued_run(self):
        run_command("sync_etf_lists", "--queue")

        output = run_command("sync_etf_lists", "--queue")

        run = SyncRun.objects.get()
        assert output.strip() == f"run #{run.pk} of the same scope is already queued; joined it"
        assert OrmQ.objects.count() == 1


@pytest.fixture
def a_failing_system_check():
    """A system check that always reports an error, registered for one test."""
    from django.core import checks

    def always_fails(**kwargs):
        return [checks.Error("a check that always fails", id="tests.E001")]

    checks.register(always_fails)
    yield
    checks.registry.registry.registered_checks.discard(always_fails)


def test_a_sync_command_runs_without_the_system_checks(a_failing_system_check, fake_eastmoney):
    with pytest.raises(SystemCheckError, match="a check that always fails"):
        call_command("check")

    # As from a shell: call_command skips the checks unless told not to.
    output = run_command("sync_etf_lists", "--no-progress", skip_checks=False)

    assert "ETF lists succeeded" in output


def test_a_bad_exchange_on_the_command_line_exits_2():
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "etfsync_site.settings_test"}

    finished = subprocess.run(
        [sys.executable, "manage.py", "sync_etf_lists", "--exchange", "XXXX"],
        cwd=PROJECT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert finished.returncode == 2
    assert "invalid choice: 'XXXX'" in finished.stderr
    assert finished.stdout == ""


class TestSetupSchedules:
    def test_running_it_twice_creates_each_schedule_once(self):
        first = run_command("setup_schedules").splitlines()
        created = Schedule.objects.count()
        second = run_command("setup_schedules").splitlines()

        assert Schedule.objects.count() == created == len(first)
        assert all(line.startswith("created: ") for line in first)
        assert len(second) == len(first)
        assert all(line.startswith("up to date: ") for line in second)

    def test_the_list_and_price_syncs_run_on_trading_day_crons(self):
        run_command("setup_schedules")

        syncs = Schedule.objects.filter(func="etfs.tasks.scheduled_sync")
        assert sorted(syncs.values_list("args", "schedule_type", "cron")) == [
            ("('calendar', {}, False)", Schedule.CRON, "45 7 * * *"),
            ("('corporate_actions', {'cross_check': True}, False)", Schedule.CRON, "0 10 * * 6"),
            ("('corporate_actions',)", Schedule.CRON, "0 18 * 11,12,1 1-5"),
            ("('etf_lists',)", Schedule.CRON, "0 8 * * 1-5"),
            ("('etf_prices', {}, False)", Schedule.CRON, "0 9 * * 6"),
            # Both universes' day after the close: the full sync's daily update.
            ("('full_sync', {'daily': True})", Schedule.CRON, "15 16 * * 1-5"),
            ("('stock_lists',)", Schedule.CRON, "10 8 * * 1-5"),
            ("('stock_prices', {}, False)", Schedule.CRON, "30 9 * * 6"),
            ("('suspensions', {})", Schedule.CRON, "30 16 * * 1-5"),
        ]

    def test_the_calendar_learns_the_day_before_the_after_close_update(self):
        """A list late on a trading day must meet a day the calendar knows (test_calendar): the
        daily update learns the day first, once the index's bar is final, then its prices."""
        import datetime as dt

        from croniter import croniter

        from etfs.models import SyncKind
        from etfs.sync.full_sync.service import DAILY

        run_command("setup_schedules")
        monday_noon = dt.datetime(2027, 1, 4, 12, 0)
        daily = Schedule.objects.get(args="('full_sync', {'daily': True})")
        next_daily = croniter(daily.cron, monday_noon).get_next(dt.datetime)
        assert next_daily.date() == monday_noon.date()
        assert dt.time(15, 30) <= next_daily.time()  # the index's bar is final by then
        assert DAILY[0].kind == SyncKind.CALENDAR
        assert all(SyncKind.CALENDAR in step.needs for step in DAILY[1:])

    def test_the_after_close_time_is_configurable(self, settings):
        settings.ETFSYNC_AFTER_CLOSE_CRON = "30 16 * * 1-5"

        run_command("setup_schedules")

        daily = Schedule.objects.get(args="('full_sync', {'daily': True})")
        assert daily.cron == "30 16 * * 1-5"

    def test_each_job_runs_once_on_a_trading_day_after_the_close(self):
        """The ETF prices' own after-close schedule fired at the same minute as the full sync's
        daily update, which has an ETF price step: the day was synced twice (and the calendar
        learned it twice, at 16:05 and in the update's first step)."""
        import ast
        import datetime as dt

        from croniter import croniter

        from etfs.sync.full_sync.service import FullSyncOptions

        run_command("setup_schedules")
        close, midnight = dt.datetime(2027, 1, 4, 15, 0), dt.datetime(2027, 1, 5, 0, 0)
        kinds = []
        for args, cron in Schedule.objects.filter(func="etfs.tasks.scheduled_sync").values_list(
            "args", "cron"
        ):
            if croniter(cron, close).get_next(dt.datetime) >= midnight:
                continue  # not fired on a Monday after the close
            kind, *rest = ast.literal_eval(args)
            if kind == "full_sync":
                options = FullSyncOptions.from_parameters(rest[0] if rest else {})
                kinds += [step.kind.value for step in options.steps]
            else:
                kinds.append(kind)
        assert {"calendar", "etf_prices", "stock_prices", "suspensions"} <= set(kinds)
        assert len(kinds) == len(set(kinds)), sorted(kinds)

    def test_an_upgrade_removes_the_retired_after_close_schedules(self):
        """Schedules an earlier version created would go on firing beside the daily update."""
        for name, args, cron in [
            ("etfsync: ETF prices (after the close)", "('etf_prices', {'from_list': True})", 15),
            ("etfsync: trading calendar (after the close)", "('calendar', {}, False)", 5),
        ]:
            Schedule.objects.create(
                name=name,
                func="etfs.tasks.scheduled_sync",
                args=args,
                schedule_type=Schedule.CRON,
                cron=f"{cron} 16 * * 1-5",
            )

        output = run_command("setup_schedules").splitlines()

        assert output[:2] == [
            "removed (retired): etfsync: ETF prices (after the close)",
            "removed (retired): etfsync: trading calendar (after the close)",
        ]
        assert not Schedule.objects.filter(args="('calendar', {}, False)", cron="5 16 * * 1-5")
        assert not Schedule.objects.filter(args__startswith="('etf_prices', {'from_list'")
        assert Schedule.objects.filter(name__startswith="etfsync: daily update").exists()

    def test_scheduled_arguments_call_the_task(self, fake_eastmoney):
        """The stored literal must unpack into scheduled_sync's signature, as django-q2 does."""
        import ast

        from etfs.models import SyncRun
        from etfs.tasks import scheduled_sync

        run_command("setup_schedules")
        schedule = Schedule.objects.get(args="('etf_lists',)")
        outcome = scheduled_sync(*ast.literal_eval(schedule.args), trading_days_only=False)

        assert outcome.endswith("succeeded")
        assert SyncRun.objects.get().trigger == "schedule"

    def test_corrects_a_changed_schedule(self):
        run_command("setup_schedules")
        Schedule.objects.filter(func="etfs.tasks.scheduled_sync").update(cron="0 0 * * *")

        run_command("setup_schedules")

        syncs = Schedule.objects.filter(func="etfs.tasks.scheduled_sync")
        assert set(syncs.values_list("cron", flat=True)) == {
            "45 7 * * *",
            "0 8 * * 1-5",
            "15 16 * * 1-5",
            "0 9 * * 6",
            "0 10 * * 6",
            "0 18 * 11,12,1 1-5",
            "30 16 * * 1-5",
            "10 8 * * 1-5",  # stock lists
            "30 9 * * 6",  # stock price corrections
        }


@pytest.mark.django_db
def test_a_price_sync_before_any_list_sync_says_what_to_do(fake_eastmoney):
    output = run_command("sync_etf_prices", "--no-progress")

    assert "succeeded" in output
    assert "note: no listed ETFs to sync yet: run the ETF list sync first" in output


@pytest.mark.parametrize(
    "command",
    [
        ["sync_etf_lists", "--no-progress"],
        ["sync_etf_prices", "--no-progress"],
        ["sync_calendar"],
        ["sync_corporate_actions", "--no-progress"],
        ["sync_stock_lists", "--no-progress"],
    ],
    ids=lambda command: command[0],
)
def test_an_unreachable_database_is_one_line_and_exit_status_1(command):
    # Port 9 (discard) refuses connections, as a database that went away does.
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "etfsync_site.settings_test",
        "TEST_DATABASE_URL": "postgres://postgres@127.0.0.1:9/etfsync",
    }

    finished = subprocess.run(
        [sys.executable, "manage.py", *command],
        cwd=PROJECT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert finished.returncode == 1, finished.stderr
    [line] = finished.stderr.strip().splitlines()
    assert line.startswith("CommandError: the database is unreachable: connection failed: ")
    assert "port 9 failed" in line
    assert finished.stdout == ""
