"""POST to the API, a real qcluster runs the queued sync, GET shows the run finished."""

from __future__ import annotations

import pytest

from etfs.models import StockInfo
from tests.qcluster import log_tail, wait_until

pytestmark = [pytest.mark.qcluster, pytest.mark.django_db(transaction=True)]

WAIT_SECONDS = 60


def test_a_list_sync_queued_through_the_api_finishes_on_the_cluster(
    start_qcluster, fake_eastmoney, api
):
    cluster = start_qcluster(fake_eastmoney)
    queued = api.post("/api/sync/etf/lists", {"exchange_codes": ["XSHG"]})
    assert queued.status_code == 202
    poll = queued.json()["url"].removeprefix("http://testserver")

    def finished():
        run = api.get(poll).json()
        return None if run["status"] in ("queued", "running") else run

    run = wait_until(finished, "the run finishing", timeout=WAIT_SECONDS, process=cluster)

    assert run["status"] == "succeeded", log_tail(cluster)
    assert run["finished_at"] is not None
    assert run["counters"]["items_done"] == 1
    assert run["counters"]["rows_created"] == 3
    assert set(StockInfo.objects.etfs().values_list("exchange", flat=True)) == {"XSHG"}
