"""A real django-q2 cluster (separate processes) runs a queued list sync end to end."""

import pytest
from django_q.models import Task

from etfs.models import StockInfo, SyncKind, SyncStatus
from etfs.tasks import enqueue_sync
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


def test_with_redis_url_the_queue_goes_through_redis(start_qcluster, fake_eastmoney, redis_queue):
    """REDIS_URL switches django-q2 from its ORM broker to Redis, for producer and workers."""
    import os
    import subprocess
    import sys

    from django_q.models import OrmQ

    from etfs.models import SyncRun
    from tests.qcluster import PROJECT, database_url

    on_redis = {"REDIS_URL": redis_queue.url, "ETFSYNC_TEST_QUEUE_NAME": redis_queue.name}
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "etfsync_site.settings_test",
        "TEST_DATABASE_URL": database_url(),
        **on_redis,
    }
    queued = subprocess.run(
        [sys.executable, "manage.py", "sync_etf_lists", "--queue"],
        cwd=PROJECT,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    run = SyncRun.objects.get()
    waiting = {
        key: redis_queue.client.llen(key) for key in redis_queue.client.keys(redis_queue.keys)
    }
    assert waiting == {f"django_q:{redis_queue.name}:q".encode(): 1}  # the task waits in Redis ...
    assert not OrmQ.objects.exists()  # ... and not in the database broker
    cluster = start_qcluster(fake_eastmoney, **on_redis)

    def finished():
        run.refresh_from_db()
        return run.is_final

    wait_until(finished, f"run #{run.pk} finishing", timeout=WAIT_SECONDS, process=cluster)

    assert queued.stdout.startswith(f"queued run #{run.pk}")
    assert run.status == SyncStatus.SUCCEEDED, run.error_summary
    assert StockInfo.objects.etfs().count() == 6
