"""The suspension sync against a local datacenter: periods stored, the gaps they explain no
longer counted missing; a backfill says first how many days it reads, and reads only those."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from etfs.market import SHANGHAI
from etfs.models import StockInfo, Suspension, SyncRun
from etfs.providers.base import Bar
from etfs.sync.suspensions import SuspensionOptions, sync_suspensions
from etfs.sync.upsert import upsert_daily_bars
from tests.factories import make_security
from tests.fakes.eastmoney_datacenter import FakeEastmoneyDatacenter, suspension_row

pytestmark = pytest.mark.django_db

TRADING = [dt.date(2024, 3, day) for day in range(1, 30) if dt.date(2024, 3, day).weekday() < 5]
SUSPENDED = TRADING[5:10]  # 2024-03-08 .. 2024-03-14


def bar(day):
    one = Decimal("1.000")
    return Bar(day, one, one, one, one, 1000, Decimal("1000.000"))


def with_bars(security, days):
    upsert_daily_bars([(security.pk, bar(day)) for day in days])
    security.refresh_from_db()
    return security


@pytest.fixture
def datacenter(settings):
    server = FakeEastmoneyDatacenter(
        suspensions={
            day.isoformat(): [
                suspension_row("600001", "2024-03-08", "2024-03-14"),
                suspension_row("600999", "2024-03-01", None),  # not held
            ]
            for day in SUSPENDED
        }
    )
    url = server.start()
    settings.ETFSYNC_EASTMONEY_DATACENTER_URL = url
    yield server
    server.stop()


@pytest.fixture
def securities():
    suspended = make_security("600001", is_etf=False, board="main")
    suspended = with_bars(suspended, [day for day in TRADING if day not in SUSPENDED])
    fund = with_bars(make_security("510300"), [day for day in TRADING if day != TRADING[12]])
    return suspended, fund


def test_a_backfill_says_what_it_reads_and_explains_the_suspended_days(datacenter, securities):
    suspended, fund = securities
    assert (suspended.missing_days, fund.missing_days) == (5, 1)
    out = StringIO()
    call_command("sync_suspensions", "--backfill", "--no-progress", stdout=out, stderr=StringIO())
    # The five suspended days and the fund's one missing day: six snapshots, six requests.
    assert "backfill: 6 day(s) to read (2024-03-08 .. 2024-03-19): at least 6 request(s)" in (
        out.getvalue()
    )
    assert len(datacenter.paths("/api/data/v1/get")) == 6
    run = SyncRun.objects.get(kind="suspensions")
    assert run.status == "succeeded", run.error_summary
    (period,) = Suspension.objects.all()
    assert (period.security, period.start, period.end) == (suspended, SUSPENDED[0], SUSPENDED[-1])
    suspended.refresh_from_db()
    fund.refresh_from_db()
    assert (suspended.missing_days, suspended.suspended_days) == (0, 5)
    assert (fund.missing_days, fund.suspended_days) == (1, 0)  # unexplained: still missing
    assert set(StockInfo.objects.with_gaps()) == {fund}


def test_the_daily_run_reads_todays_snapshot_and_a_rerun_changes_nothing(datacenter, securities):
    with time_machine.travel(dt.datetime(2024, 3, 12, 16, 30, tzinfo=SHANGHAI), tick=False):
        first = sync_suspensions()
        again = sync_suspensions()
    (request,) = datacenter.paths("/api/data/v1/get")[:1]
    assert "DATETIME='2024-03-12'" in request.args["filter"]
    assert '(MARKET="全部")' in request.args["filter"]
    assert (first.rows_created, again.rows_created, again.rows_unchanged) == (1, 0, 1)


def test_a_later_snapshot_closes_an_open_period(datacenter, securities):
    datacenter.suspensions["2024-03-08"] = [suspension_row("600001", "2024-03-08", None)]
    sync_suspensions(SuspensionOptions(days=(dt.date(2024, 3, 8),)))
    assert Suspension.objects.get().end is None
    sync_suspensions(SuspensionOptions(days=(dt.date(2024, 3, 14),)))
    assert Suspension.objects.get().end == SUSPENDED[-1]
    # An older snapshot read again does not reopen it.
    run = sync_suspensions(SuspensionOptions(days=(dt.date(2024, 3, 8),)))
    assert Suspension.objects.get().end == SUSPENDED[-1] and run.rows_updated == 0


def test_the_admin_lists_suspensions_read_only(admin_client, securities):
    suspended, _ = securities
    Suspension.objects.create(security=suspended, start=SUSPENDED[0], reason="重大事项")
    page = admin_client.get("/admin/etfs/suspension/").content.decode()
    assert "重大事项" in page and "open" in page
    added = admin_client.get("/admin/etfs/suspension/add/")
    assert added.status_code == 403


def test_a_fund_is_suspended_by_the_same_rule(datacenter, securities):
    _, fund = securities
    missing = TRADING[12].isoformat()  # the fund's one missing day
    datacenter.suspensions[missing] = [suspension_row("510300", missing, missing, "停牌一天")]
    run = sync_suspensions(SuspensionOptions(days=(TRADING[12],)))
    assert run.status == "succeeded", run.error_summary
    fund.refresh_from_db()
    assert (fund.missing_days, fund.suspended_days) == (0, 1)
