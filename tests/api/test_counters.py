"""The API's counters are the run's: a price run that could not decide its day and asked no
fund reports its funds as not done (issue 23, item 13: it said 6/6 done, 0 failed); a running
one reports its funds done before its first batch is written (issue 24, item 6)."""

import datetime as dt

import pytest

from etfs.models import SyncRun, SyncStatus
from etfs.sync.lists import sync_etf_lists
from etfs.sync.prices import PriceOptions, sync_etf_prices
from tests.api.test_endpoints import run_url
from tests.fakes.eastmoney import make_funds
from tests.qcluster import wait_until
from tests.sync.prices.market import bars_held, sync
from tests.sync.test_calendar import LAST_SHIPPED, NEW_YEAR, at, store_bars_until
from tests.threads import InThread

pytestmark = pytest.mark.django_db(transaction=True)


def test_items_not_attempted_are_not_done(start_fake_eastmoney, api):
    server = start_fake_eastmoney(funds=make_funds(6, dt.date(2026, 11, 2), LAST_SHIPPED))
    store_bars_until(LAST_SHIPPED)
    server.fail("500", times=None, path="clist")

    with at(NEW_YEAR, 16, 30):
        run = sync_etf_prices(PriceOptions(from_list=True))

    assert run.status == SyncStatus.FAILED
    counters = api.get(run_url(run.pk)).json()["counters"]
    assert (counters["items_total"], counters["items_done"], counters["items_failed"]) == (6, 0, 0)


def test_a_running_price_runs_counters_move_before_its_first_batch_is_written(
    start_fake_eastmoney, api, settings
):
    """Issue 24 item 6: the funds done are counted as they are fetched, not per batch."""
    server = start_fake_eastmoney(8)
    sync_etf_lists()
    settings.ETFSYNC_PRICE_BATCH_ETFS = 100
    settings.ETFSYNC_CONCURRENCY = 1
    server.latency = 0.3

    with bars_held():
        worker = InThread(sync)
        run = wait_until(
            lambda: SyncRun.objects.filter(kind="etf_prices", items_done__gt=0).first(),
            "the first funds counted done",
        )
        counters = api.get(run_url(run.pk)).json()["counters"]

    assert counters["items_total"] == 8 and counters["items_done"] > 0
    assert counters["rows_fetched"] > 0 and counters["rows_created"] == 0
    assert worker.join().items_done == 8
