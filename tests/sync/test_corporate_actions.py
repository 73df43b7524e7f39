"""End to end against a local fake: lists -> prices -> corporate actions -> adjusted series."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.management import CommandError
from django.db import connection

from etfs.market import SHANGHAI
from etfs.models import CorporateAction, DailyBar, StockInfo, SyncRun, SyncRunError
from etfs.sync.calendar import shanghai_now
from etfs.sync.jumps import unexplained_jumps
from etfs.sync.lists import sync_etf_lists
from etfs.sync.prices import PriceOptions, sync_etf_prices
from tests import commands
from tests.fakes.eastmoney import FakeBar, FakeFund
from tests.fakes.eastmoney_funds import FakeDividend, FakeEastmoneyFunds, FakeSplit

pytestmark = pytest.mark.django_db

SPLIT_DAY, DIVIDEND_DAY = dt.date(2024, 3, 26), dt.date(2024, 3, 27)


def bar(day, open_, close, high, low, lots):
    average = (D(open_) + D(close)) / 2
    return FakeBar(day, D(open_), D(close), D(high), D(low), lots, average * lots * 100)


def make_fake_funds():
    split_fund = FakeFund("513500", 1, "标普500ETF", [
        bar(dt.date(2024, 3, 25), "2.500", "2.510", "2.520", "2.490", 10_000),
        bar(SPLIT_DAY, "1.250", "1.255", "1.262", "1.240", 20_000),
        bar(dt.date(2024, 3, 27), "1.255", "1.260", "1.265", "1.250", 10_000),
    ])  # fmt: skip
    dividend_fund = FakeFund("510050", 1, "上证50ETF", [
        bar(dt.date(2024, 3, 25), "2.740", "2.750", "2.760", "2.730", 50_000),
        bar(dt.date(2024, 3, 26), "2.750", "2.750", "2.755", "2.745", 50_000),
        bar(DIVIDEND_DAY, "2.700", "2.710", "2.720", "2.690", 60_000),
    ])  # fmt: skip
    return [split_fund, dividend_fund]


DIVIDENDS = [
    FakeDividend("000005", "嘉实增强信用定期债券", "2024-03-21", "0.0105"),  # not an ETF we hold
    FakeDividend("000017", "财通可持续混合", "2024-07-29", "0.0031"),
    FakeDividend("510050", "上证50ETF", "2024-03-27", "0.0550", "2024-03-26", "2024-04-01"),
]
SPLITS = [
    FakeSplit("159396", "博时深证基准做市信用债ETF", "2024-01-17", "0.010000", "份额折算"),
    FakeSplit("513500", "标普500ETF", "2024-03-26", "2.000000"),
]


@pytest.fixture
def fake(settings):
    server = FakeEastmoneyFunds(make_fake_funds(), dividends=DIVIDENDS, splits=SPLITS, page_size=2)
    url = server.start()
    settings.ETFSYNC_EASTMONEY_PUSH2_URL = url
    settings.ETFSYNC_EASTMONEY_PUSH2HIS_URL = url
    settings.ETFSYNC_EASTMONEY_FUND_URL = url
    yield server
    server.stop()


# The evening of the fake's last bar: the source is current, not stale.
LAST_EVENING = dt.datetime(2024, 3, 27, 17, 0, tzinfo=SHANGHAI)


@pytest.fixture
def synced_prices(fake):
    sync_etf_lists()
    with time_machine.travel(LAST_EVENING, tick=False):
        return sync_etf_prices(PriceOptions(start=dt.date(2024, 3, 1)))


def bar_row_versions() -> dict:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, xmin::text FROM {DailyBar._meta.db_table}")
        return dict(cursor.fetchall())


def adjusted(code, mode):
    rows = DailyBar.objects.filter(security__code=code).adjusted(mode)
    return {row["trade_date"]: (row["open"], row["close"], row["volume"]) for row in rows}


def run_command(*args) -> str:
    return commands.run_command("sync_corporate_actions", *args, "--no-progress")


def test_an_unexplained_split_day_warns_on_the_price_run(synced_prices):
    warnings = SyncRunError.objects.filter(run=synced_prices, severity="warning")
    messages = [warning.message for warning in warnings]
    assert messages == [
        "513500 2024-03-26: the open moved -50.2% from the previous close 2.51 (2024-03-25), "
        "no corporate action known"
    ]
    assert synced_prices.warnings == 1


def test_corporate_actions_end_to_end(fake, synced_prices):
    versions = bar_row_versions()
    output = run_command("--year", "2024", "--cross-check")
    run = SyncRun.objects.get(kind="corporate_actions")
    assert run.status == "succeeded", run.error_summary
    assert "run #" in output and "created 2" in output
    # Four rows of funds we do not hold, skipped and counted.
    assert run.error_summary == "3 row(s) of funds that are not ETFs we hold skipped"
    assert run.items_done == run.items_total == 2
    assert run.warnings == 0, list(run.errors.values_list("message", flat=True))
    # The lists were paged (two rows a page): dividends 2024 took two pages.
    pages = [r.args.get("page") for r in fake.paths("funddataIndex") if r.args["dt"] == "8"]
    assert pages == ["1", "2"]
    dividend, split = CorporateAction.objects.order_by("kind")
    assert (split.security.code, split.kind, split.ratio, split.cash) == ("513500", "split", 2, 0)
    assert (dividend.security.code, dividend.ex_date, dividend.cash) == (
        "510050",
        DIVIDEND_DAY,
        D("0.055"),
    )
    assert dividend.record_date == dt.date(2024, 3, 26) and dividend.pay_date == dt.date(2024, 4, 1)
    assert '"0.0550"' in dividend.source_row

    # Continuous series across the ex-dates, matching the hand-worked values exactly.
    assert adjusted("513500", "qfq") == {
        dt.date(2024, 3, 25): (D("1.2500"), D("1.2550"), 2000000),
        SPLIT_DAY: (D("1.2500"), D("1.2550"), 2000000),
        dt.date(2024, 3, 27): (D("1.2550"), D("1.2600"), 1000000),
    }
    assert adjusted("513500", "hfq") == {
        dt.date(2024, 3, 25): (D("2.5000"), D("2.5100"), 1000000),
        SPLIT_DAY: (D("2.5000"), D("2.5100"), 1000000),
        dt.date(2024, 3, 27): (D("2.5100"), D("2.5200"), 500000),
    }
    # 510050: 2.750 before 0.055 is paid -> reference 2.695 = 2.750 x 0.98.
    assert adjusted("510050", "qfq")[dt.date(2024, 3, 26)][:2] == (D("2.6950"), D("2.6950"))
    assert adjusted("510050", "qfq")[dt.date(2024, 3, 25)][:2] == (D("2.6852"), D("2.6950"))
    assert adjusted("510050", "hfq")[DIVIDEND_DAY][:2] == (D("2.7551"), D("2.7653"))
    # Nothing was written to the bars.
    assert bar_row_versions() == versions
    # The split day is explained now.
    split_fund = StockInfo.objects.get(code="513500")
    assert unexplained_jumps([(split_fund.pk, "513500", SPLIT_DAY, SPLIT_DAY)]) == []


def test_the_etf_page_switches_between_unadjusted_forward_and_backward(client, synced_prices):
    run_command("--year", "2024")
    client.force_login(User.objects.create_superuser("admin", password="x"))
    fund = StockInfo.objects.get(code="513500")
    url = f"/admin/etfs/stockinfo/{fund.pk}/change/"
    unadjusted = client.get(url).content.decode()
    forward = client.get(url, {"adjust": "qfq"}).content.decode()
    backward = client.get(url, {"adjust": "hfq"}).content.decode()
    assert '<span aria-current="page">Unadjusted</span>' in unadjusted
    assert "1.2450" not in unadjusted and "2.5300" not in unadjusted
    assert '<span aria-current="page">Forward adjusted</span>' in forward
    assert "1.2450" in forward  # 2.490 / 2, the low before the split
    assert '<span aria-current="page">Backward adjusted</span>' in backward
    assert "2.5300" in backward  # 1.265 x 2, the high after it


def test_a_rerun_changes_nothing_and_a_changed_row_is_updated_and_counted(fake, synced_prices):
    run_command("--year", "2024")
    run_command("--year", "2024")
    second = SyncRun.objects.filter(kind="corporate_actions").first()
    assert (second.rows_created, second.rows_updated, second.rows_unchanged) == (0, 0, 2)
    fake.dividends[2] = FakeDividend("510050", "上证50ETF", "2024-03-27", "0.1100")
    run_command("--year", "2024")
    third = SyncRun.objects.filter(kind="corporate_actions").first()
    assert (third.rows_created, third.rows_updated, third.rows_unchanged) == (0, 1, 1)
    assert CorporateAction.objects.get(kind="cash").cash == D("0.11")
    # 2.750 / (2.750 - 0.110) = 1.0416...: the factors followed the event.
    assert adjusted("510050", "hfq")[DIVIDEND_DAY][1] == D("2.8229")


def test_a_split_list_with_the_ratio_first_is_read_the_same(fake, synced_prices):
    fake.split_type_first = False
    run_command("--year", "2024")
    assert CorporateAction.objects.get(kind="split").ratio == 2


def test_the_cross_check_warns_about_an_event_the_lists_missed(fake, synced_prices):
    fake.unlisted_splits = [FakeSplit("513500", "标普500ETF", "2024-03-27", "3.000000")]
    run_command("--year", "2024", "--cross-check")
    run = SyncRun.objects.get(kind="corporate_actions")
    (warning,) = run.errors.filter(severity="warning")
    assert warning.message.startswith("513500 2024-03-27: the source's backward-adjusted series")
    assert "steps by 3.0000 here, our events by 1.0000" in warning.message


def test_a_failing_list_is_a_partial_run_that_keeps_the_rest(fake, synced_prices):
    fake.fail("500", times=None, path="funddataIndex")
    with pytest.raises(CommandError, match="failed"):
        run_command("--year", "2024")
    run = SyncRun.objects.get(kind="corporate_actions")
    assert run.status == "failed" and run.items_failed == 2
    assert "answered HTTP 500" in run.error_summary


def test_years_outside_the_lists_are_refused(db):
    # The stock reports reach back to 1991, the fund lists to 1999.
    with pytest.raises(CommandError, match="--year: 1990 is outside 1991"):
        run_command("--year", "1990")


def test_the_admin_button_queues_a_run_that_a_worker_executes(client, fake, synced_prices):
    from django.urls import reverse

    from etfs.tasks import execute_run
    from tests.factories import make_staff_user

    client.force_login(make_staff_user("operator", "etfs.view_stockinfo", "etfs.run_sync"))
    page = client.get(reverse("admin:etfs_stockinfo_changelist")).content.decode()
    assert 'id="sync-corporate-actions"' in page
    response = client.post(reverse("admin:etfs_stockinfo_sync_corporate_actions"))
    run = SyncRun.objects.get(kind="corporate_actions")
    assert response.status_code == 302 and run.status == "queued" and run.task_id
    assert run.parameters == {}  # last year and this year when it runs
    assert execute_run(run.pk) == f"run #{run.pk}: succeeded"
    this_year = shanghai_now().year
    years = {request.args["year"] for request in fake.paths("funddataIndex")}
    assert years == {str(this_year - 1), str(this_year)}


def test_schedules_run_it_weekly_with_the_cross_check_and_daily_in_the_season(db):
    from django_q.models import Schedule

    from etfs.schedules import ensure_schedules

    ensure_schedules()
    schedules = {
        schedule.cron: schedule.args
        for schedule in Schedule.objects.filter(args__contains="corporate_actions")
    }
    assert schedules == {
        "0 10 * * 6": "('corporate_actions', {'cross_check': True}, False)",
        "0 18 * 11,12,1 1-5": "('corporate_actions',)",
    }


def test_a_ban_stops_the_run_and_pauses_the_source(fake, synced_prices):
    from etfs.models import SourceCooldown

    fake.fail("403", times=None, path="funddataIndex")
    with pytest.raises(CommandError):
        run_command("--year", "2023", "--year", "2024")
    run = SyncRun.objects.get(kind="corporate_actions")
    assert run.status == "failed" and run.items_done == 1  # stopped at the first refusal
    assert len(fake.paths("funddataIndex")) == 1  # a 403 is never asked again
    assert SourceCooldown.objects.filter(source="eastmoney_funds").exists()
    with pytest.raises(CommandError, match="paused|cooldown|until"):
        run_command("--year", "2024")


def test_a_cancelled_run_stops_between_lists(fake, synced_prices):
    from etfs.sync.corporate_actions import ActionOptions, sync_corporate_actions

    def cancel_after_the_first_list(done, total, label):
        SyncRun.objects.filter(kind="corporate_actions").update(cancel_requested=True)

    run = sync_corporate_actions(ActionOptions(years=(2024,)), progress=cancel_after_the_first_list)
    assert run.status == "cancelled" and run.items_done == 1
    assert {r.args["dt"] for r in fake.paths("funddataIndex")} == {"8"}
    # What the first list brought is stored, with its factors.
    assert CorporateAction.objects.get().kind == "cash"
    assert adjusted("510050", "hfq")[DIVIDEND_DAY][1] == D("2.7653")
