"""A real django-q2 cluster (separate processes) runs a queued list sync end to end."""

import pytest
from django_q.models import Task

from etfs.models import StockInfo, SyncKind, SyncStatus
from etfs.sync.queue import enqueue_sync
from tests.qcluster import wait_until

pytestmark = [pytest.mark.qcluster, pytest.mark.django_db(transaction=True)]

WAIT_SECONDS = 60


def test_a_queued_list_sync_runs_on_the_cluster(start_qcluster, fake_eastmoney):
    cluster = start_qcluster(fake_eastmoney)
    run, created = enqueue_sync(SyncKind.ETF_LISTS, "admin", {})
    assert created

    def finished():
        run.refresh_from_db()
        return run.is_final

    wait_until(finished, f"run #{run.pk} finishing", timeout=WAIT_SECONDS, process=cluster)

    assert run.status == SyncStatus.SUCCEEDED, run.error_summary
    assert run.trigger == "admin"
    assert (run.rows_fetched, run.rows_created) == (6, 6)
    assert StockInfo.objects.etfs().count() == 6
    assert set(StockInfo.objects.values_list("exchange", flat=True)) == {"XSHG", "XSHE"}
    assert len(fake_eastmoney.paths("/api/qt/clist/get")) == 1
    task = wait_until(
        lambda: Task.objects.filter(id=run.task_id).first(),
        "the task result",
        timeout=WAIT_SECONDS,
        process=cluster,
    )
    assert task.success
    assert task.result == f"run #{run.pk}: succeeded"
