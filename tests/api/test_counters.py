"""The API's counters are the run's: a price run that could not decide its day and asked no
fund reports its funds as not done (issue 23, item 13: it said 6/6 done, 0 failed)."""

import datetime as dt

import pytest

from etfs.models import SyncStatus
from etfs.sync.prices import PriceOptions, sync_etf_prices
from tests.api.test_endpoints import run_url
from tests.fakes.eastmoney import make_funds
from tests.sync.test_calendar import LAST_SHIPPED, NEW_YEAR, at, store_bars_until

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
