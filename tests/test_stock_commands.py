"""The stock commands: summary line, exit statuses, one exchange."""

import datetime as dt
import io

import pytest
import time_machine
from django.core.management import CommandError, call_command

from etfs.market import SHANGHAI
from etfs.models import StockInfo

pytestmark = pytest.mark.django_db
EVENING = dt.datetime(2024, 4, 1, 18, tzinfo=SHANGHAI)


def run(*args, at=EVENING) -> str:
    out = io.StringIO()
    with time_machine.travel(at, tick=False):
        call_command(*args, "--no-progress", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_sync_stock_lists_prints_the_summary(stock_market):
    output = run("sync_stock_lists")

    assert "Stock lists succeeded" in output
    assert StockInfo.objects.stocks().count() == 9


def test_sync_stock_lists_of_one_exchange(stock_market):
    run("sync_stock_lists", "--exchange", "XSHG")

    assert set(StockInfo.objects.values_list("exchange", flat=True)) == {"XSHG"}


def test_sync_stock_lists_without_any_source_exits_1(stock_market, closed_port_url, settings):
    settings.ETFSYNC_EASTMONEY_PUSH2_URL = closed_port_url
    settings.ETFSYNC_SSE_QUERY_URL = settings.ETFSYNC_SZSE_URL = closed_port_url

    with pytest.raises(CommandError) as failure:
        run("sync_stock_lists")

    assert failure.value.returncode == 1
    assert "could not read the stock list" in str(failure.value)


@pytest.mark.django_db(transaction=True)
def test_sync_stock_prices_then_the_next_day_from_the_list(stock_market):
    thursday, friday = (dt.datetime(2024, 3, day, 18, tzinfo=SHANGHAI) for day in (28, 29))
    fakes = [fake for fake in stock_market.eastmoney.funds.values() if fake.bars]
    fridays = {id(fake): fake.bars.pop() for fake in fakes}  # the fake is at Thursday
    run("sync_stock_lists", at=thursday)
    first = run("sync_stock_prices", "--start-year", "2024", at=thursday)
    assert "Stock prices succeeded" in first
    for fake in fakes:
        fake.bars.append(fridays[id(fake)])
    stock_market.eastmoney.requests.clear()

    output = run("sync_stock_prices", "--from-list", at=friday)

    assert "Stock prices succeeded" in output
    stock = StockInfo.objects.get(code="600000", exchange="XSHG")
    assert stock.last_bar_date == dt.date(2024, 3, 29)
    # Only the stock the list does not carry falls back to its k-lines.
    asked = [r.args["secid"] for r in stock_market.eastmoney.paths("kline")]
    assert asked == ["1.603999"]


def test_sync_stock_prices_dry_run_asks_nothing(stock_market):
    run("sync_stock_lists")
    stock_market.eastmoney.requests.clear()

    output = run("sync_stock_prices", "--dry-run")

    # Nine listed, and two delisted ones without bars; 000003 left the market in 2002, before
    # the default start year: no k-line for it.
    assert "stocks: 0 up to date, 0 behind, 11 without bars" in output
    assert "0 list page(s) + 10 k-line(s)" in output
    assert stock_market.eastmoney.requests == []


def test_sync_stock_prices_refuses_an_etf_code_as_a_usage_error(stock_market):
    run("sync_stock_lists")
    from etfs.sync.lists import sync_etf_lists

    with time_machine.travel(EVENING, tick=False):
        sync_etf_lists()

    with pytest.raises(CommandError) as failure:
        run("sync_stock_prices", "--code", "510000")

    assert failure.value.returncode == 2


def test_sync_stock_prices_queue_creates_a_stock_price_run():
    out = io.StringIO()
    call_command("sync_stock_prices", "--queue", "--start-year", "2020", stdout=out)

    from etfs.models import SyncRun

    queued = SyncRun.objects.get()
    assert (queued.kind, queued.status, queued.parameters) == (
        "stock_prices",
        "queued",
        {"start_year": 2020},
    )
    assert f"queued run #{queued.pk}" in out.getvalue()


def test_sync_stock_lists_queue_then_a_worker_runs_it(stock_market):
    from etfs.models import SyncRun
    from etfs.tasks import execute_run

    call_command("sync_stock_lists", "--queue", stdout=io.StringIO())
    queued = SyncRun.objects.get()
    assert (queued.kind, queued.status) == ("stock_lists", "queued")

    with time_machine.travel(EVENING, tick=False):
        execute_run(queued.pk)

    queued.refresh_from_db()
    assert queued.status == "succeeded", queued.error_summary
    assert StockInfo.objects.stocks().count() == 9
