"""A queued price sync fans out into chunk runs that a real two-worker django-q2 cluster runs.

The cluster runs in its own processes on this test's database, against the fake Eastmoney.
The fake's histories end 2024-03-29 while the cluster uses the wall clock: every bar lies in
the past, so that changes nothing.
"""

import pytest

from etfs.models import DailyBar, SyncKind, SyncStatus
from etfs.sync.lists import sync_etf_lists
from etfs.tasks import enqueue_sync
from tests.qcluster import wait_until

pytestmark = [pytest.mark.qcluster, pytest.mark.django_db(transaction=True)]

FUNDS = 8
CHUNK_ETFS = 3  # 8 funds -> chunks of 3, 3 and 2
TIMEOUT_SECONDS = 90


def test_a_queued_price_sync_fans_out_into_chunks_run_by_two_workers(
    start_fake_eastmoney, start_qcluster, settings
):
    settings.ETFSYNC_PRICE_CHUNK_ETFS = CHUNK_ETFS
    server = start_fake_eastmoney(FUNDS)
    sync_etf_lists()
    served = sum(len(fund.bars) for fund in server.funds.values())
    cluster = start_qcluster(server, ETFSYNC_PRICE_CHUNK_ETFS=str(CHUNK_ETFS), Q_WORKERS="2")

    parent, created = enqueue_sync(SyncKind.ETF_PRICES, "admin", {"start_year": 2024})
    assert created

    def final():
        parent.refresh_from_db()
        return parent.is_final

    wait_until(
        final,
        lambda: (
            f"run #{parent.pk} ending (it is {parent.status}, chunks "
            f"{list(parent.chunks.values_list('id', 'status'))})"
        ),
        timeout=TIMEOUT_SECONDS,
        process=cluster,
    )

    chunks = list(parent.chunks.order_by("id"))
    assert parent.status == SyncStatus.SUCCEEDED, parent.error_summary
    assert parent.trigger == "admin"
    assert len(chunks) == 3
    assert sorted(len(chunk.parameters["codes"]) for chunk in chunks) == [2, 3, 3]
    codes = [code for chunk in chunks for code in chunk.parameters["codes"]]
    assert sorted(codes) == sorted(fund.code for fund in server.funds.values())
    assert {chunk.status for chunk in chunks} == {SyncStatus.SUCCEEDED}
    assert all(chunk.task_id for chunk in chunks)
    assert all(chunk.parameters["start_year"] == 2024 for chunk in chunks)
    assert parent.rows_created == sum(chunk.rows_created for chunk in chunks)
    assert parent.rows_created == DailyBar.objects.count() == served
    assert (parent.items_total, parent.items_done, parent.items_failed) == (FUNDS, FUNDS, 0)
    assert sum(chunk.items_done for chunk in chunks) == FUNDS
    assert parent.finished_at >= max(chunk.finished_at for chunk in chunks)
    assert len(server.paths("/api/qt/stock/kline/get")) == FUNDS
