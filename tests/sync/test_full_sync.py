"""The full sync: one parent run, a child run per step in order, a failed prerequisite stops
what depends on it; the daily update after the close."""

import datetime as dt
import io

import pytest
import time_machine
from django.core.management import CommandError, call_command

from etfs.market import SHANGHAI
from etfs.models import DailyBar, StockInfo, SyncRun, SyncStatus
from tests.stock_market import STOCK_SOURCES

pytestmark = pytest.mark.django_db(transaction=True)
EVENING = dt.datetime(2024, 3, 29, 18, tzinfo=SHANGHAI)
ORDER = [
    "calendar",
    "etf_lists",
    "stock_lists",
    "etf_prices",
    "stock_prices",
    "corporate_actions",
]


def full_sync(*args) -> str:
    out = io.StringIO()
    with time_machine.travel(EVENING, tick=False):
        call_command("full_sync", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def children(parent: SyncRun) -> list[SyncRun]:
    return list(parent.chunks.order_by("pk"))


def test_every_step_in_order_as_children_of_one_run(stock_market):
    output = full_sync()

    parent = SyncRun.objects.get(parent=None)
    assert parent.kind == "full_sync" and parent.status == SyncStatus.SUCCEEDED, output
    steps = children(parent)
    assert [step.kind for step in steps] == ORDER
    assert all(step.status == SyncStatus.SUCCEEDED for step in steps), [
        (step.kind, step.error_summary) for step in steps
    ]
    assert StockInfo.objects.stocks().exists() and StockInfo.objects.etfs().exists()
    assert DailyBar.objects.filter(security__is_etf=False).exists()
    assert DailyBar.objects.filter(security__is_etf=True).exists()
    assert "Full sync succeeded" in output


def test_a_failed_prerequisite_stops_what_depends_on_it_and_says_so(stock_market, settings):
    # No stock list source: the stock list step fails, so the stock prices are not run.
    settings.ETFSYNC_PROVIDERS = [
        path for path in STOCK_SOURCES if "Stock" not in path and "stocks" not in path
    ]

    with pytest.raises(CommandError) as failure:
        full_sync()

    assert failure.value.returncode == 3  # partial: the ETF side went through
    parent = SyncRun.objects.get(parent=None)
    steps = {step.kind: step for step in children(parent)}
    assert parent.status == SyncStatus.PARTIAL
    assert steps["stock_lists"].status == SyncStatus.FAILED
    assert steps["stock_prices"].status == SyncStatus.CANCELLED
    assert "its prerequisite Stock lists did not succeed" in steps["stock_prices"].error_summary
    assert steps["etf_prices"].status == SyncStatus.SUCCEEDED
    assert "Stock prices: run #" in parent.error_summary
    assert not DailyBar.objects.filter(security__is_etf=False).exists()


def test_the_daily_update_reads_the_lists_and_no_k_line(stock_market):
    full_sync()
    stock_market.eastmoney.requests.clear()

    full_sync("--daily")

    daily = SyncRun.objects.filter(parent=None).order_by("-pk").first()
    assert daily.parameters == {"daily": True} and daily.status == SyncStatus.SUCCEEDED
    steps = children(daily)
    assert [step.kind for step in steps] == ["calendar", "etf_prices", "stock_prices"]
    assert all(step.parameters.get("from_list") for step in steps[1:])
    asked = {r.args.get("secid") for r in stock_market.eastmoney.paths("kline")}
    assert asked <= {"1.000001"}  # the calendar's index only


def test_the_daily_update_is_the_after_close_schedule():
    from django_q.models import Schedule

    from etfs.schedules import ensure_schedules

    ensure_schedules()

    schedule = Schedule.objects.get(name__startswith="etfsync: daily update")
    assert "'full_sync'" in schedule.args and "'daily': True" in schedule.args


def test_the_parent_reports_the_whole_run_its_steps_added_up(stock_market, admin_client):
    output = full_sync()

    parent = SyncRun.objects.get(parent=None)
    steps = children(parent)
    total = sum(step.items_total for step in steps)
    assert total > sum(step.items_total for step in steps if step.kind == "etf_prices") > 0
    assert (parent.items_total, parent.items_done) == (total, total)
    assert parent.items_done == sum(step.items_done for step in steps)
    assert parent.rows_created == sum(step.rows_created for step in steps) > 0
    assert f"{total}/{total} items over its 6 step(s) (0 failed)" in output
    page = admin_client.get(f"/admin/etfs/syncrun/{parent.pk}/change/").content.decode()
    assert f"{total} of {total} (100%): its 6 steps added up" in page
    assert "Steps (6)" in page
    assert f"step #{steps[3].pk} (ETF prices) started" in page
